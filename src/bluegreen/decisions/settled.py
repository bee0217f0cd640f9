"""What a check may judge: the metric periods AWS has delivered by then.

``AWS/Lambda`` metrics are one-minute datapoints stamped with each call's start and emitted when the call ends,
readable about two minutes later; a call still running (up to the function's timeout) is in no datapoint yet.
So a check judges only the periods that have *settled*: those ending ``metricDelaySeconds`` before it. A call
of such a period that is still running then (longer than the delay: a hang, usually) is in none of its datapoints:
the comparison of the new version's share of calls with its weight counts it as not completed.
A step's evidence is the settled part of it ("coverage"): no step passes before its settled data covers the
whole planned bake (the last step a little past it: ``judge.passing_coverage``), and a regression starting
mid-step shows at the first check after it has settled.

Pure: no AWS here, the check Lambda and the simulations of ``plan`` and the benchmark use it alike.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# CloudWatch periods a check may read: the longest valid one within the check interval, never finer than the
# metric's resolution (AWS/Lambda's and standard-resolution metrics: whole minutes; high-resolution ones: a second;
# the local run compresses minutes into seconds).
PERIODS = (1, 5, 10, 30, 60)


def metric_period(check_interval: int, resolution: int = 1) -> int:
    return max(resolution, *(p for p in PERIODS if p <= max(1, check_interval)))


def grid_floor(moment: datetime, period: int) -> datetime:
    """``moment`` rounded down to a whole period since the epoch, as CloudWatch aligns datapoints."""
    epoch = int(moment.timestamp())
    return datetime.fromtimestamp(epoch - epoch % period, UTC)


@dataclass(frozen=True)
class Span:
    """The periods a check reads: from the one holding the step's shift to the last settled one."""

    shifted: datetime
    start: datetime
    end: datetime  # exclusive: periods starting before it have settled
    period: int
    interval: int

    @property
    def coverage(self) -> float:
        """Seconds of the step its settled periods cover (0 before the first has settled)."""
        return max(0.0, (self.end - self.shifted).total_seconds())

    @property
    def first_coverage(self) -> float:
        """What the step's first check covers: at least one interval (it waits an interval, the delay and a
        period: ``first_check_seconds``), less than one and a period."""
        return max(1.0, (grid_floor(self.shifted + timedelta(seconds=self.interval + self.period), self.period)
                         - self.shifted).total_seconds())

    @property
    def recent_start(self) -> datetime | None:
        """The start of the last settled check interval, once more than one interval has settled."""
        if self.coverage <= self.interval:
            return None
        return grid_floor(self.end - timedelta(seconds=self.interval), self.period)


def span_of(shifted: datetime, now: datetime, *, interval: int, delay: int, resolution: int = 1) -> Span:
    period = metric_period(interval, resolution)
    start = grid_floor(shifted, period)
    end = max(start, grid_floor(now - timedelta(seconds=delay), period))
    return Span(shifted, start, end, period, interval)


def first_check_seconds(interval: int, delay: int, resolution: int = 1) -> int:
    """When a step's first check comes, after its shift: once its first interval has settled, wherever in a
    period the shift fell (an interval, the delay and a period)."""
    return interval + delay + metric_period(interval, resolution)


def wait_for(span: Span, now: datetime, delay: int, more: float) -> int:
    """Seconds from ``now`` until the settled data covers ``more`` seconds of the step beyond what it covers now
    (at least the next period): settled data grows a period at a time, ``delay`` after each period ends."""
    wanted = span.shifted + timedelta(seconds=span.coverage + max(1.0, more))
    boundary = grid_floor(wanted, span.period)
    if boundary < wanted:
        boundary += timedelta(seconds=span.period)
    return max(1, math.ceil((boundary + timedelta(seconds=delay) - now).total_seconds()))


def expected_share(period_start: datetime, period: int, shifted: datetime, weight: int, previous: int) -> float:
    """The share of the alias's calls in a period that its weights routed to the new version: ``previous``
    percent before the shift, ``weight`` after it (the shift falls in the step's first period)."""
    seconds = float(period)
    after = min(seconds, max(0.0, (period_start + timedelta(seconds=period) - shifted).total_seconds()))
    return (weight * after + previous * (seconds - after)) / seconds / 100
