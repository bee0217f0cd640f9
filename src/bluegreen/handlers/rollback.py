"""Roll back: the alias 100% on the old version, with an empty routing config; explain why.

Two callers: the state machine's rollback states (a task input, or one function of a multi-function
release's rollback Map), and the abort guardian's
EventBridge rule on the state machine's "Execution Status Change" (an execution that ended
ABORTED, TIMED_OUT or FAILED, whose own rollback may never have run).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen import lifecycle
from bluegreen.guardian import guard
from bluegreen.handlers._common import logger, parse_task, retryable, to_json
from bluegreen.pacing import MAP_MAX_CONCURRENCY, paced
from bluegreen.rollback import every_function, roll_back
from bluegreen.tasks import ExecutionStatusChange, RollbackTask, TargetRollbackTask

STATUS_CHANGE = "Step Functions Execution Status Change"


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if event.get("detail-type") == STATUS_CHANGE:
        change = parse_task(ExecutionStatusChange, event)
        logger.set_correlation_id(change.detail.execution_arn)
        guarded = guard(change.detail.execution_arn, change.detail.status)
        logger.warning("guardian", extra=asdict(guarded))
        return asdict(guarded)
    if "target" in event:
        # One function's iteration of a multi-function release's rollback (a Map state).
        item = parse_task(TargetRollbackTask, event)
        with paced(MAP_MAX_CONCURRENCY):
            return roll_back_one(item.single(), release=every_function(item.state.plan))
    return roll_back_one(parse_task(RollbackTask, event))


def roll_back_one(task: RollbackTask, release: str | None = None) -> dict[str, Any]:
    state = task.state
    outcome = roll_back(state.plan, state.error, state.progress, state.operator, release=release)
    logger.warning("rolled back" if state.plan else "rejected", extra={"error": outcome.error, "cause": outcome.cause})
    if state.plan is not None:
        for problem in lifecycle.ended(state.plan, task.execution_id, outcome, state.progress):
            logger.warning(problem)
    return to_json(outcome)
