"""Promote: one function's alias 100% on the new version (an iteration of the "Promote the new version" Map)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen.handler_support import logger, parse_task, retryable, to_json
from bluegreen.promotion import promote
from bluegreen.tasks import PromoteTask


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return to_json(promote(parse_task(PromoteTask, event)))
