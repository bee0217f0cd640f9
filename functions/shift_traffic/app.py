"""Shift traffic: one function's alias to the step's weight on the new version (an iteration of the
"Shift traffic to the new version" Map)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen.contracts.tasks import ShiftTask
from bluegreen.jobs.handler_support import logger, parse_task, retryable, to_json
from bluegreen.jobs.shifting import shift


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return to_json(shift(parse_task(ShiftTask, event)))
