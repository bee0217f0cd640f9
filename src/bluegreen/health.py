"""The one home of the health verdict: is the new version healthy at its current share of traffic?

Evidence is the new version's own ``AWS/Lambda`` metrics on this alias (dimensions FunctionName,
Resource=``function:alias``, ExecutedVersion) since the traffic step began, plus the named
CloudWatch alarms. No evidence is never "healthy".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bluegreen.clients import cloudwatch_client
from bluegreen.models import HealthConfig, HealthReport, Plan, Progress

METRIC_PERIOD = 60  # AWS/Lambda metrics are standard resolution: one-minute granularity.


@dataclass(frozen=True)
class Evidence:
    invocations: int
    errors: int
    alarms_in_alarm: tuple[str, ...] = ()

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.invocations if self.invocations else None


def judge(evidence: Evidence, config: HealthConfig, version: str) -> tuple[str, str]:
    """(verdict, reason) from the evidence: pure, so it is tested without AWS."""
    if evidence.alarms_in_alarm:
        return "fail", f"alarm(s) in ALARM: {', '.join(evidence.alarms_in_alarm)}"
    if evidence.invocations < config.min_invocations:
        return "inconclusive", (
            f"not enough evidence: version {version} served {evidence.invocations} invocation(s) in the window, "
            f"at least {config.min_invocations} needed"
        )
    rate = evidence.errors / evidence.invocations
    if rate > config.max_error_rate:
        return "fail", (
            f"error rate {rate:.2%} ({evidence.errors}/{evidence.invocations}) of version {version} "
            f"is above the maximum {config.max_error_rate:.2%}"
        )
    return "pass", (
        f"error rate {rate:.2%} ({evidence.errors}/{evidence.invocations}) of version {version} "
        f"is within the maximum {config.max_error_rate:.2%}"
    )


def _metric_query(query_id: str, metric: str, plan: Plan, period: int) -> dict[str, object]:
    return {
        "Id": query_id,
        "MetricStat": {
            "Metric": {
                "Namespace": "AWS/Lambda",
                "MetricName": metric,
                "Dimensions": [
                    {"Name": "FunctionName", "Value": plan.function_name},
                    {"Name": "Resource", "Value": f"{plan.function_name}:{plan.alias}"},
                    {"Name": "ExecutedVersion", "Value": plan.new_version},
                ],
            },
            "Period": period,
            "Stat": "Sum",
        },
        "ReturnData": True,
    }


def gather_evidence(plan: Plan, start: datetime, end: datetime) -> Evidence:
    """The new version's invocations and errors in [start, end), and the alarms now in ALARM."""
    period = max(METRIC_PERIOD, math.ceil((end - start).total_seconds() / METRIC_PERIOD) * METRIC_PERIOD)
    resp = cloudwatch_client().get_metric_data(
        MetricDataQueries=[
            _metric_query("invocations", "Invocations", plan, period),  # type: ignore[list-item]
            _metric_query("errors", "Errors", plan, period),  # type: ignore[list-item]
        ],
        StartTime=start,
        EndTime=end,
    )
    sums = {r["Id"]: int(sum(r.get("Values", []))) for r in resp["MetricDataResults"]}
    in_alarm: tuple[str, ...] = ()
    if plan.health.alarms:
        alarms = cloudwatch_client().describe_alarms(AlarmNames=plan.health.alarms)["MetricAlarms"]
        in_alarm = tuple(a["AlarmName"] for a in alarms if a["StateValue"] == "ALARM")
    return Evidence(sums.get("invocations", 0), sums.get("errors", 0), in_alarm)


def check_health(plan: Plan, progress: Progress, now: datetime | None = None) -> HealthReport:
    """The verdict for the traffic step in ``progress``, over the window since it began."""
    end = (now or datetime.now(UTC)) + timedelta(seconds=1)
    if progress.shifted_at:
        start = datetime.fromisoformat(progress.shifted_at)
    else:
        start = end - timedelta(seconds=plan.bake_seconds)
    evidence = gather_evidence(plan, start, end)
    verdict, reason = judge(evidence, plan.health, plan.new_version)
    return HealthReport(
        verdict=verdict,
        reason=reason,
        weight=progress.weight,
        step_index=progress.step_index,
        invocations=evidence.invocations,
        errors=evidence.errors,
        error_rate=evidence.error_rate,
        alarms_in_alarm=list(evidence.alarms_in_alarm),
        window_start=start.isoformat(),
        window_end=end.isoformat(),
    )
