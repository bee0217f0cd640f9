"""What every release does when it starts and when it ends, besides moving aliases: the locks, the
history records and the events.

At the end, this bookkeeping is best effort: the alias is already where it must be, so a
failure here is reported (and a lock left behind is taken over by the next release, its
execution having ended) but never turns a promotion into a rollback.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from bluegreen.aws import history, locks, notify
from bluegreen.contracts.state import Outcome, Plan, Progress, TargetPlan


def _release_facts(target: TargetPlan) -> dict[str, object]:
    return {"functionName": target.function_name, "alias": target.alias, "oldVersion": target.old_version,
            "newVersion": target.new_version}


def started(plan: Plan, execution_arn: str) -> list[str]:
    """History records and events of a release's functions, whose locks it holds; returns the problems met."""
    problems = []
    for target in plan.targets:
        try:
            history.record_start(plan, target, execution_arn)
        except (BotoCoreError, ClientError) as exc:
            problems.append(f"history not recorded: {exc}")
    return problems + notify.emit_many("Deployment Started", execution_arn, [
        {**_release_facts(target), "strategy": plan.strategy, "weights": plan.weights,
         "trigger": plan.trigger.record(), **({"traffic": plan.traffic_note} if plan.traffic_note else {})}
        for target in plan.targets])


def ended(plan: Plan, target: TargetPlan, execution_arn: str, outcome: Outcome,
          progress: Progress | None) -> list[str]:
    """Lease ended (the alias free for the next release), history completed, Promoted or Rolled Back announced;
    returns the problems met."""
    problems = []
    status = outcome.outcome.upper()  # PROMOTED, ROLLED_BACK, LEFT_ALONE
    checks = progress.checks if progress else []
    for alias in target.moved_aliases:
        try:
            locks.end(target.function_name, alias, execution_arn, status)
        except (BotoCoreError, ClientError) as exc:
            problems.append(f"lock of {alias} not released: {exc}")
    try:
        history.record_end(plan, target, execution_arn, status, checks, error=outcome.error, cause=outcome.cause)
    except (BotoCoreError, ClientError) as exc:
        problems.append(f"history not completed: {exc}")
    kind = {"promoted": "Promoted", "left_alone": "Stopped Without Rollback"}.get(outcome.outcome, "Rolled Back")
    if kind == "Promoted" and plan.trigger.source == "rollback":
        kind = "Alias Rolled Back"  # `bluegreen rollback` done: who and why are in the trigger
    problem = notify.emit(kind, execution_arn, {
        **_release_facts(target), "functionVersion": outcome.function_version, "error": outcome.error,
        "cause": outcome.cause, "checks": len(checks), "trigger": plan.trigger.record()})
    return problems + ([problem] if problem else [])
