"""Local stand-in: percentile statistics (``p50``, ``p99``...) in moto's CloudWatch.

moto computes Sum, Average, Minimum, Maximum and SampleCount only, and fails on a percentile
``Stat`` in GetMetricData. The health check asks for Duration p50/p99 exactly as in AWS, so the
local run teaches moto percentiles over the raw values it stores, instead of the check asking less.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from moto.cloudwatch.models import Statistics

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
