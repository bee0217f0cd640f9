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
from statistics import NormalDist
from typing import Literal

from bluegreen.evidence import Traffic
from bluegreen.health import decide, judge, passing_coverage
from bluegreen.settled import Span, expected_share, first_check_seconds, metric_period, span_of, wait_for
from bluegreen.spending import first_pass_level
from bluegreen.state import Plan, Progress
from bluegreen.verdict import Share, Window, error_rate_rule, invocation_weighted, missing_calls_rule

LATENCY_MEDIAN_MS = 50.0
LATENCY_SIGMA = 0.5  # log-normal spread: p99 about 3.2x the median
_NORMAL = NormalDist()
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


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:  # Knuth: exact for the small counts where it matters most
        limit, k, product = math.exp(-lam), 0, rng.random()
        while product > limit:
            k += 1
            product *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if n * p < 30:
        return min(n, poisson(rng, n * p))
    return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


def _mixture_quantile(u: float, medians: list[tuple[float, float]]) -> float:
    """The ``u`` quantile of a mixture of log-normals (weight, median), by bisection on its CDF."""
    low, high = math.log(min(m for _, m in medians)) - 8 * LATENCY_SIGMA, math.log(max(m for _, m in medians)) + 8
    for _ in range(50):
        middle = (low + high) / 2
        cdf = sum(w * _NORMAL.cdf((middle - math.log(m)) / LATENCY_SIGMA) for w, m in medians)
        low, high = (middle, high) if cdf < u else (low, middle)
    return math.exp((low + high) / 2)


def percentile_of(rng: random.Random, calls: int, medians: list[tuple[float, float]], rank: float) -> float | None:
    """The nearest-rank percentile of ``calls`` durations from a mixture of log-normals, drawn in O(1): the k-th
    smallest of n uniforms is Beta(k, n - k + 1)."""
    if calls == 0:
        return None
    k = max(1, math.ceil(rank * calls))
    u = min(max(rng.betavariate(k, calls - k + 1), 1e-12), 1 - 1e-12)
    if len(medians) == 1:
        return medians[0][1] * math.exp(LATENCY_SIGMA * _NORMAL.inv_cdf(u))
    return _mixture_quantile(u, medians)


def mean_of(rng: random.Random, calls: int, medians: list[tuple[float, float]]) -> float | None:
    """The mean of ``calls`` durations (central limit: normal around the true mean)."""
    if calls == 0:
        return None
    spread = math.sqrt(math.exp(LATENCY_SIGMA**2) - 1)
    mean = sum(w * m for w, m in medians) * math.exp(LATENCY_SIGMA**2 / 2)
    return max(0.0, rng.gauss(mean, mean * spread / math.sqrt(calls)))


@dataclass(frozen=True)
class Period:
    """One minute (one CloudWatch period) of the alias's calls, as AWS/Lambda reports them."""

    canary: Window
    baseline: Window
    canary_requests: int
    baseline_requests: int


def simulate_period(rng: random.Random, segments: list[tuple[float, float, bool]], per_second: float,
                    truth: Truth) -> Period:
    """A period made of ``segments`` (seconds, new version's weight, regressed or not): how many calls each
    version got, how many failed, hung (the new version's, never counted) and how long they took."""
    canary_calls = baseline_calls = canary_errors = baseline_errors = hung = 0
    canary_mix: list[tuple[float, float]] = []
    for seconds, weight, bad in segments:
        calls = poisson(rng, per_second * seconds * weight)
        old = poisson(rng, per_second * seconds * (1 - weight))
        rate = truth.canary_error_rate if bad else truth.baseline_error_rate
        lost = binomial(rng, calls, truth.hang_rate) if bad else 0
        canary_calls, hung = canary_calls + calls - lost, hung + lost
        canary_errors += binomial(rng, calls - lost, rate)
        baseline_calls += old
        baseline_errors += binomial(rng, old, truth.baseline_error_rate)
        if calls - lost:
            canary_mix.append((calls - lost, LATENCY_MEDIAN_MS * (truth.latency_ratio if bad else 1.0)))
    total = sum(w for w, _ in canary_mix)
    mix = [(w / total, m) for w, m in canary_mix] or [(1.0, LATENCY_MEDIAN_MS)]
    old_mix = [(1.0, LATENCY_MEDIAN_MS)]

    def window(calls: int, errors: int, medians: list[tuple[float, float]]) -> Window:
        return Window(invocations=calls, errors=errors, p50_ms=percentile_of(rng, calls, medians, 0.50),
                      p99_ms=percentile_of(rng, calls, medians, 0.99), average_ms=mean_of(rng, calls, medians))

    return Period(window(canary_calls, canary_errors, mix), window(baseline_calls, baseline_errors, old_mix),
                  canary_calls, baseline_calls)


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
                   interval=plan.check_interval_seconds, delay=plan.metric_delay_seconds)
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
    judgement = judge(plan, step, recent, [], span.coverage, first=span.first_coverage,
                      shares=(list(shares.values()), [shares[i] for i in latest if i in shares]), explain=False)
    return judgement.verdict, span


