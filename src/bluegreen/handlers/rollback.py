"""Roll back: the alias 100% on the old version, with an empty routing config; explain why."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen.handlers._common import logger, parse_task, to_json
from bluegreen.rollback import roll_back
from bluegreen.tasks import RollbackTask


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse_task(RollbackTask, event)
    outcome = roll_back(task.state.plan, task.state.error, task.state.progress, task.state.operator)
    logger.warning("rolled back", extra={"error": outcome.error, "cause": outcome.cause})
    return to_json(outcome)
