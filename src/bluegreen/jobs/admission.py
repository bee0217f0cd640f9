"""What a release may touch, checked before anything changes: only the functions the stack manages (its
ManagedFunctions parameter), only hooks of its own account and region on its allow-list, and verification that fits
the verify task's time."""

from __future__ import annotations

import fnmatch

from bluegreen.aws import settings
from bluegreen.contracts.names import FUNCTION_ARN
from bluegreen.contracts.request import ReleaseRequest
from bluegreen.contracts.verify_request import HookCheck, Verify
from bluegreen.errors import InvalidInput


def managed_patterns() -> list[str]:
    """Names (``*`` allowed) of the functions this stack may change, from its template parameter."""
    return list(settings.current().managed_functions)


def resolve_function_name(function_name: str, own_region: str, own_account: str | None) -> str:
    """The plain function name; an ARN must be in this stack's own account and region."""
    match = FUNCTION_ARN.match(function_name)
    if not match:
        return function_name
    if match["region"] != own_region or (own_account and match["account"] != own_account):
        raise InvalidInput(
            f"functionName: {function_name} is in account {match['account']} region {match['region']}; "
            f"this orchestrator manages functions in account {own_account} region {own_region} only"
        )
    return match["name"]


def check_managed(name: str) -> None:
    patterns = managed_patterns()
    if not any(fnmatch.fnmatchcase(name, p) for p in patterns):
        raise InvalidInput(
            f"functionName: {name} is not one of the functions this stack manages "
            f"(ManagedFunctions parameter: {', '.join(patterns) or 'empty'})"
        )


# A verification task runs its checks one after another within one Lambda invocation (at most 900 s).
VERIFICATION_SECONDS_BUDGET = 840


def check_hook(hook: str, own_region: str, own_account: str | None) -> None:
    """A hook is named by its full name, or by an ARN in this stack's own account and region, and must be one
    of the stack's VerificationHooks (which IAM lets the verify and promote Lambdas invoke)."""
    allowed = settings.current().verification_hooks
    try:
        name = resolve_function_name(hook, own_region, own_account)
    except InvalidInput as refused:
        raise InvalidInput(str(refused).replace("functionName:", "hook:", 1)) from None
    if name not in allowed:
        raise InvalidInput(f"hook: function {hook} is not one of this stack's verification hooks "
                           f"(VerificationHooks parameter: {', '.join(allowed) or 'empty'})")


def check_verification(request: ReleaseRequest, own_region: str, own_account: str | None) -> None:
    """Hooks only from the stack's VerificationHooks; every function's checks within one task's time."""
    for index, target in enumerate(request.targets):
        verify = request.verify_of(target)
        stages = request.stages_of(target)
        checks = [*(verify.before_traffic if verify else []), *(c for s in stages for c in s.verify),
                  *(verify.after_promotion if verify else [])]
        for check in checks:
            if isinstance(check, HookCheck):
                check_hook(check.hook, own_region, own_account)
        timeout = verify.timeout_seconds if verify else Verify().timeout_seconds
        before = len(checks) - (len(verify.after_promotion) if verify else 0)
        for count in (before, len(verify.after_promotion) if verify else 0):
            if count * timeout > VERIFICATION_SECONDS_BUDGET:
                where = "verify" if target.verify is None else f"targets.{index}.verify"
                raise InvalidInput(
                    f"{where}.timeoutSeconds: {count} check(s) of up to {timeout} s each could take "
                    f"{count * timeout} s, more than one verification task may run ({VERIFICATION_SECONDS_BUDGET} s):"
                    " fewer checks or a shorter timeout")
