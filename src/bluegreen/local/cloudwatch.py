"""Local stand-ins in moto's CloudWatch: percentile statistics, and GetMetricData at scale.

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
