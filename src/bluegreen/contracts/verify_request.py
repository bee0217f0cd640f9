"""The input's verification: checks of the new version before it takes traffic, through its stage aliases, and
after it is promoted (``verify``, ``stages``)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, Discriminator, Field, Tag

from bluegreen.contracts.json_model import JsonModel
from bluegreen.contracts.names import valid_alias_name, valid_function_name

MAX_CHECKS = 20
MAX_STAGES = 5
MAX_CHECK_TIMEOUT_SECONDS = 900


class Invocation(JsonModel):
    # Any JSON value, as the function receives it.
    payload: Any = Field(default_factory=dict)


class InvokeCheck(JsonModel):
    """Invoke the version (or the stage alias) with ``payload``; it passes without a function error and, with
    ``expect``, when the response contains ``expect`` (a JSON subset: {"statusCode": 200})."""

    invoke: Invocation
    expect: dict[str, Any] | None = None


class HookCheck(JsonModel):
    """Invoke the team's own test Lambda with the release's facts; it answers {"status": "passed" | "failed",
    "reason": "..."}. Only functions in the stack's VerificationHooks parameter."""

    hook: Annotated[str, AfterValidator(valid_function_name)]


def _check_kind(value: object) -> str | None:
    if isinstance(value, InvokeCheck) or (isinstance(value, dict) and "invoke" in value):
        return "invoke-check"
    if isinstance(value, HookCheck) or (isinstance(value, dict) and "hook" in value):
        return "hook-check"
    return None


Check = Annotated[
    Annotated[InvokeCheck, Tag("invoke-check")] | Annotated[HookCheck, Tag("hook-check")],
    Discriminator(_check_kind, custom_error_type="check",
                  custom_error_message='a check is {"invoke": {"payload": ...}, "expect": {...}} '
                                       'or {"hook": "FUNCTION"}'),
]
Checks = Annotated[list[Check], Field(max_length=MAX_CHECKS)]


class Verify(JsonModel):
    """Checks of the new version by its qualifier before the first traffic step (no caller sees it yet), and
    through the alias after the promotion (a failure puts the alias back on the old version)."""

    before_traffic: Checks = Field(default_factory=list)
    after_promotion: Checks = Field(default_factory=list)
    # Each check's bound: a timeout, a function error or an answer of the wrong shape is a failure.
    timeout_seconds: int = Field(default=60, ge=1, le=MAX_CHECK_TIMEOUT_SECONDS)


class Stage(JsonModel):
    """An alias moved 100% to the new version, and checked through it, before the main alias takes traffic."""

    alias: Annotated[str, AfterValidator(valid_alias_name)]
    verify: Checks = Field(default_factory=list)


Stages = Annotated[list[Stage], Field(max_length=MAX_STAGES)]
