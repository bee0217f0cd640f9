"""Check health: every function's new version against its old one; the decision drives a Choice state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen.contracts.tasks import CheckTask
from bluegreen.jobs import health
from bluegreen.jobs.handler_support import logger, parse_task, retryable, to_json


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return to_json(health.run(parse_task(CheckTask, event)))
