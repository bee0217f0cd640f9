"""Put the alias at one traffic step: old version, with ``weight`` percent on the new version.

Also one function's iteration of a multi-function release's shift (a Map state): paced, so that the
Map's iterations together stay under the Lambda control-plane rate.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen import locks, notify
from bluegreen.aliases import shift_traffic
from bluegreen.handlers._common import logger, parse_task, retryable, to_json
from bluegreen.models import Progress
from bluegreen.pacing import MAP_MAX_CONCURRENCY, paced
from bluegreen.tasks import ShiftTask, TargetShiftTask


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "target" not in event:
        return to_json(shift(parse_task(ShiftTask, event)))
    item = parse_task(TargetShiftTask, event)
    if item.target.action != "shift":
        # A new alias has no old version to share traffic with: it is created when the release promotes.
        return to_json(advanced(item.single(), item.group.step_count, datetime.now(UTC)))
    with paced(MAP_MAX_CONCURRENCY):
        return to_json(shift(item.single(), item.group.step_count))


def advanced(task: ShiftTask, step_count: int, shifted_at: datetime) -> Progress:
    """The release's progress once the step (of ``step_count``) is in place."""
    plan = task.plan
    return Progress(
        step_index=task.step_index,
        weight=task.weight,
        next_step_index=task.step_index + 1,
        is_last_step=task.step_index + 1 >= step_count,
        shifted_at=shifted_at.isoformat(),
        # First check after one interval (or the whole bake, if shorter).
        wait_seconds=min(plan.check_interval_seconds, plan.bake_seconds),
        checks=task.progress.checks,
    )


def shift(task: ShiftTask, step_count: int | None = None) -> Progress:
    plan = task.plan
    if plan.old_version is None:
        raise ValueError("a traffic step needs an old version to share the alias with")
    locks.ensure_held(plan.function_name, plan.alias, task.execution_id)
    shift_traffic(plan.function_name, plan.alias, plan.old_version, plan.new_version, task.weight,
                  previous_weight=task.progress.weight)
    progress = advanced(task, plan.step_count if step_count is None else step_count, datetime.now(UTC))
    logger.info("traffic shifted", extra={"weight": task.weight, "step": task.step_index})
    problem = notify.emit("Traffic Shifted", task.execution_id, {
        "functionName": plan.function_name, "alias": plan.alias, "oldVersion": plan.old_version,
        "newVersion": plan.new_version, "weight": task.weight, "stepIndex": task.step_index,
        "stepCount": plan.step_count})
    if problem:
        logger.warning(problem)
    return progress
