"""Per-version evidence from CloudWatch: one GetMetricData call per check for both versions (of up
to 41 functions at once).

``AWS/Lambda`` publishes, for invocations through an alias, metrics with the dimensions
FunctionName, Resource=``function:alias`` and ExecutedVersion: the canary and the baseline on the
same alias, in the same window. Each check reads the step so far in periods of the check interval,
so that the whole step and the last interval are both judged from one response.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bluegreen.aws.application_metrics import app_metric_queries, app_parts
from bluegreen.aws.clients import cloudwatch_client
from bluegreen.contracts.health_config import AppMetric
from bluegreen.decisions.alias_traffic import Traffic
from bluegreen.decisions.windows import Window, invocation_weighted

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef, MetricDataQueryTypeDef, MetricStatTypeDef

# query suffix -> (metric, statistic)
TRAFFIC_METRICS: dict[str, tuple[str, str]] = {"invocations": ("Invocations", "Sum"), "errors": ("Errors", "Sum")}
METRICS: dict[str, tuple[str, str]] = {
    "invocations": ("Invocations", "Sum"),
    "errors": ("Errors", "Sum"),
    "throttles": ("Throttles", "Sum"),
    "p50": ("Duration", "p50"),
    "p99": ("Duration", "p99"),
    "average": ("Duration", "Average"),
}
ROLES = ("canary", "baseline")


def metric_queries(function_name: str, alias: str, versions: dict[str, str], *,
                   period: int, prefix: str = "",
                   metrics: dict[str, tuple[str, str]] = METRICS) -> list[MetricDataQueryTypeDef]:
    """Every metric of every version in ``versions`` (role -> version), ids ``<prefix><role>_<metric>``."""
    queries: list[MetricDataQueryTypeDef] = []
    for role, version in versions.items():
        dimensions: list[DimensionTypeDef] = [
            {"Name": "FunctionName", "Value": function_name},
            {"Name": "Resource", "Value": f"{function_name}:{alias}"},
            {"Name": "ExecutedVersion", "Value": version},
        ]
        for suffix, (metric, stat) in metrics.items():
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

    def window(self, role: str, since: datetime | None = None, until: datetime | None = None) -> Window:
        """One version's numbers over the periods starting at or after ``since`` and before ``until`` (all
        when None)."""

        def values(suffix: str) -> dict[datetime, float]:
            return {t: v for t, v in self.points.get(f"{role}_{suffix}", {}).items()
                    if (since is None or t >= since) and (until is None or t < until)}

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


    def app_window(self, role: str, index: int, metric: AppMetric, since: datetime | None = None,
                   until: datetime | None = None) -> Window:
        """One version's numbers of an application metric over the periods in [since, until): a rate's total as
        invocations and failures as errors; a latency's sample count as invocations, its statistic as p99."""

        def values(part: str) -> dict[datetime, float]:
            return {t: v for t, v in self.points.get(f"{role}_m{index}{part}", {}).items()
                    if (since is None or t >= since) and (until is None or t < until)}

        if metric.kind == "rate":
            return Window(invocations=round(sum(values("total").values())),
                          errors=round(sum(values("failures").values())))
        counts = values("count")

        def weighted(part: str) -> float | None:
            return invocation_weighted((v, counts.get(t, 0.0) or 1.0) for t, v in values(part).items())

        return Window(invocations=round(sum(counts.values())), p99_ms=weighted("latency"),
                      average_ms=weighted("average"))

    def app_unreported(self, role: str, index: int, metric: AppMetric, until: datetime) -> list[str]:
        """The metrics of an application metric that have no datapoint before ``until`` for the version: a failure
        count the version never reports is not zero failures (a name mistyped, or zeros not emitted)."""
        return [name for part, name, _ in app_parts(metric)
                if part != "average" and not any(t < until for t in self.points.get(f"{role}_m{index}{part}", {}))]

    def requests(self, role: str, until: datetime) -> dict[datetime, int]:
        """One version's requests (invocations and throttles) per period starting before ``until``."""
        found: dict[datetime, int] = {}
        for suffix in ("invocations", "throttles"):
            for t, v in self.points.get(f"{role}_{suffix}", {}).items():
                if t < until:
                    found[t] = found.get(t, 0) + round(v)
        return found


