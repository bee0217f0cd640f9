"""Local stand-ins in moto's CloudWatch: percentile statistics, GetMetricData at scale, and alarms as
DescribeAlarms answers them (composite alarms, AlarmTypes, pages).

moto computes Sum, Average, Minimum, Maximum and SampleCount only, and fails on a percentile
``Stat`` in GetMetricData. The health check asks for Duration p50/p99 exactly as in AWS, so the
local run teaches moto percentiles over the raw values it stores, instead of the check asking less.

moto also answers each query of a GetMetricData call by scanning every datapoint it holds, once per
period: a check of 50 functions (600 queries) over their traffic takes minutes. The local run hands
each query only the datapoints of its own metric (same name and dimensions, as moto matches them).
"""

from __future__ import annotations

import copy
import math
import re
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.cloudwatch.models import CloudWatchBackend, Statistics
from moto.cloudwatch.responses import CloudWatchResponse
from moto.core.responses import ActionResult, EmptyResult

PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?)$")


def percentile(values: list[float], rank: float) -> float | None:
    """Nearest-rank percentile, as CloudWatch reports it for raw values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


@contextmanager
def percentile_statistics() -> Iterator[None]:
    original = Statistics.get_statistics_for_type

    def get_statistics_for_type(self: Statistics, stat: str) -> Any:
        match = PERCENTILE.match(stat)
        if match:
            return percentile(self.metric_single_values_list, float(match[1]))
        return original(self, stat)

    with mock.patch.object(Statistics, "get_statistics_for_type", get_statistics_for_type):
        yield


def _key(name: str, dimensions: list[tuple[Any, Any]]) -> tuple[str, tuple[tuple[Any, Any], ...]]:
    return name, tuple(sorted(dimensions))


@contextmanager
def indexed_metric_data() -> Iterator[None]:
    original = CloudWatchBackend.get_metric_data

    def get_metric_data(self: CloudWatchBackend, queries: list[dict[str, Any]], start_time: Any, end_time: Any,
                        scan_by: str = "TimestampAscending") -> list[dict[str, Any]]:
        if not all("MetricStat" in q and q["MetricStat"]["Metric"].get("Dimensions") for q in queries):
            return original(self, queries, start_time, end_time, scan_by)
        by_metric: dict[Any, list[Any]] = defaultdict(list)
        for datum in self.get_all_metrics():
            by_metric[_key(datum.name, [(d.name, d.value) for d in datum.dimensions])].append(datum)
        results: list[dict[str, Any]] = []
        for query in queries:
            metric = query["MetricStat"]["Metric"]
            own = by_metric.get(_key(metric["MetricName"], [(d["Name"], d["Value"]) for d in metric["Dimensions"]]), [])
            # A view of the backend that holds only this metric's datapoints; the backend itself is not
            # changed, so calls on other threads see it whole.
            view = copy.copy(self)
            view.get_all_metrics = lambda own=own: own  # type: ignore[method-assign,misc]
            results += original(view, [query], start_time, end_time, scan_by)
        return results

    with mock.patch.object(CloudWatchBackend, "get_metric_data", get_metric_data):
        yield


# --- Alarms: composite alarms, AlarmTypes and pages, as CloudWatch answers DescribeAlarms ---------------------
# moto has no PutCompositeAlarm, returns composite and metric alarms alike whatever AlarmTypes says (AWS returns
# metric alarms only when it is omitted), and answers every alarm in one page (AWS: MaxRecords, 50 by default,
# then NextToken). https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_DescribeAlarms.html
DEFAULT_MAX_RECORDS = 50
_RULE_TOKENS = re.compile(r'\s*(?:(?P<fn>ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*"?(?P<name>[^")]+?)"?\s*\)'
                          r'|(?P<word>AND|OR|NOT|TRUE|FALSE)\b|(?P<paren>[()]))')


def _rule_tokens(rule: str, state_of: Any) -> list[str]:
    """The rule as tokens: "True"/"False" for each alarm term (its state is what it names, or not), the
    operators and parentheses as written."""
    tokens: list[str] = []
    position = 0
    while position < len(rule.rstrip()):
        match = _RULE_TOKENS.match(rule, position)
        if match is None:
            raise NotImplementedError(f"the local run cannot read this part of an AlarmRule: {rule[position:]!r}")
        if match["fn"]:
            tokens.append(str(state_of(match["name"]) == match["fn"]))
        elif match["word"] in ("TRUE", "FALSE"):
            tokens.append(str(match["word"] == "TRUE"))
        else:
            tokens.append(match["word"] or match["paren"])
        position = match.end()
    return tokens


def rule_state(rule: str, state_of: Any) -> bool:
    """Whether an AlarmRule holds, given each named alarm's state (``state_of(name)``): ALARM(x), OK(x),
    INSUFFICIENT_DATA(x), TRUE, FALSE, AND, OR, NOT and parentheses, as CloudWatch's composite alarms read them
    (NOT binds tightest, then AND, then OR)."""
    tokens = _rule_tokens(rule, state_of)

    def binary(operator: str, operand: Any) -> Any:
        def parse(at: int) -> tuple[bool, int]:
            value, at = operand(at)
            while at < len(tokens) and tokens[at] == operator:
                right, at = operand(at + 1)
                value = (value or right) if operator == "OR" else (value and right)
            return value, at
        return parse

    def unary(at: int) -> tuple[bool, int]:
        if tokens[at] == "NOT":
            value, at = unary(at + 1)
            return not value, at
        if tokens[at] == "(":
            value, at = either(at + 1)
            return value, at + 1  # past the closing parenthesis
        return tokens[at] == "True", at + 1

    either = binary("OR", binary("AND", unary))
    return bool(either(0)[0])


def _alarm_state(backend: CloudWatchBackend, name: str, seen: frozenset[str] = frozenset()) -> str:
    alarm = backend.alarms.get(name)
    if alarm is None or name in seen:
        return "INSUFFICIENT_DATA"
    if alarm.rule is None:
        return str(alarm.state_value)
    held = rule_state(alarm.rule, lambda child: _alarm_state(backend, child, seen | {name}))
    return "ALARM" if held else "OK"


def _composite(alarm: Any, state: str) -> dict[str, Any]:
    return {"AlarmName": alarm.name, "AlarmArn": alarm.alarm_arn, "AlarmRule": alarm.rule,
            "AlarmDescription": alarm.description, "ActionsEnabled": alarm.actions_enabled,
            "AlarmActions": alarm.alarm_actions or [], "OKActions": alarm.ok_actions,
            "InsufficientDataActions": alarm.insufficient_data_actions, "StateValue": state,
            "StateReason": "evaluated from its rule (local run)",
            "StateUpdatedTimestamp": alarm.state_updated_timestamp}


@contextmanager
def alarms_as_cloudwatch_answers() -> Iterator[None]:
    def put_composite_alarm(self: CloudWatchResponse) -> ActionResult:
        self.cloudwatch_backend.put_metric_alarm(
            name=self._get_param("AlarmName"), namespace="", metric_name="", comparison_operator="",
            evaluation_periods=0, period=0, threshold=0.0, statistic="",
            description=self._get_param("AlarmDescription"), dimensions=[],
            alarm_actions=self._get_param("AlarmActions", []), ok_actions=self._get_param("OKActions", []),
            rule=self._get_param("AlarmRule"), tags=self._get_param("Tags", []))
        return EmptyResult()

    def describe_alarms(self: CloudWatchResponse) -> ActionResult:
        backend = self.cloudwatch_backend
        names = self._get_param("AlarmNames", [])
        prefix = self._get_param("AlarmNamePrefix")
        types = self._get_param("AlarmTypes") or ["MetricAlarm"]
        wanted = self._get_param("StateValue")
        chosen = sorted((a for a in backend.alarms.values()
                         if (not names or a.name in names) and (not prefix or a.name.startswith(prefix))),
                        key=lambda a: a.name)
        found: list[tuple[Any, str]] = [(a, _alarm_state(backend, a.name)) for a in chosen
                                        if ("CompositeAlarm" if a.rule is not None else "MetricAlarm") in types]
        found = [(a, s) for a, s in found if not wanted or s == wanted]
        first = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxRecords") or DEFAULT_MAX_RECORDS)
        page = found[first:first + size]
        result: dict[str, Any] = {"MetricAlarms": [a for a, _ in page if a.rule is None],
                                  "CompositeAlarms": [_composite(a, s) for a, s in page if a.rule is not None]}
        if first + size < len(found):
            result["NextToken"] = str(first + size)
        return ActionResult(result)

    with mock.patch.object(CloudWatchResponse, "describe_alarms", describe_alarms), \
            mock.patch.object(CloudWatchResponse, "put_composite_alarm", put_composite_alarm, create=True):
        yield
