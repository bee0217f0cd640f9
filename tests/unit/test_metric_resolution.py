"""Metrics are read no finer than CloudWatch stores them: AWS/Lambda's (and standard-resolution ones) in whole
minutes, a high-resolution application metric in periods of the check interval, so a failure on it shows within
seconds while AWS/Lambda's minute has not settled yet."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bluegreen.aws import evidence
from bluegreen.contracts.health_config import HealthConfig
from bluegreen.contracts.state import Plan, Progress, TargetPlan
from bluegreen.decisions.cadence import cadence_of
from bluegreen.decisions.settled import metric_period
from bluegreen.decisions.strategy import StepPlan
from bluegreen.jobs import health

HIGH_RES_5XX = {"name": "http-5xx", "namespace": "OrdersApp", "failures": "Responses5xx", "total": "Requests",
                "metricDelaySeconds": 15, "storageResolution": 1}
SHIFT = datetime(2026, 11, 30, 12, 0, 7, tzinfo=UTC)  # anywhere in a minute


@pytest.mark.parametrize(("interval", "resolution", "period"), [
    (10, 60, 60), (30, 60, 60), (60, 60, 60), (300, 60, 60),  # AWS/Lambda: whole minutes, however often checked
    (10, 1, 10), (5, 1, 5), (45, 1, 30), (120, 1, 60),  # high resolution: the longest valid period in the interval
])
def test_a_metric_is_read_in_the_interval_s_period_never_finer_than_it_is_stored(interval: int, resolution: int,
                                                                                   period: int) -> None:
    assert metric_period(interval, resolution) == period


def test_the_first_check_waits_for_the_soonest_metric_at_its_own_period_and_delay() -> None:
    health_config = HealthConfig.model_validate({"checkIntervalSeconds": 10, "metrics": [HIGH_RES_5XX]})
    steps = StepPlan("canary", (10,), 300)
    # The one-second metric: an interval, its 10 s period and its 15 s delay.
    assert cadence_of(health_config, steps, 1, 180, standard_resolution=60).first_check == 10 + 10 + 15
    # AWS/Lambda alone: an interval, a whole minute and its 180 s.
    assert cadence_of(HealthConfig(check_interval_seconds=10), steps, 1, 180, 60).first_check == 10 + 60 + 180


class StoredMetrics:
    """CloudWatch as a check reads it: each datapoint kept at its metric's storage resolution (AWS/Lambda's and
    standard ones per minute), summed over each query's period."""

    def __init__(self) -> None:
        self.points: dict[tuple[str, str, str], dict[datetime, float]] = defaultdict(lambda: defaultdict(float))
        self.periods: dict[str, int] = {}

    def put(self, namespace: str, name: str, version: str, at: datetime, value: float, resolution: int) -> None:
        stored = datetime.fromtimestamp(int(at.timestamp()) // resolution * resolution, UTC)
        self.points[(namespace, name, version)][stored] += value

    def get_metric_data(self, MetricDataQueries: list[dict[str, Any]], StartTime: datetime, EndTime: datetime,
                        **_: Any) -> dict[str, Any]:
        results = []
        for query in MetricDataQueries:
            stat = query["MetricStat"]
            metric, period = stat["Metric"], stat["Period"]
            self.periods[query["Id"]] = period
            version = next(d["Value"] for d in metric["Dimensions"]
                           if d["Name"] in ("ExecutedVersion", "FunctionVersion"))
            sums: dict[datetime, float] = defaultdict(float)
            for at, value in self.points[(metric["Namespace"], metric["MetricName"], version)].items():
                if StartTime <= at < EndTime:
                    sums[datetime.fromtimestamp(int(at.timestamp()) // period * period, UTC)] += value
            results.append({"Id": query["Id"], "Timestamps": sorted(sums), "Values": [sums[t] for t in sorted(sums)]})
        return {"MetricDataResults": results}


def test_a_high_resolution_failure_rolls_back_before_aws_lambda_s_minute_has_settled(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The new version answers 500 to 20% of its requests from its shift (Lambda counts no error): at 10 s checks
    the check 40 s after the shift rolls back on the one-second metric, reading AWS/Lambda in whole minutes."""
    health_config = HealthConfig.model_validate({"checkIntervalSeconds": 10, "metrics": [HIGH_RES_5XX]})
    steps = StepPlan("canary", (10,), 300)
    cadence = cadence_of(health_config, steps, 1, 180, standard_resolution=60)
    target = TargetPlan(function_name="orders-api", alias="prod", old_version="1", new_version="2", action="shift")
    plan = Plan(targets=[target], action="shift", strategy="canary", weights=[10], step_count=1, bake_seconds=300,
                health=health_config, check_interval_seconds=cadence.interval, max_bake_seconds=cadence.max_bake,
                metric_delay_seconds=cadence.delay, first_check_seconds=cadence.first_check,
                standard_resolution_seconds=cadence.resolution, checks_planned=cadence.planned)
    stored = StoredMetrics()
    for second in range(-120, 60):  # 2,000 calls a second on the alias, 10% of them to the new version
        at = SHIFT + timedelta(seconds=second)
        for version, calls in (("1", 1800), ("2", 200)) if second >= 0 else (("1", 2000),):
            stored.put("AWS/Lambda", "Invocations", version, at, calls, 60)
            stored.put("OrdersApp", "Requests", version, at, calls, 1)
            stored.put("OrdersApp", "Responses5xx", version, at, calls * (0.2 if version == "2" else 0.005), 1)
    monkeypatch.setattr(evidence, "cloudwatch_client", lambda: stored)
    progress = Progress(step_index=0, weight=10, next_step_index=1, is_last_step=False,
                        shifted_at=SHIFT.isoformat())

    decided, [(_, report)] = health.check(plan, progress, now=SHIFT + timedelta(seconds=40))

    assert decided.decision == "rollback" and report.verdict == "fail"
    assert "http-5xx" in report.reason and "Responses5xx" in report.reason
    assert report.canary.invocations == 0  # AWS/Lambda's first minute of the step has not settled
    lambda_periods = {period for query, period in stored.periods.items() if "_m0" not in query}
    assert lambda_periods == {60}
    assert {period for query, period in stored.periods.items() if "_m0" in query} == {10}