def simulate_release(plan: Plan, calls_per_minute: float, truth: Truth, rng: random.Random) -> Outcome:
    """One release of ``plan`` on an alias that ``calls_per_minute`` callers invoke, checked as the state machine
    checks it, on the periods settled at each check."""
    period = metric_period(plan.check_interval_seconds)
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
                # interval past each that a step needs to pass).
                step = passing_coverage(plan) + plan.metric_delay_seconds
                planned = (index + 1) * step + plan.check_interval_seconds
                return Outcome(ending, now, look, index, ending == "promoted" and now <= planned + timeline.length,
                               onset)
            if decision == "next-step":
                at = now
                break
            now += wait_for(span, _EPOCH + timedelta(seconds=now), plan.metric_delay_seconds, more)
        else:
            raise AssertionError("the decision came later than maxBakeSeconds")
    raise AssertionError("a release with no traffic steps has nothing to simulate")


# --- what the canary can see: the detection table of ``bluegreen plan`` ------------------------------------

# The regressions ``plan`` asks about: (name, error-rate factor, latency factor).
REGRESSIONS = (("errors 1.5x", 1.5, 1.0), ("errors 2x", 2.0, 1.0), ("errors 5x", 5.0, 1.0), ("latency 2x", 1.0, 2.0))
# Below this, "5x the old version's errors" means nothing: the regressions are simulated on it instead.
LOWEST_BASE_RATE = 0.001
# Releases ``plan`` simulates per truth.
PLAN_RELEASES = 200
TARGET_ON_TIME = 0.9
# The candidate bakes (times the input's) and first weights tried for TARGET_ON_TIME.
_BAKE_FACTORS = (1.5, 2, 3, 4, 6, 8, 12)
_FIRST_WEIGHTS = (20, 25, 33, 50, 75)
LONGEST_BAKE_SECONDS = 2 * 3600


def _share(outcomes: list[Outcome], ending: Ending) -> float:
    return sum(o.ending == ending for o in outcomes) / len(outcomes)


def _rng(seed: int, truth: Truth, traffic: Traffic) -> random.Random:
    """The same draws for the same question: a table, or a candidate tried for it, reads the same each run."""
    return random.Random(f"{seed}-{truth.name}-{traffic.calls_per_minute}")


def _run(plan: Plan, traffic: Traffic, truth: Truth, releases: int, seed: int) -> list[Outcome]:
    rng = _rng(seed, truth, traffic)
    return [simulate_release(plan, traffic.calls_per_minute, truth, rng) for _ in range(releases)]


def _first_step(plan: Plan, weight: int, bake: int) -> Plan:
    """The input's first traffic step alone, at ``weight`` for ``bake`` seconds: where traffic is thinnest."""
    interval = min(plan.health.check_interval_seconds, bake)
    max_bake = plan.health.max_bake_seconds or 2 * bake
    return plan.model_copy(update={"weights": [weight], "step_count": 1, "bake_seconds": bake,
                                   "check_interval_seconds": interval, "max_bake_seconds": max(max_bake, bake),
                                   "checks_planned": math.ceil(bake / interval),
                                   "first_check_seconds": first_check_seconds(interval, plan.metric_delay_seconds)})


