"""The abort guardian: whatever ended an execution, the aliases it moved end whole, and only those.

A Step Functions execution stopped from the console, timed out, or failed past its own rollback runs no
Catch at all. An EventBridge rule on the state machine's "Execution Status Change" (ABORTED, TIMED_OUT,
FAILED) brings the execution here: from its history, what it was releasing; from each alias's lease
(``locks``), whether this release still holds it and what it wrote.

For each alias the release moved, keyed by function and alias: a lease another release holds now, or one
this release ended itself (rolled back, left alone), is left as it is; so is every alias when every function
was promoted. Otherwise the lease is ended first (a fence: a task of the execution still in flight then finds
it gone, before its write or after, and undoes its own), then the alias goes back to where the release found
it, if it is in a state the release wrote; a person's change stands. Idempotent, and safe to run late or
twice (EventBridge retries for a day, and the dead-letter queue invites a replay).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from bluegreen.aws import execution_history, history, locks, notify, provisioned
from bluegreen.aws.aliases import describe, restore, whole
from bluegreen.aws.clients import stepfunctions_client
from bluegreen.aws.locks import PROMOTED, Lease, Routing
from bluegreen.contracts import state_names
from bluegreen.contracts.state import Plan, TargetPlan


@dataclass(frozen=True)
class Guarded:
    execution_arn: str
    action: str  # "restored", "nothing to do", "left alone"
    detail: str
    function_version: str | None = None
    # The release had not ended this alias itself: the guardian ended its lease (and so its history record).
    fenced: bool = False
    # The alias's lease was still this release's (it ended or promoted it itself, or the guardian fenced it): what
    # the release put on the alias's function is the guardian's to settle.
    own: bool = False


def read_plan(execution_arn: str) -> Plan | None:
    """The plan the execution's publish task returned, if it got that far."""
    state = ""
    for event in execution_history.events(stepfunctions_client(), execution_arn):
        if "stateEnteredEventDetails" in event:
            state = event["stateEnteredEventDetails"]["name"]
        succeeded = event.get("lambdaFunctionSucceededEventDetails")
        if state == state_names.PUBLISH and succeeded and "output" in succeeded:
            return Plan.model_validate(json.loads(succeeded["output"])["plan"])
    return None


def _targets_from_input(execution_arn: str) -> list[tuple[str, str]]:
    """Functions and aliases from the execution input, when it ended before its plan was made."""
    raw = stepfunctions_client().describe_execution(executionArn=execution_arn).get("input") or "{}"
    try:
        request = json.loads(raw)
        named = request.get("targets", [request])
        found = [(str(t["functionName"]), str(t["alias"])) for t in named]
    except (ValueError, KeyError, TypeError, AttributeError):
        return []
    return [(name.rsplit(":", 1)[-1] if ":function:" in name else name, alias) for name, alias in found]


def guard(execution_arn: str, status: str) -> Guarded:
    plan = read_plan(execution_arn)
    if plan is None:
        # Publish takes the leases before it writes nothing but versions: let go of any it took.
        for function, alias in _targets_from_input(execution_arn):
            locks.end(function, alias, execution_arn, status, only_open=True)
            lease = locks.read(function, alias)
            if lease is not None and lease.holder == execution_arn and lease.provisioned:
                # Put before the plan was made (after the fence, the publish task removes its own put).
                provisioned.remove(function, lease.provisioned.on)
        return Guarded(execution_arn, "nothing to do", "the release had changed nothing yet")
    if not plan.targets:
        return Guarded(execution_arn, "nothing to do", "the release had nothing to change")
    # All or nothing: only when every function was promoted does every alias stay on its new version.
    mains = [locks.read(t.function_name, t.alias) for t in plan.targets]
    promoted = all(lease is not None and lease.holder == execution_arn and lease.ended == PROMOTED
                   for lease in mains)
    guarded = [_guard_target(execution_arn, status, plan, target, promoted) for target in plan.targets]
    if len(guarded) == 1:
        return guarded[0]
    return Guarded(execution_arn, _overall(guarded),
                   "; ".join(f"{t.function_name}: {g.detail}" for t, g in zip(plan.targets, guarded, strict=True)))


