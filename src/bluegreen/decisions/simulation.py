"""Simulated releases with a known truth, judged by the check Lambda's own ``judge`` and ``decide``.

One engine for ``bluegreen plan`` (what the canary can see at your traffic) and for the decision-quality
benchmark, in AWS's terms: callers invoke the alias, each call routed by the weights at random; Lambda reports
one-minute datapoints stamped with the call's start, readable ``metricDelaySeconds`` later (a hanging call never);
the release's checks come every interval from its shift (which falls anywhere in a minute), each judging the
periods settled by then (``settled``), and the release goes through its steps as the state machine runs them
(bake, next step, promote, roll back, ask), on the very code that decides in AWS. Per period: Poisson traffic and
errors at the true rates, p50/p99 drawn exactly as order statistics of that period's log-normal durations.
"""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from bluegreen.contracts.state import Plan, Progress
from bluegreen.decisions.app_metrics import AppEvidence
from bluegreen.decisions.judge import decide, judge, passing_coverage
from bluegreen.decisions.sampling import LATENCY_MEDIAN_MS, binomial, mean_of, percentile_of, poisson
from bluegreen.decisions.settled import Span, expected_share, metric_period, span_of, wait_for
from bluegreen.decisions.windows import Share, Window, invocation_weighted

# Any moment: the simulation's clock starts at a minute boundary; each release shifts at a random second of it.
_EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Truth:
    """How the new version really behaves, against an old version failing ``baseline_error_rate``: from its
    onset (``onset_seconds`` into the release, anywhere up to ``onset_spread`` seconds later; before then,
    exactly like the old one), ``canary_error_rate`` of its calls fail, they take ``latency_ratio`` times as
    long, and ``hang_rate`` of them never come back."""

    name: str
    regressed: bool
    canary_error_rate: float
    baseline_error_rate: float = 0.01
    latency_ratio: float = 1.0
    onset_seconds: float = 0
    onset_spread: float = 0
    hang_rate: float = 0.0
    # An application rate metric (HTTP 5xx over requests, say): the new version's share from the onset, against
    # the old version's; None: no application metric is simulated.
    app_failure_rate: float | None = None
    app_baseline_failure_rate: float = 0.0


Ending = Literal["promoted", "proven-worse", "not-proven"]


@dataclass(frozen=True)
class Outcome:
    """How a simulated release ended: promoted; rolled back (or asked) because the new version was proven
    worse; or rolled back (or asked) because maxBakeSeconds passed without the evidence ruling out
    mustRuleOut. ``seconds`` from the start of the release; ``looks`` of the step it ended in."""

    ending: Ending
    seconds: float
    looks: int
    step_index: int
    on_time: bool  # promoted when the planned bakes (and the metrics' delay) ended, without extensions
    onset: float = 0.0  # when the regression began, in the release's seconds


@dataclass(frozen=True)
class Period:
    """One minute (one CloudWatch period) of the alias's calls, as AWS/Lambda reports them."""

    canary: Window
    baseline: Window
    canary_requests: int
    baseline_requests: int
    # The application rate metric's requests (as invocations) and failures (as errors), when simulated.
    app: tuple[Window, Window] | None = None


