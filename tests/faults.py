"""Fault injection for the local run (test code): make an AWS call of one Lambda fail, or the Lambda
task itself fail, on its first uses.

The injector wraps the two places every handler call passes through in the embedded run: botocore's
``_make_api_call`` (for calls the handlers make) and the handler router (for the invocation itself).
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError, ReadTimeoutError

from bluegreen.local.stand_ins import invoker

Kind = Literal["throttle", "service-error", "conflict", "timeout", "crash", "lambda-unknown", "hang"]
KINDS: tuple[Kind, ...] = ("throttle", "service-error", "conflict", "timeout", "crash", "lambda-unknown")
# "hang": the call takes this long, then goes through (a task outlasting its TimeoutSeconds; not in the matrix).
HANG_SECONDS = 3.0
ALWAYS = 10_000


def _client_error(code: str, status: int, operation: str) -> ClientError:
    response: Any = {"Error": {"Code": code, "Message": f"injected {code}"},
                     "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, operation)


def exception_for(kind: Kind, operation: str) -> Exception:
    if kind == "throttle":
        return _client_error("TooManyRequestsException", 429, operation)
    if kind == "service-error":
        return _client_error("ServiceException", 500, operation)
    if kind == "conflict":
        return _client_error("ResourceConflictException", 409, operation)
    if kind == "timeout":
        return ReadTimeoutError(endpoint_url=f"https://{operation}.amazonaws.com")
    return RuntimeError(f"injected crash in our own code at {operation}")


@dataclass
class Fault:
    function: str  # the template's logical id, e.g. "ShiftTrafficFunction"
    operation: str  # the AWS operation inside the handler; ignored for lambda-unknown
    kind: Kind
    failures: int = 1  # how many uses fail, from the first (ALWAYS: every use)


@dataclass
class FaultInjector:
    stack_name: str = "bluegreen"
    faults: list[Fault] = field(default_factory=list)
    seen: Counter[tuple[str, str]] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _matching(self, function: str, operation: str, task_level: bool) -> Fault | None:
        for fault in self.faults:
            if f"{self.stack_name}-{fault.function}" != function:
                continue
            if task_level != (fault.kind == "lambda-unknown"):
                continue
            if not task_level and fault.operation != operation:
                continue
            with self._lock:
                self.seen[(function, operation)] += 1
                if self.seen[(function, operation)] <= fault.failures:
                    self.injected[fault.kind] += 1
                    return fault
        return None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_call = BaseClient._make_api_call  # type: ignore[attr-defined]
        real_invoke = invoker.HandlerRouter.invoke

        def call(client: BaseClient, operation: str, params: Any) -> Any:
            function = invoker.current_function()
            if function is not None:
                fault = self._matching(function, operation, task_level=False)
                if fault is not None and fault.kind == "hang":
                    time.sleep(HANG_SECONDS)
                elif fault is not None:
                    raise exception_for(fault.kind, operation)
            return real_call(client, operation, params)

        def invoke(router: invoker.HandlerRouter, function_name: str, qualifier: str | None, body: Any,
                   response_headers: dict[str, str]) -> bytes:
            name = invoker.short_name(function_name)
            fn = router.functions.get(name)
            if fn is not None and self._matching(fn.name, "Invoke", task_level=True) is not None:
                # What Step Functions reports when the function dies without an error of its own.
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": "Lambda.Unknown",
                                   "errorMessage": "The function ended without a result (injected)"}).encode()
            return real_invoke(router, function_name, qualifier, body, response_headers)

        monkeypatch.setattr(BaseClient, "_make_api_call", call)
        monkeypatch.setattr(invoker.HandlerRouter, "invoke", invoke)


@dataclass
class Interleave:
    """Runs ``action`` right before one function's ``occurrence``-th call of ``operation``, after everything
    that call's task did before it (its reads): someone else's write landing in between, or, with
    ``hold``, a pause there until the test lets the call go on."""

    function: str  # the template's logical id
    operation: str
    action: Callable[[], None] = lambda: None
    occurrence: int = 1
    hold: bool = False
    stack_name: str = "bluegreen"
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    _seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _is_the_call(self, operation: str) -> bool:
        if operation != self.operation or invoker.current_function() != f"{self.stack_name}-{self.function}":
            return False
        with self._lock:
            self._seen += 1
            return self._seen == self.occurrence

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_call = BaseClient._make_api_call  # type: ignore[attr-defined]

        def call(client: BaseClient, operation: str, params: Any) -> Any:
            if not self._is_the_call(operation):
                return real_call(client, operation, params)
            # Someone else, on a thread of their own (not this handler's).
            someone = threading.Thread(target=self.action)
            someone.start()
            someone.join()
            self.reached.set()
            if self.hold:
                self.release.wait(60)
            try:
                return real_call(client, operation, params)
            finally:
                self.done.set()

        monkeypatch.setattr(BaseClient, "_make_api_call", call)
