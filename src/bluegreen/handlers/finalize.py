"""Promote: the alias 100% on the new version, with an empty routing config (created if missing).

Also one function's iteration of a multi-function release's promotion (a Map state), paced.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen import lifecycle, locks
from bluegreen.aliases import expect, point_alias, weights_at
from bluegreen.handlers._common import logger, parse_task, retryable, to_json
from bluegreen.models import Outcome
from bluegreen.pacing import MAP_MAX_CONCURRENCY, paced
from bluegreen.tasks import FinalizeTask, TargetFinalizeTask


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "target" not in event:
        return to_json(promote(parse_task(FinalizeTask, event)))
    with paced(MAP_MAX_CONCURRENCY):
        return to_json(promote(parse_task(TargetFinalizeTask, event).single()))


def promote(task: FinalizeTask) -> Outcome:
    plan = task.plan
    locks.ensure_held(plan.function_name, plan.alias, task.execution_id)
    current = None
    if plan.old_version is not None:
        # Promote only from the state this release left (or already promoted, on a retry).
        last = task.progress.weight if task.progress else 0
        current = expect(plan.function_name, plan.alias, [(plan.old_version, weights_at(plan.new_version, last)),
                                                          (plan.new_version, {})])
    point_alias(plan.function_name, plan.alias, plan.new_version, create=plan.action == "create", known=current)
    logger.info("promoted", extra={"version": plan.new_version})
    early = task.progress.promoted_early if task.progress else None
    outcome = Outcome(outcome="promoted", function_name=plan.function_name, alias=plan.alias,
                      function_version=plan.new_version,
                      cause=f"promoted early by {early.by or 'an operator'}: {early.reason}" if early else None)
    for problem in lifecycle.ended(plan, task.execution_id, outcome, task.progress):
        logger.warning(problem)
    return outcome
