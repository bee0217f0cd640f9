"""Judge the new version's health at the current traffic step; the verdict drives a Choice state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen.handlers._common import logger, parse_task, to_json
from bluegreen.health import check_health
from bluegreen.tasks import CheckHealthTask


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse_task(CheckHealthTask, event)
    report = check_health(task.plan, task.progress)
    logger.info("health checked", extra={"report": to_json(report)})
    return to_json(report)