def simulate_period(rng: random.Random, segments: list[tuple[float, float, bool]], per_second: float,
                    truth: Truth) -> Period:
    """A period made of ``segments`` (seconds, new version's weight, regressed or not): how many calls each
    version got, how many failed, hung (the new version's, never counted) and how long they took."""
    canary_calls = baseline_calls = canary_errors = baseline_errors = hung = canary_5xx = baseline_5xx = 0
    canary_mix: list[tuple[float, float]] = []
    app_rate, app_baseline = truth.app_failure_rate, truth.app_baseline_failure_rate
    for seconds, weight, bad in segments:
        calls = poisson(rng, per_second * seconds * weight)
        old = poisson(rng, per_second * seconds * (1 - weight))
        rate = truth.canary_error_rate if bad else truth.baseline_error_rate
        lost = binomial(rng, calls, truth.hang_rate) if bad else 0
        canary_calls, hung = canary_calls + calls - lost, hung + lost
        canary_errors += binomial(rng, calls - lost, rate)
        baseline_calls += old
        baseline_errors += binomial(rng, old, truth.baseline_error_rate)
        if app_rate is not None:  # each answered call counts once, a failing answer once more
            canary_5xx += binomial(rng, calls - lost, app_rate if bad else app_baseline)
            baseline_5xx += binomial(rng, old, app_baseline)
        if calls - lost:
            canary_mix.append((calls - lost, LATENCY_MEDIAN_MS * (truth.latency_ratio if bad else 1.0)))
    total = sum(w for w, _ in canary_mix)
    mix = [(w / total, m) for w, m in canary_mix] or [(1.0, LATENCY_MEDIAN_MS)]
    old_mix = [(1.0, LATENCY_MEDIAN_MS)]

    def window(calls: int, errors: int, medians: list[tuple[float, float]]) -> Window:
        return Window(invocations=calls, errors=errors, p50_ms=percentile_of(rng, calls, medians, 0.50),
                      p99_ms=percentile_of(rng, calls, medians, 0.99), average_ms=mean_of(rng, calls, medians))

    app = (Window(canary_calls, canary_5xx), Window(baseline_calls, baseline_5xx)) if app_rate is not None else None
    return Period(window(canary_calls, canary_errors, mix), window(baseline_calls, baseline_errors, old_mix),
                  canary_calls, baseline_calls, app)


def combined(parts: list[Window]) -> Window:
    """Several periods as one window, as the evidence module aggregates CloudWatch periods."""
    return Window(invocations=sum(p.invocations for p in parts), errors=sum(p.errors for p in parts),
                  p50_ms=invocation_weighted((p.p50_ms, p.invocations) for p in parts),
                  p99_ms=invocation_weighted((p.p99_ms, p.invocations) for p in parts),
                  average_ms=invocation_weighted((p.average_ms, p.invocations) for p in parts))


def _ending(decision: str, verdict: str) -> Ending | None:
    if decision in ("bake", "next-step"):
        return None
    if decision == "promote":
        return "promoted"
    return "proven-worse" if verdict == "fail" else "not-proven"


class _Timeline:
    """The release's traffic, one period at a time, generated as the checks need it: the weight at every
    second (the steps' shifts), the regression from its onset."""

    def __init__(self, rng: random.Random, calls_per_minute: float, truth: Truth, period: int, onset: float) -> None:
        self.rng, self.truth, self.length, self.onset = rng, truth, period, onset
        self.per_second = calls_per_minute / 60
        self.shifts: list[tuple[float, float]] = [(0.0, 0.0)]  # (from second, the new version's weight)
        self.periods: dict[int, Period] = {}

    def weight_at(self, second: float) -> float:
        return next(w for at, w in reversed(self.shifts) if at <= second)

    def period(self, index: int) -> Period:
        if index not in self.periods:
            start, end = index * self.length, (index + 1) * self.length
            cuts = sorted({start, end, *(at for at, _ in self.shifts if start < at < end),
                           *([self.onset] if start < self.onset < end else [])})
            segments = [(b - a, self.weight_at(a), a >= self.onset) for a, b in itertools.pairwise(cuts)]
            self.periods[index] = simulate_period(self.rng, segments, self.per_second, self.truth)
        return self.periods[index]