def _overall(guarded: list[Guarded]) -> str:
    actions = {g.action for g in guarded}
    return next((a for a in ("restored", "left alone") if a in actions), "nothing to do")


def _moved(target: TargetPlan) -> list[tuple[str, Routing | None]]:
    """Each alias of ``target`` the release moves, with where it found it (None: an alias it creates)."""
    main = whole(target.old_version) if target.old_version is not None else None
    return [(target.alias, main), *((stage.alias, whole(stage.old_version)) for stage in target.stages)]


def _guard_target(execution_arn: str, status: str, plan: Plan, target: TargetPlan, promoted: bool) -> Guarded:
    outcomes = [_guard_alias(execution_arn, status, target.function_name, alias, start, promoted=promoted)
                for alias, start in _moved(target)]
    main = outcomes[0]
    _settle_provisioned(target, main, promoted)
    if len(outcomes) > 1:
        main = Guarded(execution_arn, _overall(outcomes), "; ".join(
            f"{alias}: {g.detail}" for (alias, _), g in zip(_moved(target), outcomes, strict=True)),
            main.function_version, main.fenced)
    error = "Execution" + status.title().replace("_", "")  # ExecutionAborted, ExecutionTimedOut, ExecutionFailed
    closed = main.fenced and history.close(plan, target, execution_arn, status, error=error,
                                           cause=f"the execution ended {status}; guardian: {main.detail}")
    if main.action == "restored":
        notify.emit("Rolled Back", execution_arn, {
            "functionName": target.function_name, "alias": target.alias, "oldVersion": target.old_version,
            "newVersion": target.new_version, "functionVersion": target.old_version, "error": error,
            "cause": main.detail, "historyCompleted": closed})
    return main


# What the guardian waits, at most, for an alias's own provisioned concurrency to reach the new version.
_HANDOVER_SECONDS = 20


def _settle_provisioned(target: TargetPlan, main: Guarded, promoted: bool) -> None:
    """The provisioned concurrency the release gave the new version, settled as its promotion or rollback would have
    (idempotent): only for an alias this release still held or ended itself."""
    if not target.provisioned or not (main.fenced or main.own):
        return
    move = provisioned.given(target)
    if promoted:
        provisioned.after_promotion(target, move, _HANDOVER_SECONDS)
    else:
        provisioned.settle_unpromoted(target, move)


def _guard_alias(execution_arn: str, status: str, function: str, alias: str, start: Routing | None, *,
                 promoted: bool) -> Guarded:
    before = locks.read(function, alias)
    if before is None or before.holder != execution_arn:
        if before is None:
            return Guarded(execution_arn, "nothing to do", "no release ever held it")
        now = "holds it now" if before.ended is None else "released it since"
        return Guarded(execution_arn, "nothing to do", f"not this release's any more (release {before.holder} {now})")
    if before.ended not in (None, PROMOTED):
        return Guarded(execution_arn, "nothing to do", f"the release ended it itself ({before.ended})",
                       before.state[0] if before.state else None, own=True)
    if promoted:
        return Guarded(execution_arn, "nothing to do", "the release was promoted",
                       before.state[0] if before.state else None, own=True)
    # The fence: from here on no task of this execution may write the alias (one in flight undoes its write).
    locks.end(function, alias, execution_arn, status, only_open=True)
    lease = locks.read(function, alias) or before
    return _restore(execution_arn, function, alias, lease, start)


def _restore(execution_arn: str, function: str, alias: str, lease: Lease, start: Routing | None) -> Guarded:
    if start is None:
        return Guarded(execution_arn, "left alone", "the alias was new: there is no old version to return to",
                       fenced=True)
    action, current = restore(function, alias, lease, start)
    was = current.describe() if current else "missing"
    detail = {"restored": f"was {was}: now {describe(start)}",
              "nothing to do": f"already {describe(start)}",
              "left alone": f"{was}, not a state this release wrote: someone changed it; left as it is"}[action]
    version = start[0] if action != "left alone" else (current.function_version if current else None)
    return Guarded(execution_arn, action, detail, version, fenced=True)
