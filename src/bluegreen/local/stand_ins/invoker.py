"""Route moto's Lambda ``invoke`` to the real Python handlers, in process, and count their AWS calls.

moto's no-docker Lambda backend (``LambdaSimpleBackend``) echoes the payload back; the local run
replaces its ``invoke`` with one that loads the function's ``Handler`` from its ``CodeUri`` (as the
Lambda runtime would; see ``lambda_code``) and calls it with the function's environment variables, turning an
exception into the runtime's error payload so Step Functions sees ``errorType`` as the error name.

moto does not enforce IAM: a handler's call that its function's role would be refused in AWS succeeds
there. So each call a handler makes is held to its function's policy statements in template.yaml (the action
and the resources it acts on, ``LocalFunction.granted``; see ``iam``), and refused with AccessDeniedException
otherwise, as AWS would.

Many handler calls run at once on moto's threads, so nothing here changes process-wide state around a
call: the function's environment reaches it as this thread's context (``bluegreen.aws.settings``), and
what it logs goes to its own list (``logs``), not to a shared terminal.
"""

from __future__ import annotations

import json
import random
import threading
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError
from moto.awslambda.utils import get_backend as lambda_backend
from moto.awslambda_simple.models import LambdaSimpleBackend

from bluegreen.aws import settings
from bluegreen.local.stand_ins.accounts import ACCOUNT, REGION, split_function_name
from bluegreen.local.stand_ins.iam import Grant, allowed, iam_action, request_resources
from bluegreen.local.stand_ins.lambda_code import load_handler, load_module

# The functions whose handlers this context is running, innermost last: a context variable, so that a thread
# a handler starts in a copy of its context (a verification check's) is still that function's.
_inside_handler: ContextVar[tuple[str, ...]] = ContextVar("inside_handler", default=())


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

    remaining_ms: int = 30_000  # the function's Timeout, as a call starts

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class LocalFunction:
    """A function served by its handler here; its environment is each invoked version's, as configured."""

    name: str
    arn: str
    code_dir: Path  # the template's CodeUri
    handler: str  # module.attribute, as in the template
    root: Path  # the project the template is in
    # Its role's Allow statements, resolved (actions and resources); None: not held to any (a team's own
    # functions).
    granted: tuple[Grant, ...] | None = None
    # Serves its calls instead of the handler from the source tree: the built one (``artifact``).
    remote: Callable[[Any, Any], Any] | None = None

    def load(self) -> Callable[[Any, Any], Any]:
        if self.remote is not None:
            return self.remote
        return load_handler(self.code_dir, self.handler, self.root)

    def module(self) -> ModuleType:
        """The handler's module, as the local run calls it (what a test patches)."""
        return load_module(self.code_dir, self.handler.rpartition(".")[0], self.root)


def short_name(name_or_arn: str) -> str:
    """``arn:...:function:NAME[:QUALIFIER]`` or ``NAME`` -> ``NAME``."""
    return split_function_name(name_or_arn)[0]


def invoked_version(function_name: str, qualifier: str | None, rng: random.Random | None = None) -> str:
    """The version an invocation runs: the qualifier's version, or for an alias one of its versions by
    their weights (as Lambda routes a weighted alias), $LATEST without a qualifier."""
    if not qualifier or qualifier == "$LATEST" or qualifier.isdigit():
        return qualifier or "$LATEST"
    alias: Any = lambda_backend(ACCOUNT, REGION).get_alias(qualifier, function_name)
    extra: dict[str, float] = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
    weights = {str(alias.function_version): 1.0 - sum(extra.values()), **extra}
    return str((rng or random).choices(list(weights), weights=list(weights.values()))[0])


def current_function() -> str | None:
    """The function whose handler this context is running (the innermost, when one invokes another)."""
    stack = _inside_handler.get()
    return stack[-1] if stack else None


