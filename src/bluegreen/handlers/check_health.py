"""Check the new version's health in the current step; the decision drives a Choice state.

A multi-function release is checked here in one task too: every function against its own old
version, the worst deciding for all.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from bluegreen import controls, notify
from bluegreen.handlers._common import logger, parse_task, retryable, to_json
from bluegreen.health import check_group, check_health
from bluegreen.models import CheckSummary, HealthReport, Plan
from bluegreen.tasks import CheckHealthTask, GroupCheckHealthTask, step_progress


@logger.inject_lambda_context
@retryable
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "targets" in (event.get("plan") or {}):
        group = parse_task(GroupCheckHealthTask, event)
        promote_now = controls.pending_promotion(group.execution_id)
        progress, judged = check_group(group.plan, step_progress(group.progress), promote_now=promote_now)
        details = [_checked(plan, report, progress.checks[-1]) for plan, report in judged]
    else:
        task = parse_task(CheckHealthTask, event)
        progress = check_health(task.plan, task.progress, promote_now=controls.pending_promotion(task.execution_id))
        report = progress.health
        details = [_checked(task.plan, report, progress.checks[-1])] if report and progress.checks else []
    # The verdict, its reason and every rule's numbers, tagged with the execution id.
    logger.info("health checked", extra={"decision": progress.decision, "waitSeconds": progress.wait_seconds,
                                         "report": to_json(progress.health) if progress.health else None})
    for problem in notify.emit_many("Health Checked", event["executionId"], details):
        logger.warning(problem)
    return to_json(progress)


def _checked(plan: Plan, report: HealthReport, decided: CheckSummary) -> dict[str, Any]:
    """One function's "Health Checked" event: its own numbers, and what the release decided."""
    own = decided.model_copy(update={
        "verdict": report.verdict, "invocations": report.canary.invocations, "errors": report.canary.errors,
        "baseline_invocations": report.baseline.invocations if report.baseline else None,
        "baseline_errors": report.baseline.errors if report.baseline else None,
        "p99_ms": report.canary.p99_ms, "baseline_p99_ms": report.baseline.p99_ms if report.baseline else None})
    return {**to_json(own), "functionName": plan.function_name, "alias": plan.alias,
            "newVersion": plan.new_version, "reason": report.reason}
