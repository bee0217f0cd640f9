"""One traffic step of one function: its alias on the old version with ``weight`` percent on the new one."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from bluegreen.aws import notify
from bluegreen.aws.aliases import step, whole, write_owned
from bluegreen.aws.pacing import paced_iteration
from bluegreen.contracts.state import Shifted
from bluegreen.contracts.tasks import ShiftTask

# A child of the handlers' logger (Powertools, service "bluegreen"): same JSON lines, same correlation id.
logger = logging.getLogger(__name__)


def shift(task: ShiftTask) -> Shifted:
    """The step for ``task.target``; a new alias has no old version to share traffic with (it is created
    when the release promotes), so its step changes nothing."""
    target = task.target
    done = Shifted(shifted_at=datetime.now(UTC).isoformat(), step_index=task.step_index, weight=task.weight,
                   function_name=target.function_name)
    if target.action != "shift" or target.old_version is None:
        return done
    old, new = target.old_version, target.new_version
    with paced_iteration(task.functions):
        # Only on from the step this release last wrote (or this very step, written by an earlier attempt).
        write_owned(target.function_name, target.alias, task.execution_arn, step(old, new, task.weight),
                    start=whole(old), from_states=[step(old, new, task.previous_weight)])
    done = done.model_copy(update={"shifted_at": datetime.now(UTC).isoformat()})
    logger.info("traffic shifted", extra={"weight": task.weight, "step": task.step_index,
                                          "functionName": target.function_name})
    problem = notify.emit("Traffic Shifted", task.execution_arn, {
        "functionName": target.function_name, "alias": target.alias, "oldVersion": target.old_version,
        "newVersion": target.new_version, "weight": task.weight, "stepIndex": task.step_index,
        "stepCount": task.step_count})
    if problem:
        logger.warning(problem)
    return done
