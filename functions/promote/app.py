"""Promote: one function's alias 100% on the new version (an iteration of the "Promote the new version" Map)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen.contracts.tasks import PromoteTask
from bluegreen.jobs.handler_support import logger, parse_task, retryable, to_json
from bluegreen.jobs.promotion import promote


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return to_json(promote(parse_task(PromoteTask, event), context.get_remaining_time_in_millis()))
