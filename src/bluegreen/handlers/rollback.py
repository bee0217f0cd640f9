"""Roll back: the alias 100% on the old version, with an empty routing config; explain why."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen import lifecycle
from bluegreen.handlers._common import logger, parse_task, to_json
from bluegreen.rollback import roll_back
from bluegreen.tasks import RollbackTask


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse_task(RollbackTask, event)
    state = task.state
    outcome = roll_back(state.plan, state.error, state.progress, state.operator)
    logger.warning("rolled back" if state.plan else "rejected", extra={"error": outcome.error, "cause": outcome.cause})
    if state.plan is not None:
        for problem in lifecycle.ended(state.plan, task.execution_id, outcome, state.progress):
            logger.warning(problem)
    return to_json(outcome)
