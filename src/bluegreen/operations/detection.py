"""Simulated releases with a known truth, judged by the check Lambda's own ``judge`` and ``decide``.

One engine for ``bluegreen plan`` (what the canary can see at your traffic) and for the decision-quality
benchmark: every check interval, the new version (canary) and the old one (baseline) get Poisson
traffic and errors at their true rates, and a p50/p99 drawn exactly as order statistics of that
interval's log-normal durations; the release then goes through its steps as the state machine runs
them (bake, next step, promote, roll back, ask), on the very code that decides in AWS.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from bluegreen.health import decide, judge
from bluegreen.state import Plan, Progress
from bluegreen.verdict import Window, invocation_weighted

LATENCY_MEDIAN_MS = 50.0
LATENCY_SIGMA = 0.5  # log-normal spread: p99 about 3.2x the median
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Truth:
    """How the new version really behaves, against an old version failing ``baseline_error_rate``:
    from ``onset_seconds`` into the release (before then, exactly like the old one)."""

    name: str
    regressed: bool
    canary_error_rate: float
    baseline_error_rate: float = 0.01
    latency_ratio: float = 1.0
    onset_seconds: int = 0


Ending = Literal["promoted", "proven-worse", "not-proven"]


@dataclass(frozen=True)
class Outcome:
    """How a simulated release ended: promoted; rolled back (or asked) because the new version was proven
    worse; or rolled back (or asked) because maxBakeSeconds passed without the evidence ruling out
    mustRuleOut. ``seconds`` from the start of the release; ``looks`` of the step it ended in."""

    ending: Ending
    seconds: int
    looks: int
    step_index: int
    on_time: bool  # promoted when the planned bakes ended, without extensions


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


def percentile_of(rng: random.Random, calls: int, median_ms: float, rank: float) -> float | None:
    """The nearest-rank percentile of ``calls`` log-normal durations, drawn in O(1):
    the k-th smallest of n uniforms is Beta(k, n - k + 1)."""
    if calls == 0:
        return None
    k = max(1, math.ceil(rank * calls))
    u = rng.betavariate(k, calls - k + 1)
    return median_ms * math.exp(LATENCY_SIGMA * _NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12)))


def mean_of(rng: random.Random, calls: int, median_ms: float) -> float | None:
    """The mean of ``calls`` log-normal durations (central limit: normal around the true mean)."""
    if calls == 0:
        return None
    mean = median_ms * math.exp(LATENCY_SIGMA**2 / 2)
    spread = mean * math.sqrt(math.exp(LATENCY_SIGMA**2) - 1) / math.sqrt(calls)
    return max(0.0, rng.gauss(mean, spread))


def simulate_version(rng: random.Random, expected_calls: float, error_rate: float, median_ms: float) -> Window:
    calls = poisson(rng, expected_calls)
    errors = min(calls, poisson(rng, calls * error_rate))
    return Window(invocations=calls, errors=errors, p50_ms=percentile_of(rng, calls, median_ms, 0.50),
                  p99_ms=percentile_of(rng, calls, median_ms, 0.99), average_ms=mean_of(rng, calls, median_ms))


def combined(parts: list[Window]) -> Window:
    """Several intervals as one window, as the evidence module aggregates CloudWatch periods."""
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


def simulate_release(plan: Plan, calls_per_minute: float, truth: Truth, rng: random.Random) -> Outcome:
    """One release of ``plan`` on an alias that ``calls_per_minute`` callers invoke, checked every interval."""
    interval = plan.check_interval_seconds
    looks = math.ceil(plan.max_bake_seconds / interval)
    at = 0
    for index, weight in enumerate(plan.weights):
        last = index == len(plan.weights) - 1
        progress = Progress(step_index=index, weight=weight, next_step_index=index + 1, is_last_step=last)
        per_interval = calls_per_minute * interval / 60
        canary: list[Window] = []
        baseline: list[Window] = []
        for look in range(1, looks + 1):
            elapsed = look * interval
            bad = at + elapsed > truth.onset_seconds
            canary.append(simulate_version(rng, per_interval * weight / 100,
                                           truth.canary_error_rate if bad else truth.baseline_error_rate,
                                           LATENCY_MEDIAN_MS * (truth.latency_ratio if bad else 1.0)))
            baseline.append(simulate_version(rng, per_interval * (100 - weight) / 100, truth.baseline_error_rate,
                                             LATENCY_MEDIAN_MS))
            recent = (canary[-1], baseline[-1]) if look > 1 else None
            judgement = judge(plan, (combined(canary), combined(baseline)), recent, [], elapsed,
                              explain=False)
            decision, _ = decide(plan, progress, judgement.verdict, elapsed)
            ending = _ending(decision, judgement.verdict)
            if ending is not None:
                # Each step bakes at least its planned time: no more in all means no step was extended.
                on_time = ending == "promoted" and at + elapsed <= len(plan.weights) * plan.bake_seconds
                return Outcome(ending, at + elapsed, look, index, on_time)
            if decision == "next-step":
                at += elapsed
                break
        else:
            raise AssertionError("the decision came later than maxBakeSeconds")
    raise AssertionError("a release with no traffic steps has nothing to simulate")


# --- what the canary can see: the detection table of ``bluegreen plan`` ------------------------------------

# The regressions ``plan`` asks about: (name, error-rate factor, latency factor).
REGRESSIONS = (("errors 1.5x", 1.5, 1.0), ("errors 2x", 2.0, 1.0), ("errors 5x", 5.0, 1.0), ("latency 2x", 1.0, 2.0))
# Below this, "5x the old version's errors" means nothing: the regressions are simulated on it instead.
LOWEST_BASE_RATE = 0.001
TARGET_ON_TIME = 0.9
# The candidate bakes (times the input's) and first weights tried for TARGET_ON_TIME.
_BAKE_FACTORS = (1.5, 2, 3, 4, 6, 8, 12)
_FIRST_WEIGHTS = (20, 25, 33, 50, 75)
LONGEST_BAKE_SECONDS = 2 * 3600


@dataclass(frozen=True)
class Traffic:
    """The alias's calls per minute (every version) and the old version's error rate, and where they came
    from ("the last hour", or "given")."""

    calls_per_minute: float
    error_rate: float
    source: str


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
                                   "checks_planned": math.ceil(bake / interval)})


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


def detection(plan: Plan, traffic: Traffic, releases: int = 200, seed: int = 1) -> dict[str, object]:
    """What the input's strategy can see at this traffic, from simulated releases through the real
    ``judge`` and ``decide``: calls per step, the chance each regression is stopped before promotion,
    a healthy release's time, and the shortest bake or first weight at which a healthy release rules out
    mustRuleOut within its bake at least TARGET_ON_TIME of the time."""
    base = max(traffic.error_rate, LOWEST_BASE_RATE)
    healthy = Truth("healthy", False, base, baseline_error_rate=base)
    outcomes = _run(plan, traffic, healthy, releases, seed)
    promoted = [o.seconds / 60 for o in outcomes if o.ending == "promoted"]
    regressions = []
    for name, errors, latency in REGRESSIONS:
        found = _run(plan, traffic, Truth(name, True, min(1.0, base * errors), base, latency), releases, seed)
        regressions.append({"regression": name, "stoppedBeforePromotion": round(1 - _share(found, "promoted"), 3),
                            "provenWorse": round(_share(found, "proven-worse"), 3)})
    first, bake = plan.weights[0], plan.bake_seconds
    on_time = sum(o.on_time for o in outcomes) / releases
    advice: dict[str, object] = {"onTime": round(on_time, 3)}
    if on_time < TARGET_ON_TIME:
        bakes = sorted({min(round(bake * f), LONGEST_BAKE_SECONDS) for f in _BAKE_FACTORS})
        advice["longestBakeTriedSeconds"] = bakes[-1]
        advice["shortestBakeSeconds"] = next(
            (b for b in bakes if _mostly_on_time(_first_step(plan, first, b), traffic, healthy, releases, seed)), None)
        advice["smallestFirstWeight"] = next(
            (w for w in _FIRST_WEIGHTS if w > first
             and _mostly_on_time(_first_step(plan, w, bake), traffic, healthy, releases, seed)), None)
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
