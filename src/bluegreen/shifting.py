"""One traffic step of one function: its alias on the old version with ``weight`` percent on the new one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bluegreen import notify
from bluegreen.aliases import step, whole, write_owned
from bluegreen.pacing import paced_iteration
from bluegreen.state import Progress
from bluegreen.tasks import ShiftTask

# A child of the handlers' logger (Powertools, service "bluegreen"): same JSON lines, same correlation id.
logger = logging.getLogger(__name__)


def advanced(task: ShiftTask, shifted_at: datetime) -> Progress:
    """The release's progress once the step is in place."""
    plan = task.plan
    return Progress(
        step_index=task.step_index,
        weight=task.weight,
        next_step_index=task.step_index + 1,
        is_last_step=task.step_index + 1 >= plan.step_count,
        shifted_at=shifted_at.isoformat(),
        # First check after one interval (or the whole bake, if shorter).
        wait_seconds=min(plan.check_interval_seconds, plan.bake_seconds),
        checks=task.progress.checks,
    )


def shift(task: ShiftTask) -> Progress:
    """The step for ``task.target``; a new alias has no old version to share traffic with (it is created
    when the release promotes), so its step changes nothing."""
    plan, target = task.plan, task.target
    if target.action != "shift" or target.old_version is None:
        return advanced(task, datetime.now(UTC))
    old, new = target.old_version, target.new_version
    with paced_iteration(len(plan.targets)):
        # Only on from the step this release last wrote (or this very step, written by an earlier attempt).
        write_owned(target.function_name, target.alias, task.execution_arn, step(old, new, task.weight),
                    start=whole(old), from_states=[step(old, new, task.progress.weight)])
    progress = advanced(task, datetime.now(UTC))
    logger.info("traffic shifted", extra={"weight": task.weight, "step": task.step_index,
                                          "functionName": target.function_name})
    problem = notify.emit("Traffic Shifted", task.execution_arn, {
        "functionName": target.function_name, "alias": target.alias, "oldVersion": target.old_version,
        "newVersion": target.new_version, "weight": task.weight, "stepIndex": task.step_index,
        "stepCount": plan.step_count})
    if problem:
        logger.warning(problem)
    return progress
