"""Route moto's Lambda ``invoke`` to the real Python handlers, in process, and count their AWS calls.

moto's no-docker Lambda backend (``LambdaSimpleBackend``) echoes the payload back; the local run
replaces its ``invoke`` with one that imports the function's ``Handler`` (as the Lambda runtime
would, from the shared CodeUri) and calls it with the function's environment variables, turning an
exception into the runtime's error payload so Step Functions sees ``errorType`` as the error name.
"""

from __future__ import annotations

import importlib
import json
import os
import threading
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from moto.awslambda_simple.models import LambdaSimpleBackend

# Handlers read os.environ, shared by every thread: see ``environment``.
_ENV_CHANGED = threading.Condition()
_ENV_HELD: dict[str, tuple[str, int, str | None]] = {}  # key -> (value set, holders, value before)
_inside_handler = threading.local()


@dataclass
class FakeContext:
    """The attributes of the Lambda context object that Powertools and our handlers read."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = ""

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@dataclass
class LocalFunction:
    name: str
    arn: str
    handler: str  # module.attribute, as in the template
    environment: dict[str, str]


def short_name(name_or_arn: str) -> str:
    """``arn:...:function:NAME[:QUALIFIER]`` or ``NAME`` -> ``NAME``."""
    return name_or_arn.rsplit(":function:", maxsplit=1)[-1].split(":", maxsplit=1)[0]


def load_handler(path: str) -> Callable[[Any, Any], Any]:
    module_name, _, attr = path.rpartition(".")
    handler: Callable[[Any, Any], Any] = getattr(importlib.import_module(module_name), attr)
    return handler


@contextmanager
def patched_environ(variables: dict[str, str]) -> Iterator[None]:
    """``variables`` set in os.environ for the duration, then put back as they were."""
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _compatible(variables: dict[str, str]) -> bool:
    return all(k not in _ENV_HELD or _ENV_HELD[k][0] == v for k, v in variables.items())


@contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """``variables`` in os.environ while the block runs, shared with every thread that wants the same
    values (the orchestrator's handlers, a Map state's iterations running at once); a thread that
    wants another value of one of those keys (a traffic tick of another version) waits its turn."""
    with _ENV_CHANGED:
        _ENV_CHANGED.wait_for(lambda: _compatible(variables))
        for key, value in variables.items():
            _, holders, before = _ENV_HELD.get(key, (value, 0, os.environ.get(key)))
            _ENV_HELD[key] = (value, holders + 1, before)
        os.environ.update(variables)
    try:
        yield
    finally:
        with _ENV_CHANGED:
            for key in variables:
                value, holders, before = _ENV_HELD.pop(key)
                if holders > 1:
                    _ENV_HELD[key] = (value, holders - 1, before)
                elif before is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = before
            _ENV_CHANGED.notify_all()


def current_function() -> str | None:
    """The function whose handler this thread is running (the innermost, when one invokes another)."""
    stack: list[str] = getattr(_inside_handler, "functions", [])
    return stack[-1] if stack else None


@dataclass
class HandlerRouter:
    """Which local handler serves which function, and the AWS calls the handlers made."""

    functions: dict[str, LocalFunction] = field(default_factory=dict)
    env_overrides: dict[str, str] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    invocations: Counter[str] = field(default_factory=Counter)
    _counting: threading.Lock = field(default_factory=threading.Lock)

    def count_call(self, operation: str) -> None:
        with self._counting:
            self.calls[operation] += 1

    def register(self, fn: LocalFunction) -> None:
        self.functions[fn.name] = fn
        self.functions[fn.arn] = fn

    def invoke(self, function_name: str, body: bytes | str | None, response_headers: dict[str, str]) -> bytes:
        fn = self.functions[short_name(function_name)]
        event = json.loads(body or b"{}")
        context = FakeContext(function_name=fn.name, invoked_function_arn=fn.arn)
        with self._counting:
            self.invocations[fn.name] += 1
        # The stack's functions share one environment, so their invocations can run at once.
        with environment({**fn.environment, **self.env_overrides}):
            functions = _inside_handler.__dict__.setdefault("functions", [])
            functions.append(fn.name)
            try:
                result = load_handler(fn.handler)(event, context)
            except Exception as exc:
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({
                    "errorType": type(exc).__name__,
                    "errorMessage": str(exc),
                    "stackTrace": traceback.format_tb(exc.__traceback__),
                }).encode()
            finally:
                functions.pop()
        return json.dumps(result).encode()


@contextmanager
def route_invocations(router: HandlerRouter) -> Iterator[HandlerRouter]:
    """Patch moto's simple Lambda backend and botocore so that handlers run and their calls are counted."""
    original_invoke = LambdaSimpleBackend.invoke
    original_call = BaseClient._make_api_call  # type: ignore[attr-defined]

    def invoke(  # noqa: PLR0917 - moto's signature
        self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any,
               headers: Any, response_headers: dict[str, str]) -> bytes | str | None:
        if short_name(function_name) in router.functions:
            return router.invoke(function_name, body, response_headers)
        return original_invoke(self, function_name, qualifier, body, headers, response_headers)

    def counted_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if current_function() is not None:
            router.count_call(operation_name)
        return original_call(self, operation_name, api_params)

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    BaseClient._make_api_call = counted_call  # type: ignore[attr-defined]
    try:
        yield router
    finally:
        LambdaSimpleBackend.invoke = original_invoke  # type: ignore[method-assign]
        BaseClient._make_api_call = original_call  # type: ignore[attr-defined]
