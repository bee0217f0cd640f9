"""Roll back: one function's alias 100% on the old version, and why (an iteration of the "Roll back to
the old version" Map, or the explanation of a rejected input).

Also the abort guardian: the EventBridge rule on the state machine's "Execution Status Change"
(ABORTED, TIMED_OUT, FAILED) brings an execution whose own rollback may never have run.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen.contracts.tasks import ExecutionStatusChange, RollbackTask
from bluegreen.jobs import rollback
from bluegreen.jobs.guardian import guard
from bluegreen.jobs.handler_support import logger, parse_task, retryable, to_json

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
    return to_json(rollback.run(parse_task(RollbackTask, event)))
