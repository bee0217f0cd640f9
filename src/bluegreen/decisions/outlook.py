"""What the canary can see at an alias's traffic: the detection table of ``bluegreen plan``, the shortest first
step that proves a healthy version healthy in time, and the calls that takes (publish's InsufficientTraffic), each
from releases simulated by ``decisions.simulation``."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from bluegreen.contracts.state import Plan
from bluegreen.decisions.alias_traffic import Traffic
from bluegreen.decisions.missing_calls import missing_calls_rule
from bluegreen.decisions.settled import first_check_seconds
from bluegreen.decisions.simulation import Ending, Outcome, Truth, simulate_release
from bluegreen.decisions.spending import first_pass_level
from bluegreen.decisions.verdict import error_rate_rule
from bluegreen.decisions.windows import Share, Window

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


# A candidate bake is checked at most this often: the input's interval over a bake 12 times as long would be
# thousands of simulated checks per release (a 1 s interval tried for 2 hours), and publish has two minutes.
MAX_CANDIDATE_LOOKS = 10


def _first_step(plan: Plan, weight: int, bake: int) -> Plan:
    """The input's first traffic step alone, at ``weight`` for ``bake`` seconds: where traffic is thinnest."""
    max_bake = max(plan.health.max_bake_seconds or 2 * bake, bake)
    interval = max(min(plan.health.check_interval_seconds, bake), math.ceil(max_bake / MAX_CANDIDATE_LOOKS))
    return plan.model_copy(update={"weights": [weight], "step_count": 1, "bake_seconds": bake,
                                   "check_interval_seconds": interval, "max_bake_seconds": max_bake,
                                   "checks_planned": math.ceil(bake / interval),
                                   "first_check_seconds": first_check_seconds(interval, plan.metric_delay_seconds,
                                                                             plan.standard_resolution_seconds)})


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
