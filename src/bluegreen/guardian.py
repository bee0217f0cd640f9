"""The abort guardian: whatever ended an execution, the alias ends whole.

A Step Functions execution stopped from the console, timed out, or failed past its own rollback
(a multi-function release whose rollback of one function failed) runs no Catch at all. An
EventBridge rule on the state machine's "Execution Status Change" (ABORTED, TIMED_OUT, FAILED)
brings the execution here: from its history, what it was releasing and how far it got; from each
alias, where it is now. Unless every function was promoted, an alias still split, or on the new
version, goes back 100% to the old version; the lock is released and the history completed.
Idempotent: a second run, or a run after a clean rollback, changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from bluegreen import history, locks, notify, states
from bluegreen.aliases import on_versions, point_alias, read_alias
from bluegreen.clients import stepfunctions_client
from bluegreen.errors import AliasDrift
from bluegreen.state import Plan, TargetPlan
from bluegreen.verification import restore_stages


@dataclass(frozen=True)
class Guarded:
    execution_arn: str
    action: str  # "restored", "nothing to do", "left alone"
    detail: str
    function_version: str | None = None


@dataclass(frozen=True)
class Course:
    """What an execution's history says it did."""

    plan: Plan | None
    # The functions whose promotion succeeded.
    promoted: frozenset[str] = frozenset()


def read_course(execution_arn: str) -> Course:
    """The plan its publish task returned, and which functions its promote tasks promoted."""
    plan: Plan | None = None
    promoted: set[str] = set()
    state = ""
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = stepfunctions_client().get_execution_history(**kwargs)
        for event in page["events"]:
            if "stateEnteredEventDetails" in event:
                state = event["stateEnteredEventDetails"]["name"]
            succeeded = event.get("lambdaFunctionSucceededEventDetails")
            if not succeeded or "output" not in succeeded:
                continue
            output = json.loads(succeeded["output"])
            if state == states.PUBLISH:
                plan = Plan.model_validate(output["plan"])
            if state == states.PROMOTE and output.get("outcome") == "promoted":
                promoted.add(output["functionName"])
        if not page.get("nextToken"):
            return Course(plan, frozenset(promoted))
        kwargs["nextToken"] = page["nextToken"]


def _targets_from_input(execution_arn: str) -> list[tuple[str, str]]:
    """Functions and aliases from the execution input, when it ended before its plan was made."""
    raw = stepfunctions_client().describe_execution(executionArn=execution_arn).get("input") or "{}"
    try:
        request = json.loads(raw)
        named = request.get("targets", [request])
        found = [(str(t["functionName"]), str(t["alias"])) for t in named]
    except (ValueError, KeyError, TypeError):
        return []
    return [(name.rsplit(":", 1)[-1] if ":function:" in name else name, alias) for name, alias in found]


def guard(execution_arn: str, status: str) -> Guarded:
    course = read_course(execution_arn)
    if course.plan is not None:
        plan = course.plan
        if not plan.targets:
            return Guarded(execution_arn, "nothing to do", "the release had nothing to change")
        # All or nothing: unless every function was promoted, every one goes back.
        promoted = {t.function_name for t in plan.targets} <= course.promoted
        guarded = [_guard_one(execution_arn, status, (t.function_name, t.alias), t, promoted) for t in plan.targets]
        if len(guarded) == 1:
            return guarded[0]
        return Guarded(execution_arn, _overall(guarded),
                       "; ".join(f"{t.function_name}: {g.detail}" for t, g in zip(plan.targets, guarded, strict=True)))
    targets = _targets_from_input(execution_arn)
    if not targets:
        return Guarded(execution_arn, "nothing to do", "the input named no function and alias")
    guarded = [_guard_one(execution_arn, status, target, None, False) for target in targets]
    return Guarded(execution_arn, _overall(guarded), guarded[0].detail)


def _overall(guarded: list[Guarded]) -> str:
    actions = {g.action for g in guarded}
    return next((a for a in ("restored", "left alone") if a in actions), "nothing to do")


def _guard_one(execution_arn: str, status: str, names: tuple[str, str], target: TargetPlan | None,
               promoted: bool) -> Guarded:
    # Let go of the aliases first: a task of this execution still in flight then refuses to write them.
    function, _ = names
    for alias in target.moved_aliases if target else [names[1]]:
        locks.release(function, alias, execution_arn)
    outcome = _restore(execution_arn, target, promoted)
    if target is not None and not promoted:
        stages = restore_stages(target)
        if stages:
            outcome = replace(outcome, detail=f"{outcome.detail}; {'; '.join(stages)}")
    error = "Execution" + status.title().replace("_", "")  # ExecutionAborted, ExecutionTimedOut, ExecutionFailed
    closed = history.close_running(*names, execution_arn, status, error=error,
                                   cause=f"the execution ended {status}; guardian: {outcome.detail}")
    if outcome.action == "restored" and target is not None:
        notify.emit("Rolled Back", execution_arn, {
            "functionName": target.function_name, "alias": target.alias, "oldVersion": target.old_version,
            "newVersion": target.new_version, "functionVersion": target.old_version, "error": error,
            "cause": outcome.detail, "historyCompleted": closed})
    return outcome


def _restore(execution_arn: str, target: TargetPlan | None, promoted: bool) -> Guarded:
    if target is None:
        return Guarded(execution_arn, "nothing to do", "the release had changed nothing yet")
    if promoted:
        return Guarded(execution_arn, "nothing to do", "the release was promoted", target.new_version)
    alias = read_alias(target.function_name, target.alias)
    if target.old_version is None:
        return Guarded(execution_arn, "left alone", "the alias was new: there is no old version to return to",
                       alias.function_version if alias else None)
    ours = on_versions({target.old_version, target.new_version})
    try:
        ours(target.function_name, target.alias, alias)
        if alias is not None and alias.function_version == target.old_version and not alias.is_split:
            return Guarded(execution_arn, "nothing to do", f"already 100% on version {target.old_version}",
                           target.old_version)
        point_alias(target.function_name, target.alias, target.old_version, check=ours, known=alias)
    except AliasDrift as drift:
        # Someone else's alias state (now, or written while this ran): theirs stands.
        return Guarded(execution_arn, "left alone", str(drift), alias.function_version if alias else None)
    assert alias is not None  # ``ours`` refuses a missing alias
    return Guarded(execution_arn, "restored", f"was {alias.describe()}: now 100% on version {target.old_version}",
                   target.old_version)