def _judged(plan: Plan, timeline: _Timeline, progress: Progress, shifted: float, now: float) -> tuple[str, Span]:
    """(verdict, the settled periods) of a check ``now`` seconds into the release, on the periods settled by then,
    as the check Lambda judges them."""
    period = timeline.length
    previous = plan.weights[progress.step_index - 1] if progress.step_index else 0
    span = span_of(_EPOCH + timedelta(seconds=shifted), _EPOCH + timedelta(seconds=now),
                   interval=plan.check_interval_seconds, delay=plan.metric_delay_seconds,
                   resolution=plan.standard_resolution_seconds)
    if span.coverage <= 0:
        return "inconclusive", span

    def index(moment: datetime) -> int:
        return int((moment - _EPOCH).total_seconds()) // period

    periods = {i: timeline.period(i) for i in range(index(span.start), index(span.end))}
    # As the check Lambda does: from the period after the shift's.
    shares = {i: Share(p.canary_requests, p.canary_requests + p.baseline_requests,
                       expected_share(_EPOCH + timedelta(seconds=i * period), period, span.shifted,
                                      progress.weight, previous)) for i, p in periods.items() if i > index(span.start)}
    recent_from = index(span.recent_start) if span.recent_start is not None else None
    latest = [i for i in periods if recent_from is not None and i >= recent_from]
    recent = ((combined([periods[i].canary for i in latest]), combined([periods[i].baseline for i in latest]))
              if latest else None)
    step = combined([p.canary for p in periods.values()]), combined([p.baseline for p in periods.values()])

    def app_of(chosen: list[Period]) -> tuple[Window, Window]:  # the application rate metric's, as evidence reads it
        return combined([p.app[0] for p in chosen if p.app]), combined([p.app[1] for p in chosen if p.app])

    app = tuple(AppEvidence(m, app_of(list(periods.values())), app_of([periods[i] for i in latest]) if latest else None)
                for m in plan.health.metrics if m.kind == "rate" and timeline.truth.app_failure_rate is not None)
    judgement = judge(plan, step, recent, [], span.coverage, first=span.first_coverage, app=app,
                      shares=(list(shares.values()), [shares[i] for i in latest if i in shares]), explain=False)
    return judgement.verdict, span


def simulate_release(plan: Plan, calls_per_minute: float, truth: Truth, rng: random.Random) -> Outcome:
    """One release of ``plan`` on an alias that ``calls_per_minute`` callers invoke, checked as the state machine
    checks it, on the periods settled at each check."""
    period = metric_period(plan.check_interval_seconds, plan.standard_resolution_seconds)
    at = rng.uniform(0, period)  # the first shift, anywhere in a minute
    # The regression's onset, in seconds from the release's first shift.
    onset = at + truth.onset_seconds + rng.uniform(0, truth.onset_spread)
    timeline = _Timeline(rng, calls_per_minute, truth, period, onset)
    looks = math.ceil(plan.max_bake_seconds / plan.check_interval_seconds)
    for index, weight in enumerate(plan.weights):
        progress = Progress(step_index=index, weight=weight, next_step_index=index + 1,
                            is_last_step=index == len(plan.weights) - 1)
        timeline.shifts.append((at, weight / 100))
        now = at + plan.first_check_seconds
        for look in range(1, 10 * looks + 1):
            verdict, span = _judged(plan, timeline, progress, at, now)
            decision, more = decide(plan, progress, verdict, span.coverage)
            ending = _ending(decision, verdict)
            if ending is not None:
                # On time: promoted at the first check whose settled data covers the planned bakes (and the half
                # interval past the last one that a promotion needs).
                step = plan.bake_seconds + plan.metric_delay_seconds
                planned = (index + 1) * step + passing_coverage(plan, progress) - plan.bake_seconds \
                    + plan.check_interval_seconds
                return Outcome(ending, now, look, index, ending == "promoted" and now <= planned + timeline.length,
                               onset)
            if decision == "next-step":
                at = now
                break
            now += wait_for(span, _EPOCH + timedelta(seconds=now), plan.metric_delay_seconds, more)
        else:
            raise AssertionError("the decision came later than maxBakeSeconds")
    raise AssertionError("a release with no traffic steps has nothing to simulate")
