"""Validate the execution input, publish the new version(s) if asked, and plan the release."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen import lifecycle
from bluegreen.handlers._common import logger, own_region_and_account, parse_task, retryable, to_json
from bluegreen.models import MultiDeploymentInput, Plan, Progress, parse_input
from bluegreen.release import prepare_group_release, prepare_release
from bluegreen.tasks import PublishTask


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    task = parse_task(PublishTask, event)
    request = parse_input(task.input)
    region, account = own_region_and_account(context)
    if isinstance(request, MultiDeploymentInput):
        group = prepare_group_release(request, region, account, task.execution_id)
        logger.info("release of several functions planned", extra={"plan": to_json(group)})
        plans: list[Plan] = [group.plan_for(target) for target in group.targets]
        planned: dict[str, Any] = to_json(group)
    else:
        plan = prepare_release(request, region, account, task.execution_id)
        logger.info("release planned", extra={"plan": to_json(plan)})
        plans = [plan] if plan.action != "noop" else []
        planned = to_json(plan)
    for problem in lifecycle.started(plans, task.execution_id):
        logger.warning(problem)
    return {"plan": planned, "progress": to_json(Progress())}
