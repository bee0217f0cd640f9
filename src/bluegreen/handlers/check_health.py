"""Check the new version's health in the current step; the decision drives a Choice state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen import controls, notify
from bluegreen.handlers._common import logger, parse_task, retryable, to_json
from bluegreen.health import check_health
from bluegreen.tasks import CheckHealthTask


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse_task(CheckHealthTask, event)
    progress = check_health(task.plan, task.progress, promote_now=controls.pending_promotion(task.execution_id))
    report = progress.health
    # The verdict, its reason and every rule's numbers, tagged with the execution id.
    logger.info("health checked", extra={"decision": progress.decision, "waitSeconds": progress.wait_seconds,
                                         "report": to_json(report) if report else None})
    if progress.checks:
        problem = notify.emit("Health Checked", task.execution_id, {
            "functionName": task.plan.function_name, "alias": task.plan.alias, "newVersion": task.plan.new_version,
            **to_json(progress.checks[-1]), "reason": report.reason if report else None})
        if problem:
            logger.warning(problem)
    return to_json(progress)
