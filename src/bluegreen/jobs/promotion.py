"""Promote one function: its alias 100% on the new version, with an empty routing config (created if missing)."""

from __future__ import annotations

import logging
import time

from bluegreen.aws import provisioned
from bluegreen.aws.aliases import step, whole, write_owned
from bluegreen.aws.pacing import paced_iteration
from bluegreen.contracts.payload import compact
from bluegreen.contracts.state import Outcome
from bluegreen.contracts.tasks import PromoteTask
from bluegreen.jobs import lifecycle
from bluegreen.jobs.verification import after_promotion

# A child of the handlers' logger (Powertools, service "bluegreen"): same JSON lines, same correlation id.
logger = logging.getLogger(__name__)


# What the promote task keeps of its time after handing provisioned concurrency over (to answer).
TASK_MARGIN_SECONDS = 15


def promote(task: PromoteTask, remaining_ms: int | None = None) -> Outcome:
    """``remaining_ms``: the task's time left when it started (Lambda's context), which bounds the hand-over of
    provisioned concurrency after the checks (they may take most of it)."""
    started = time.monotonic()
    plan, target = task.plan, task.target
    with paced_iteration(len(plan.targets)):
        if target.old_version is None:
            # A new alias: created at the new version.
            write_owned(target.function_name, target.alias, task.execution_arn, whole(target.new_version),
                        start=None, create=True)
        else:
            # Only from the step this release left (or already promoted, on a retry).
            last = task.progress.weight if task.progress else 0
            write_owned(target.function_name, target.alias, task.execution_arn, whole(target.new_version),
                        start=whole(target.old_version),
                        from_states=[step(target.old_version, target.new_version, last)])
    logger.info("promoted", extra={"functionName": target.function_name, "version": target.new_version})
    # The checks through the promoted alias; a failure raises VerificationFailed: every function rolls back.
    verified = after_promotion(plan, target, task.execution_arn)
    # Only once the checks passed: a failed one rolls back, and the old version keeps what it had.
    handover = float(provisioned.HANDOVER_SECONDS)
    if remaining_ms is not None:
        handover = max(0.0, min(handover, remaining_ms / 1000 - (time.monotonic() - started) - TASK_MARGIN_SECONDS))
    provisioned.after_promotion(target, provisioned.given(target), handover, task.execution_arn)
    early = task.progress.promoted_early if task.progress else None
    health = task.progress.health if task.progress else None
    cause = f"promoted early by {early.by or 'an operator'}: {early.reason}" if early else None
    if cause is None and health is not None and health.ruled_out:
        # What the last check's evidence excluded: the reason it was safe to promote.
        cause = f"the evidence at {health.weight}% ruled out {health.ruled_out}"
    outcome = Outcome(outcome="promoted", function_name=target.function_name, alias=target.alias,
                      function_version=target.new_version, verification=verified, cause=cause)
    for problem in lifecycle.ended(plan, target, task.execution_arn, outcome, task.progress):
        logger.warning(problem)
    return compact(outcome)  # the history and the events have it whole
