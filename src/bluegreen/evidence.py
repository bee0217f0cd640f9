"""Per-version evidence from CloudWatch: one GetMetricData call per check for both versions (of up
to 41 functions at once).

``AWS/Lambda`` publishes, for invocations through an alias, metrics with the dimensions
FunctionName, Resource=``function:alias`` and ExecutedVersion: the canary and the baseline on the
same alias, in the same window. Each check reads the step so far in periods of the check interval,
so that the whole step and the last interval are both judged from one response.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bluegreen.clients import cloudwatch_client
from bluegreen.verdict import Window, invocation_weighted

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef, MetricDataQueryTypeDef, MetricStatTypeDef

# query suffix -> (metric, statistic)
METRICS: dict[str, tuple[str, str]] = {
    "invocations": ("Invocations", "Sum"),
    "errors": ("Errors", "Sum"),
    "throttles": ("Throttles", "Sum"),
    "p50": ("Duration", "p50"),
    "p99": ("Duration", "p99"),
    "average": ("Duration", "Average"),
}
ROLES = ("canary", "baseline")


PERIODS = (1, 5, 10, 30, 60)


def metric_period(check_interval: int) -> int:
    """The CloudWatch period for a check interval: the longest valid period (1, 5, 10, 30, 60 s) within it."""
    return max(p for p in PERIODS if p <= max(1, check_interval))


def metric_queries(function_name: str, alias: str, versions: dict[str, str],
                   period: int, prefix: str = "") -> list[MetricDataQueryTypeDef]:
    """Every metric of every version in ``versions`` (role -> version), ids ``<prefix><role>_<metric>``."""
    queries: list[MetricDataQueryTypeDef] = []
    for role, version in versions.items():
        dimensions: list[DimensionTypeDef] = [
            {"Name": "FunctionName", "Value": function_name},
            {"Name": "Resource", "Value": f"{function_name}:{alias}"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        for suffix, (metric, stat) in METRICS.items():
            metric_stat: MetricStatTypeDef = {
                "Metric": {"Namespace": "AWS/Lambda", "MetricName": metric, "Dimensions": dimensions},
                "Period": period,
                "Stat": stat,
            }
            queries.append({"Id": f"{prefix}{role}_{suffix}", "MetricStat": metric_stat, "ReturnData": True})
    return queries


@dataclass
class Series:
    """Each query's datapoints by period start: {query id: {timestamp: value}}."""

    points: dict[str, dict[datetime, float]] = field(default_factory=lambda: defaultdict(dict))
    calls: int = 0

    def window(self, role: str, since: datetime | None = None) -> Window:
        """One version's numbers over the periods starting at or after ``since`` (all when None)."""

        def values(suffix: str) -> dict[datetime, float]:
            return {t: v for t, v in self.points.get(f"{role}_{suffix}", {}).items() if since is None or t >= since}

        invocations = values("invocations")

        def weighted(suffix: str) -> float | None:
            # A period with a statistic but no invocations datapoint still counts, once.
            return invocation_weighted((v, invocations.get(t, 0.0) or 1.0) for t, v in values(suffix).items())

        return Window(
            invocations=round(sum(invocations.values())),
            errors=round(sum(values("errors").values())),
            throttles=round(sum(values("throttles").values())),
            p50_ms=weighted("p50"),
            p99_ms=weighted("p99"),
            average_ms=weighted("average"),
        )


# GetMetricData takes at most 500 queries a call: 41 functions' canary and baseline.
MAX_QUERIES_PER_CALL = 500


@dataclass(frozen=True)
class Subject:
    """One function alias's versions to read: role ("canary", "baseline") -> version."""

    function_name: str
    alias: str
    versions: dict[str, str]


def fetch_many(subjects: list[Subject], *, start: datetime, end: datetime, period: int) -> list[Series]:
    """Each subject's series over [start, end), as few GetMetricData calls as the 500-query limit allows."""
    # Query ids ``f<subject>_<role>_<metric>``: each subject's datapoints come back under its own prefix.
    queries = [q for i, s in enumerate(subjects)
               for q in metric_queries(s.function_name, s.alias, s.versions, period, f"f{i}_")]
    found = Series()
    for first in range(0, len(queries), MAX_QUERIES_PER_CALL):
        kwargs: dict[str, Any] = {
            "MetricDataQueries": queries[first:first + MAX_QUERIES_PER_CALL],
            "StartTime": start,
            "EndTime": end,
            "ScanBy": "TimestampAscending",
        }
        while True:
            resp = cloudwatch_client().get_metric_data(**kwargs)
            found.calls += 1
            for result in resp["MetricDataResults"]:
                points = zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                found.points[result["Id"]].update(points)
            if not resp.get("NextToken"):
                break
            kwargs["NextToken"] = resp["NextToken"]
    series = [Series(calls=found.calls) for _ in subjects]
    for query_id, datapoints in found.points.items():
        subject, _, own_id = query_id.partition("_")
        series[int(subject[1:])].points[own_id] = datapoints
    return series


def period_floor(moment: datetime, origin: datetime, period: int) -> datetime:
    """The start of the period (counted from ``origin``) that holds ``moment``."""
    elapsed = int((moment - origin).total_seconds())
    return origin + timedelta(seconds=elapsed - elapsed % period)


def alarm_states(alarm_names: list[str]) -> dict[str, str]:
    """Each named alarm's state (OK, ALARM, INSUFFICIENT_DATA), metric and composite alarms alike, every page
    followed; a name with no alarm is absent. (DescribeAlarms returns metric alarms only unless AlarmTypes asks
    for composite ones too, and answers in pages.)"""
    if not alarm_names:
        return {}
    states: dict[str, str] = {}
    pages = cloudwatch_client().get_paginator("describe_alarms").paginate(
        AlarmNames=alarm_names, AlarmTypes=["CompositeAlarm", "MetricAlarm"])
    for page in pages:
        for alarm in [*page.get("MetricAlarms", []), *page.get("CompositeAlarms", [])]:
            states[alarm["AlarmName"]] = alarm["StateValue"]
    return states


def alarms_in_alarm(alarm_names: list[str]) -> list[str]:
    return sorted(name for name, state in alarm_states(alarm_names).items() if state == "ALARM")
