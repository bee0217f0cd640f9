"""Verify: one function's new version checked before it takes traffic, by its version and through each
stage alias moved to it (an iteration of the "Verify the new version" Map)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen.contracts.tasks import VerifyTask
from bluegreen.jobs.handler_support import logger, parse_task, retryable, to_json
from bluegreen.jobs.verification import before_traffic


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return to_json(before_traffic(parse_task(VerifyTask, event)))
