"""Checks of a new version that a person would otherwise make by hand: before it takes traffic (by its
version qualifier, and through each stage alias moved to it), and after its promotion (through the alias).

A check invokes the version (or alias) with a payload and compares the response with what is expected,
or invokes the team's own test Lambda (a hook), which answers passed or failed. Each is bounded by the
input's ``timeoutSeconds``: a timeout, a function error or an answer of the wrong shape is a failure with a
reason a person can act on. Payloads and responses never reach the logs, the history or the events (they
may hold customer data): only each check's verdict, reason and duration do.
"""

from __future__ import annotations

import contextvars
import json
import logging
import threading
import time
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from bluegreen.aws import history, notify
from bluegreen.aws.aliases import whole, write_owned
from bluegreen.aws.clients import invoke_client
from bluegreen.aws.pacing import paced_iteration
from bluegreen.contracts.state import CheckResult, Plan, TargetPlan, Verification
from bluegreen.contracts.tasks import VerifyTask
from bluegreen.contracts.verify_request import Check, InvokeCheck
from bluegreen.errors import AliasDrift, VerificationFailed

logger = logging.getLogger(__name__)

Phase = Literal["before-traffic", "stage", "after-promotion"]


def _within(seconds: float, call: Any) -> Any:
    """``call()``'s result, or TimeoutError after ``seconds``: the call goes on in its thread, unwaited for
    (a hook that hangs must not hold the release up)."""
    outcome: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["value"] = call()
        except BaseException as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            done.set()

    # In the caller's context (its configuration, in the embedded run its function), as if on its thread.
    threading.Thread(target=contextvars.copy_context().run, args=(run,), name="verification-check",
                     daemon=True).start()
    if not done.wait(seconds):
        raise TimeoutError(f"no answer within {seconds:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _invoke(function: str, qualifier: str | None, payload: Any, timeout: float) -> tuple[str | None, Any]:
    """(function error type or None, the decoded response) of a synchronous invocation."""
    kwargs: dict[str, Any] = {"FunctionName": function, "Payload": json.dumps(payload).encode()}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    response = _within(timeout, lambda: invoke_client().invoke(**kwargs))
    body = response["Payload"].read()
    try:
        decoded = json.loads(body) if body else None
    except ValueError:
        decoded = None
    error = response.get("FunctionError")
    if error:
        kind = decoded.get("errorType") if isinstance(decoded, dict) else None
        return str(kind or error), decoded
    return None, decoded


def missing_from(expected: Any, actual: Any, path: str = "response") -> str | None:
    """Where ``actual`` does not contain ``expected`` (a JSON subset), said with the expected value only."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return f"{path} is not an object"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}.{key} is missing"
            found = missing_from(value, actual[key], f"{path}.{key}")
            if found:
                return found
        return None
    return None if expected == actual else f"{path} is not {json.dumps(expected)}"


def _hook_payload(plan: Plan, target: TargetPlan, phase: Phase, stage: str | None,
                  execution_arn: str) -> dict[str, Any]:
    return {"functionName": target.function_name, "alias": target.alias, "oldVersion": target.old_version,
            "newVersion": target.new_version, "phase": phase, "stage": stage, "executionArn": execution_arn,
            "strategy": plan.strategy}


def _invoke_check(check: InvokeCheck, function: str, qualifier: str, timeout: float) -> tuple[str, str]:
    error, response = _invoke(function, qualifier, check.invoke.payload, timeout)
    if error:
        return "failed", f"the function failed ({error})"
    problem = missing_from(check.expect, response) if check.expect is not None else None
    return ("failed", f"{problem} as expected") if problem else ("passed", "as expected")


def _hook_check(hook: str, payload: dict[str, Any], timeout: float) -> tuple[str, str]:
    error, answer = _invoke(hook, None, payload, timeout)
    if error:
        return "failed", f"the hook {hook} failed ({error})"
    if not (isinstance(answer, dict) and answer.get("status") in ("passed", "failed")
            and isinstance(answer.get("reason", ""), str)):
        return "failed", (f"the hook {hook} answered in the wrong shape: expected "
                          '{"status": "passed" | "failed", "reason": "..."}')
    return str(answer["status"]), str(answer.get("reason") or "")[:500] or f"the hook {hook} said so"


def run_check(check: Check, *, qualifier: str, payload_for_hook: dict[str, Any], function: str,
              timeout: float) -> tuple[str, str, str]:
    """(verdict, reason, what was invoked) of one check."""
    invoked = qualifier if isinstance(check, InvokeCheck) else check.hook
    try:
        if isinstance(check, InvokeCheck):
            verdict, reason = _invoke_check(check, function, qualifier, timeout)
        else:
            verdict, reason = _hook_check(check.hook, payload_for_hook, timeout)
    except TimeoutError as exc:
        verdict, reason = "failed", str(exc)
    except (BotoCoreError, ClientError) as exc:
        # After the SDK's own retries of throttling and service errors.
        code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else type(exc).__name__
        verdict, reason = "failed", f"could not invoke it: {code}"
    return verdict, reason, invoked


def run_checks(plan: Plan, target: TargetPlan, checks: list[Check], *, phase: Phase, qualifier: str,
               execution_arn: str, stage: str | None = None) -> list[CheckResult]:
    timeout = float(target.verify.timeout_seconds if target.verify else 60)
    results = []
    for index, check in enumerate(checks):
        started = time.monotonic()
        verdict, reason, invoked = run_check(
            check, qualifier=qualifier, function=target.function_name, timeout=timeout,
            payload_for_hook=_hook_payload(plan, target, phase, stage, execution_arn))
        results.append(CheckResult(phase=phase, stage=stage, index=index,
                                   kind="invoke" if isinstance(check, InvokeCheck) else "hook", target=invoked,
                                   verdict=verdict, reason=reason, seconds=round(time.monotonic() - started, 3)))
        if verdict == "failed":
            break  # the release rolls back: no need for the rest
    return results


def _describe(result: CheckResult) -> str:
    where = f"stage {result.stage}" if result.stage else result.phase
    return f"{where} check {result.index + 1} ({result.kind} {result.target}): {result.reason}"


def report(plan: Plan, target: TargetPlan, results: list[CheckResult], execution_arn: str) -> Verification:
    """Recorded in the history, announced on the bus and logged (verdicts and reasons only); raises
    VerificationFailed naming the failed check."""
    verification = Verification(function_name=target.function_name,
                                passed=all(r.verdict == "passed" for r in results), results=results)
    try:
        history.record_verification(plan, target, execution_arn, results)
    except (BotoCoreError, ClientError) as exc:
        logger.warning(f"verification not recorded in the history: {exc}")
    detail = {"functionName": target.function_name, "alias": target.alias, "newVersion": target.new_version,
              "results": [r.model_dump(mode="json", by_alias=True) for r in results]}
    problem = notify.emit("Verification Passed" if verification.passed else "Verification Failed", execution_arn,
                          detail)
    if problem:
        logger.warning(problem)
    logger.info("verified", extra={"functionName": target.function_name, "passed": verification.passed,
                                   "checks": [{"verdict": r.verdict, "reason": r.reason, "seconds": r.seconds}
                                              for r in results]})
    if not verification.passed:
        failed = next(r for r in results if r.verdict == "failed")
        raise VerificationFailed(f"{target.function_name}: {_describe(failed)}")
    return verification


def before_traffic(task: VerifyTask) -> Verification:
    """The new version's checks by its qualifier, then each stage: its alias 100% on the new version (only
    from a state this release can have left) and its checks through it."""
    plan, target = task.plan, task.target
    if not target.verifies_first:
        return Verification(function_name=target.function_name, passed=True, results=[])
    results = run_checks(plan, target, target.verify.before_traffic if target.verify else [], phase="before-traffic",
                         qualifier=target.new_version, execution_arn=task.execution_arn)
    for stage in target.stages:
        if results and results[-1].verdict == "failed":
            break
        with paced_iteration(len(plan.targets)):
            write_owned(target.function_name, stage.alias, task.execution_arn, whole(target.new_version),
                        start=whole(stage.old_version))
        results += run_checks(plan, target, stage.checks, phase="stage", stage=stage.alias, qualifier=stage.alias,
                              execution_arn=task.execution_arn)
    return report(plan, target, results, task.execution_arn)


def after_promotion(plan: Plan, target: TargetPlan, execution_arn: str) -> Verification | None:
    """The checks through the promoted alias, if the input has any."""
    checks = target.verify.after_promotion if target.verify else []
    if not checks:
        return None
    results = run_checks(plan, target, checks, phase="after-promotion", qualifier=target.alias,
                         execution_arn=execution_arn)
    return report(plan, target, results, execution_arn)


def restore_stages(target: TargetPlan, execution_arn: str) -> list[str]:
    """Each stage alias back on the version it had before the release (unless someone else moved it)."""
    done = []
    for stage in target.stages:
        try:
            write_owned(target.function_name, stage.alias, execution_arn, whole(stage.old_version),
                        start=whole(stage.old_version))
            done.append(f"{stage.alias} back on version {stage.old_version}")
        except AliasDrift as drift:  # someone else's change stands; the other stages still go back
            done.append(f"{stage.alias} left alone ({drift})")
    return done