@dataclass
class HandlerRouter:
    """Which local handler serves which function, and the AWS calls the handlers made."""

    functions: dict[str, LocalFunction] = field(default_factory=dict)
    # The AWS calls the handlers made, by operation (Lambda's data plane, Invoke, aside).
    calls: Counter[str] = field(default_factory=Counter)
    # The IAM actions each function's calls needed ("lambda:GetAlias"), to hold against its policy.
    actions: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    invocations: Counter[str] = field(default_factory=Counter)
    # What each function logged, line by line (its CloudWatch log stream, in AWS).
    logs: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    _counting: threading.Lock = field(default_factory=threading.Lock)
    _idle: threading.Condition = field(default_factory=threading.Condition)
    _in_flight: int = 0

    def count_call(self, function: str, action: str, operation: str) -> None:
        with self._counting:
            if action != "lambda:InvokeFunction":  # the data plane (a verification check) is not counted
                self.calls[operation] += 1
            self.actions[function].add(action)

    def authorize(self, function: str, action: str, operation: str, params: dict[str, Any]) -> None:
        """AccessDeniedException, as AWS answers, when the calling function's role does not allow ``action`` on
        every resource the call acts on."""
        fn = self.functions.get(function)
        if fn is None or fn.granted is None:
            return
        refused = allowed(fn.granted, action, request_resources(action, params))
        if refused is None:
            return
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": (
            f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{fn.name}-role/{fn.name} is not authorized to perform: "
            f"{action} on resource: {refused} because no identity-based policy allows the {action} action")}},
            operation)

    def register(self, fn: LocalFunction) -> None:
        self.functions[fn.name] = fn
        self.functions[fn.arn] = fn

    def invoke(self, function_name: str, qualifier: str | None, body: bytes | str | None,
               response_headers: dict[str, str]) -> bytes:
        fn = self.functions[short_name(function_name)]
        event = json.loads(body or b"{}")
        version = invoked_version(fn.name, qualifier or split_function_name(function_name)[1])
        configured = lambda_backend(ACCOUNT, REGION).get_function(fn.name, version)
        context = FakeContext(function_name=fn.name, invoked_function_arn=fn.arn, function_version=version,
                              remaining_ms=int(configured.timeout) * 1000)
        environment = dict(configured.environment_vars)
        with self._counting:
            self.invocations[fn.name] += 1
        with self._idle:
            self._in_flight += 1
        inside = _inside_handler.set((*_inside_handler.get(), fn.name))
        try:
            with settings.provided(environment):
                result = fn.load()(event, context)
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_tb(exc.__traceback__),
            }).encode()
        finally:
            _inside_handler.reset(inside)
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()
        return json.dumps(result).encode()

    def log(self, line: str) -> None:
        """A line a handler wrote, kept under its function (dropped when no handler runs on this thread)."""
        function = current_function()
        if function is not None:
            with self._counting:
                self.logs[function].append(line)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no handler call is running; whether that happened within ``timeout`` s."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)


@contextmanager
def route_invocations(router: HandlerRouter) -> Iterator[HandlerRouter]:
    """Patch moto's simple Lambda backend and botocore so that handlers run and their calls are counted."""
    original_invoke = LambdaSimpleBackend.invoke
    original_call = BaseClient._make_api_call  # type: ignore[attr-defined]

    def invoke(  # noqa: PLR0917 - moto's signature
        self: LambdaSimpleBackend, function_name: str, qualifier: str | None, body: Any,
               headers: Any, response_headers: dict[str, str]) -> bytes | str | None:
        if short_name(function_name) in router.functions:
            return router.invoke(function_name, qualifier, body, response_headers)
        return original_invoke(self, function_name, qualifier, body, headers, response_headers)

    def counted_call(self: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
        if (function := current_function()) is not None:
            action = iam_action(self.meta.service_model.signing_name, operation_name)
            router.count_call(function, action, operation_name)
            router.authorize(function, action, operation_name, api_params)
        return original_call(self, operation_name, api_params)

    LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign]
    BaseClient._make_api_call = counted_call  # type: ignore[attr-defined]
    try:
        yield router
    finally:
        LambdaSimpleBackend.invoke = original_invoke  # type: ignore[method-assign]
        BaseClient._make_api_call = original_call  # type: ignore[attr-defined]