def _mostly_on_time(plan: Plan, traffic: Traffic, healthy: Truth, releases: int, seed: int) -> bool:
    """Whether at least TARGET_ON_TIME of healthy releases are promoted within the planned bake; stops as soon
    as too many are late (most candidates tried are, and then a few dozen releases tell)."""
    rng = _rng(seed, healthy, traffic)
    allowed = releases - math.ceil(TARGET_ON_TIME * releases)
    late = 0
    for _ in range(releases):
        late += not simulate_release(plan, traffic.calls_per_minute, healthy, rng).on_time
        if late > allowed:
            return False
    return True


def detection(plan: Plan, traffic: Traffic, releases: int = PLAN_RELEASES, seed: int = 1) -> dict[str, object]:
    """What the input's strategy can see at this traffic, from simulated releases through the real
    ``judge`` and ``decide``: calls per step, the chance each regression is stopped before promotion,
    a healthy release's time, and the shortest bake or first weight at which a healthy release rules out
    mustRuleOut within its bake at least TARGET_ON_TIME of the time."""
    base = max(traffic.error_rate, LOWEST_BASE_RATE)
    healthy = Truth("healthy", False, traffic.error_rate, baseline_error_rate=traffic.error_rate)
    outcomes = _run(plan, traffic, healthy, releases, seed)
    promoted = [o.seconds / 60 for o in outcomes if o.ending == "promoted"]
    regressions = []
    for name, errors, latency in REGRESSIONS:
        found = _run(plan, traffic, Truth(name, True, min(1.0, base * errors), base, latency), releases, seed)
        regressions.append({"regression": name, "stoppedBeforePromotion": round(1 - _share(found, "promoted"), 3),
                            "provenWorse": round(_share(found, "proven-worse"), 3)})
    on_time = sum(o.on_time for o in outcomes) / releases
    advice: dict[str, object] = {"onTime": round(on_time, 3)}
    if on_time < TARGET_ON_TIME:
        advice.update(_advice(plan, traffic, healthy, releases, seed))
    return {
        "callsPerMinute": traffic.calls_per_minute, "oldVersionErrorRate": traffic.error_rate,
        "trafficFrom": traffic.source, "releasesSimulated": releases,
        "newVersionCallsPerStep": [round(traffic.calls_per_minute * w / 100 * plan.bake_seconds / 60)
                                   for w in plan.weights],
        "regressions": regressions,
        "healthy": {"promoted": round(len(promoted) / releases, 3), "promotedWithinPlannedBake": round(on_time, 3),
                    "notProvenHealthy": round(_share(outcomes, "not-proven"), 3),
                    "expectedMinutes": round(sum(promoted) / len(promoted), 1) if promoted else None},
        "toRuleOutMustRuleOut": advice,
    }


def _advice(plan: Plan, traffic: Traffic, healthy: Truth, releases: int, seed: int) -> dict[str, object]:
    """The shortest bake and the smallest first weight at which a healthy release rules out mustRuleOut within
    its bake at least TARGET_ON_TIME of the time (None: none tried does)."""
    first, bake = plan.weights[0], plan.bake_seconds
    bakes = sorted({min(round(bake * f), LONGEST_BAKE_SECONDS) for f in _BAKE_FACTORS})
    return {
        "longestBakeTriedSeconds": bakes[-1],
        "shortestBakeSeconds": next(
            (b for b in bakes if _mostly_on_time(_first_step(plan, first, b), traffic, healthy, releases, seed)), None),
        "smallestFirstWeight": next(
            (w for w in _FIRST_WEIGHTS if w > first
             and _mostly_on_time(_first_step(plan, w, bake), traffic, healthy, releases, seed)), None),
    }


# --- before a release starts: can its alias's traffic prove a healthy new version healthy? --------------------

# How unlucky a healthy new version may be, 19 releases in 20 (a one-sided normal quantile): on its errors and on
# its share of calls, so that both rules pass at the planned end 9 times in 10.
_UNLUCKY = 1.6449
_MOST_CALLS = 10_000_000


