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


def guard(execution_arn: str, status: str) -> Guarded:
    course = read_course(execution_arn)
    plan = course.plan
    if plan is None or plan.action == "noop":
        return Guarded(execution_arn, "nothing to do", "the release never planned a change")
    if course.promoted:
        locks.release(plan.function_name, plan.alias, execution_arn)
        return Guarded(execution_arn, "nothing to do", "the release was promoted", plan.new_version)
    alias = read_alias(plan.function_name, plan.alias)
    held_by_other = locks.holder(plan.function_name, plan.alias) not in (None, execution_arn)
    if alias is None or plan.old_version is None or held_by_other or not _ours(alias, plan):
        locks.release(plan.function_name, plan.alias, execution_arn)
        why = ("another release holds the alias now" if held_by_other else
               f"the alias is {alias.describe() if alias else 'gone'}: not a state this release left")
        return Guarded(execution_arn, "left alone", why, alias.function_version if alias else None)
    if alias.function_version == plan.old_version and not alias.is_split:
        outcome = Guarded(execution_arn, "nothing to do", f"already 100% on version {plan.old_version}",
                          plan.old_version)
    else:
        point_alias(plan.function_name, plan.alias, plan.old_version)
        outcome = Guarded(execution_arn, "restored",
                          f"was {alias.describe()}: now 100% on version {plan.old_version}", plan.old_version)
    locks.release(plan.function_name, plan.alias, execution_arn)
    error = "Execution" + status.title().replace("_", "")  # ExecutionAborted, ExecutionTimedOut, ExecutionFailed
    history.record_end(plan, execution_arn, status, [], error=error,
                       cause=f"the execution ended {status}; guardian: {outcome.detail}", only_if_running=True)
    if outcome.action == "restored":
        notify.emit("Rolled Back", execution_arn, {
            "functionName": plan.function_name, "alias": plan.alias, "oldVersion": plan.old_version,
            "newVersion": plan.new_version, "functionVersion": plan.old_version, "error": error,
            "cause": outcome.detail})
    return outcome