# GetMetricData takes at most 500 queries a call: 41 functions' canary and baseline (fewer with application metrics).
MAX_QUERIES_PER_CALL = 500


@dataclass(frozen=True)
class Subject:
    """One function alias's versions to read: role ("canary", "baseline") -> version."""

    function_name: str
    alias: str
    versions: dict[str, str]
    # The application's own metrics judged beside AWS/Lambda's (health.metrics).
    app_metrics: tuple[AppMetric, ...] = ()


def fetch_many(subjects: list[Subject], *, start: datetime, end: datetime, period: int,
               app_periods: Sequence[int] = ()) -> list[Series]:
    """Each subject's series over [start, end), as few GetMetricData calls as the 500-query limit allows: AWS/Lambda's
    metrics in periods of ``period``, each application metric in its own (default: the same)."""
    # Query ids ``f<subject>_<role>_<metric>``: each subject's datapoints come back under its own prefix.
    queries = [q for i, s in enumerate(subjects)
               for q in [*metric_queries(s.function_name, s.alias, s.versions, period=period, prefix=f"f{i}_"),
                         *app_metric_queries(s.app_metrics, s.versions, prefix=f"f{i}_",
                                             periods=list(app_periods) or [period] * len(s.app_metrics))]]
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


# The recent traffic: the last 60 periods (an hour of AWS/Lambda's one-minute periods; a minute of the local run's
# one-second ones, which compress minutes into seconds).
HISTORY_PERIODS = 60


def recent_traffic(function_name: str, alias: str, versions: list[str], now: datetime | None = None,
                   period: int = 60) -> Traffic:
    """The alias's calls per minute and error rate over the last hour, or over the part of it with calls (a new
    alias's, say): one GetMetricData call, one-minute periods, every version."""
    subject = Subject(function_name, alias, {f"v{i}": v for i, v in enumerate(versions)})
    return recent_traffic_many([subject], now, period)[0]


def recent_traffic_many(subjects: list[Subject], now: datetime | None = None, period: int = 60) -> list[Traffic]:
    """Each subject's recent traffic (``recent_traffic``) over the last ``HISTORY_PERIODS`` periods, as few
    GetMetricData calls as 500 queries allow."""
    moment = now or datetime.now(UTC)
    end = datetime.fromtimestamp(int(moment.timestamp()) // period * period, UTC)
    queries = [q for i, s in enumerate(subjects) for q in metric_queries(
        s.function_name, s.alias, s.versions, period=period, prefix=f"f{i}_", metrics=TRAFFIC_METRICS)]
    calls: list[dict[datetime, float]] = [defaultdict(float) for _ in subjects]
    errors = [0.0] * len(subjects)
    for first in range(0, len(queries), MAX_QUERIES_PER_CALL):
        resp = cloudwatch_client().get_metric_data(MetricDataQueries=queries[first:first + MAX_QUERIES_PER_CALL],
                                                   StartTime=end - timedelta(seconds=HISTORY_PERIODS * period),
                                                   EndTime=end)
        for result in resp["MetricDataResults"]:
            index = int(result["Id"].split("_", 1)[0][1:])
            for at, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False):
                if result["Id"].endswith("_invocations"):
                    calls[index][at] += value
                else:
                    errors[index] += value
    found = []
    for per_minute, failed in zip(calls, errors, strict=True):
        total = sum(per_minute.values())
        busy = [at for at, value in per_minute.items() if value > 0]
        # The part of the history with calls: from its first period with any to its last.
        periods = round((max(busy) - min(busy)).total_seconds() / period) + 1 if busy else 0
        span = "the last hour" if period == 60 else f"the last {HISTORY_PERIODS * period} s"
        source = span if periods >= HISTORY_PERIODS else f"the {periods} period(s) of {period} s with calls"
        rate = total / (periods * period / 60) if periods else 0.0
        found.append(Traffic(round(rate, 1), failed / total if total else 0.0, source, periods))
    return found