def _passes(plan: Plan, calls: int, weight: int, error_rate: float) -> bool:
    """Whether a healthy new version's error-rate and missing-calls rules pass, on ``calls`` of its own and the
    old version's in proportion, unlucky (9 releases in 10 see fewer errors, and a share of calls nearer its
    weight), at the level the step's pass budget opens with."""
    alpha = first_pass_level(plan.health.confidence, max(1, plan.step_count), 1, 2)
    old_calls = round(calls * (100 - weight) / weight)
    errors = round(calls * error_rate + _UNLUCKY * math.sqrt(calls * error_rate)) if error_rate else 0
    canary = Window(invocations=calls, errors=min(calls, errors))
    baseline = Window(invocations=old_calls, errors=round(old_calls * error_rate))
    total, share = calls + old_calls, weight / 100
    counted = round(total * share - _UNLUCKY * math.sqrt(total * share * (1 - share)))
    shares = [Share(max(0, counted), total, share)]
    return (error_rate_rule(canary, baseline, plan.health, 0.0, alpha).verdict == "pass"
            and missing_calls_rule(shares, plan.health, 0.0, alpha).verdict == "pass"
            and calls >= plan.health.min_invocations)


def calls_to_prove(plan: Plan, weight: int, error_rate: float) -> int | None:
    """The fewest calls of the new version at ``weight`` that prove a healthy one healthy, 9 times in 10 (None:
    more than any release gets)."""
    if not _passes(plan, _MOST_CALLS, weight, error_rate):
        return None
    low, high = 1, _MOST_CALLS
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if _passes(plan, middle, weight, error_rate) else (middle + 1, high)
    return low


@dataclass(frozen=True)
class Outlook:
    """What the alias's traffic lets the plan's first step prove: whether a healthy new version is proven healthy
    by maxBakeSeconds, and, when not, the first step that would prove it within its bake (weight, seconds)."""

    proven: bool
    calls_by_max_bake: int
    first_step: tuple[int, int] | None = None


# How often a suggested bake is lengthened until the simulation bears it out.
_SUGGESTION_TRIES = 4
# The first weights tried, and the longest bake suggested.
_SUGGESTED_WEIGHTS = (10, 20, 25, 33, 50, 75)
LONGEST_SUGGESTED_BAKE_SECONDS = 24 * 3600


def outlook(plan: Plan, traffic: Traffic) -> Outlook:
    """For publish, at once (no simulation): the new version's calls by maxBakeSeconds at the alias's traffic
    against the calls that prove a healthy one healthy; when too few, the quickest first step that gets enough
    within its bake, as ``plan`` would then show (its simulation is the judge of that)."""
    weight = plan.weights[0]
    per_second = traffic.calls_per_minute / 60
    by_max_bake = round(per_second * weight / 100 * plan.max_bake_seconds)
    needed = calls_to_prove(plan, weight, traffic.error_rate)
    if needed is not None and by_max_bake >= needed:
        return Outlook(True, by_max_bake)
    candidates = []
    for tried in sorted({weight, *(w for w in _SUGGESTED_WEIGHTS if w > weight)}):
        calls = calls_to_prove(plan, tried, traffic.error_rate)
        if calls is not None and per_second > 0:
            # Whole minutes, and the settled data of one interval more: the step passes once it covers the bake.
            bake = 60 * math.ceil((calls / (per_second * tried / 100) + plan.check_interval_seconds) / 60)
            if bake <= LONGEST_SUGGESTED_BAKE_SECONDS:
                candidates.append((bake, tried))
    if not candidates:
        return Outlook(False, by_max_bake)
    bake, tried = min(candidates)
    # The estimate, checked by the simulation ``plan`` runs (the same releases): longer until it holds.
    healthy = Truth("healthy", False, traffic.error_rate, baseline_error_rate=traffic.error_rate)
    for _ in range(_SUGGESTION_TRIES):
        if _mostly_on_time(_first_step(plan, tried, bake), traffic, healthy, PLAN_RELEASES, 1):
            return Outlook(False, by_max_bake, (tried, bake))
        bake = 60 * math.ceil(bake * 1.25 / 60)
    return Outlook(False, by_max_bake)
