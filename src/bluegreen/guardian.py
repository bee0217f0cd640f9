"""The abort guardian: whatever ended an execution, the alias ends whole.

A Step Functions execution stopped from the console, timed out, or failed past its own rollback
runs no Catch at all. An EventBridge rule on the state machine's "Execution Status Change" (ABORTED,
TIMED_OUT, FAILED) brings the execution here: from its history, what it was releasing and how far
it got; from the alias, where it is now. An alias still split, or on the new version without a
promotion, goes back 100% to the old version; the lock is released and the history completed.
Idempotent: a second run, or a run after a clean rollback, changes nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from bluegreen import history, locks, notify
from bluegreen.aliases import AliasState, point_alias, read_alias
from bluegreen.clients import stepfunctions_client
from bluegreen.models import Plan

PUBLISH_STATE = "Validate and publish the new version"
PROMOTE_STATE = "Promote the new version"


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
    promoted: bool


def read_course(execution_arn: str) -> Course:
    """The plan its publish task returned, and whether its promote task succeeded."""
    plan: Plan | None = None
    promoted = False
    state = ""
    kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
    while True:
        page = stepfunctions_client().get_execution_history(**kwargs)
        for event in page["events"]:
            if "stateEnteredEventDetails" in event:
                state = event["stateEnteredEventDetails"]["name"]
            succeeded = event.get("lambdaFunctionSucceededEventDetails")
            if succeeded and state == PUBLISH_STATE and "output" in succeeded:
                plan = Plan.model_validate(json.loads(succeeded["output"])["plan"])
            if succeeded and state == PROMOTE_STATE:
                promoted = True
        if not page.get("nextToken"):
            return Course(plan, promoted)
        kwargs["nextToken"] = page["nextToken"]


def _ours(alias: AliasState, plan: Plan) -> bool:
    """A state this release can have left: the old version, alone or with weight on the new one; or the new one."""
    versions = {alias.function_version, *alias.additional_weights}
    return versions <= {plan.old_version, plan.new_version}


def _target_from_input(execution_arn: str) -> tuple[str, str] | None:
    """Function and alias from the execution input, when it ended before its plan was made."""
    raw = stepfunctions_client().describe_execution(executionArn=execution_arn).get("input") or "{}"
    try:
        request = json.loads(raw)
        name, alias = str(request["functionName"]), str(request["alias"])
    except (ValueError, KeyError, TypeError):
        return None
    return name.rsplit(":", 1)[-1] if ":function:" in name else name, alias


def guard(execution_arn: str, status: str) -> Guarded:
    course = read_course(execution_arn)
    plan = course.plan
    target = (plan.function_name, plan.alias) if plan else _target_from_input(execution_arn)
    if target is None:
        return Guarded(execution_arn, "nothing to do", "the input named no function and alias")
    # Let go of the alias first: a task of this execution still in flight then refuses to write it.
    locks.release(*target, execution_arn)
    outcome = _restore(execution_arn, plan, course.promoted)
    error = "Execution" + status.title().replace("_", "")  # ExecutionAborted, ExecutionTimedOut, ExecutionFailed
    closed = history.close_running(*target, execution_arn, status, error=error,
                                   cause=f"the execution ended {status}; guardian: {outcome.detail}")
    if outcome.action == "restored" and plan is not None:
        notify.emit("Rolled Back", execution_arn, {
            "functionName": plan.function_name, "alias": plan.alias, "oldVersion": plan.old_version,
            "newVersion": plan.new_version, "functionVersion": plan.old_version, "error": error,
            "cause": outcome.detail, "historyCompleted": closed})
    return outcome


def _restore(execution_arn: str, plan: Plan | None, promoted: bool) -> Guarded:
    if plan is None or plan.action == "noop":
        return Guarded(execution_arn, "nothing to do", "the release had changed nothing yet")
    if promoted:
        return Guarded(execution_arn, "nothing to do", "the release was promoted", plan.new_version)
    alias = read_alias(plan.function_name, plan.alias)
    if alias is None or plan.old_version is None or not _ours(alias, plan):
        state = alias.describe() if alias else "gone"
        return Guarded(execution_arn, "left alone", f"the alias is {state}: not a state this release left",
                       alias.function_version if alias else None)
    if alias.function_version == plan.old_version and not alias.is_split:
        return Guarded(execution_arn, "nothing to do", f"already 100% on version {plan.old_version}",
                       plan.old_version)
    point_alias(plan.function_name, plan.alias, plan.old_version)
    return Guarded(execution_arn, "restored", f"was {alias.describe()}: now 100% on version {plan.old_version}",
                   plan.old_version)
