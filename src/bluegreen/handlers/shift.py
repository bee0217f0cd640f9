"""Put the alias at one traffic step: old version, with ``weight`` percent on the new version."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen import locks, notify
from bluegreen.aliases import shift_traffic
from bluegreen.handlers._common import logger, parse_task, retryable, to_json
from bluegreen.models import Progress
from bluegreen.tasks import ShiftTask


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse_task(ShiftTask, event)
    plan = task.plan
    if plan.old_version is None:
        raise ValueError("a traffic step needs an old version to share the alias with")
    locks.ensure_held(plan.function_name, plan.alias, task.execution_id)
    shift_traffic(plan.function_name, plan.alias, plan.old_version, plan.new_version, task.weight,
                  previous_weight=task.progress.weight)
    progress = Progress(
        step_index=task.step_index,
        weight=task.weight,
        next_step_index=task.step_index + 1,
        is_last_step=task.step_index + 1 >= plan.step_count,
        shifted_at=datetime.now(UTC).isoformat(),
        # First check after one interval (or the whole bake, if shorter).
        wait_seconds=min(plan.check_interval_seconds, plan.bake_seconds),
        checks=task.progress.checks,
    )
    logger.info("traffic shifted", extra={"weight": task.weight, "step": task.step_index})
    problem = notify.emit("Traffic Shifted", task.execution_id, {
        "functionName": plan.function_name, "alias": plan.alias, "oldVersion": plan.old_version,
        "newVersion": plan.new_version, "weight": task.weight, "stepIndex": task.step_index,
        "stepCount": plan.step_count})
    if problem:
        logger.warning(problem)
    return to_json(progress)
