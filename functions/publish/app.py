"""Validate and publish: check the release against every function and alias, take their locks, publish
the new versions asked for, and plan the traffic steps."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen.aws.readiness import Deadline
from bluegreen.contracts.request import parse_request
from bluegreen.contracts.state import Progress
from bluegreen.contracts.tasks import PublishTask
from bluegreen.jobs import lifecycle
from bluegreen.jobs.handler_support import logger, own_region_and_account, parse_task, retryable, to_json
from bluegreen.jobs.release import prepare


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse_task(PublishTask, event)
    request = parse_request(task.input)
    deadline = Deadline.for_task(task.started_at, request.ready_timeout_seconds, context.get_remaining_time_in_millis())
    plan = prepare(request, *own_region_and_account(context), task.execution_arn, deadline)
    logger.info("release planned", extra={"plan": plan.for_logs()})
    for problem in lifecycle.started(plan, task.execution_arn):
        logger.warning(problem)
    return {"plan": to_json(plan), "progress": to_json(Progress())}
