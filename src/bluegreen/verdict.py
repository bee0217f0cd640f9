"""The health rules: the new version (canary) judged against the old one (baseline) over one window.

Pure functions of the numbers, so that the unit tests and the decision-quality benchmark run the
very code the check-health Lambda runs. Each rule says pass or fail and why, in words and numbers;
only the evidence rule says "inconclusive". No evidence is never "healthy".
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from bluegreen.request import HealthConfig
from bluegreen.stats import (
    above_rate_p_value,
    critical_z,
    duration_cv,
    excess_rate_p_value,
    rate_lower_bound,
    rate_upper_bound,
    ratio_upper_bound,
)

Verdict = Literal["pass", "fail", "inconclusive"]
RuleName = Literal["alarms", "evidence", "error-rate", "error-ceiling", "latency", "throttles", "missing-calls"]


@dataclass(frozen=True)
class Window:
    """One version's numbers over a window of time."""

    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    average_ms: float | None = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.invocations if self.invocations else None

    @property
    def throttle_rate(self) -> float | None:
        requests = self.invocations + self.throttles
        return self.throttles / requests if requests else None


def invocation_weighted(values: Iterable[tuple[float | None, float]]) -> float | None:
    """A per-period statistic (p50, p99, mean) over several periods: each known value weighted by its
    period's invocations. None when no period has one."""
    known = [(value, weight) for value, weight in values if value is not None]
    total = sum(weight for _, weight in known)
    return sum(value * weight for value, weight in known) / total if total else None


@dataclass(frozen=True)
class Rule:
    rule: RuleName
    verdict: Verdict
    reason: str
    # What a pass ruled out, in words ("error rate at most 1.4x the old version's").
    bound: str | None = None


def _rate(window: Window) -> str:
    return f"{window.error_rate or 0.0:.2%} ({window.errors}/{window.invocations})"


def _p(value: float) -> str:
    return f"{value:.2g}"


def pass_level(config: HealthConfig) -> float:
    """The level at which a pass rules out mustRuleOut when the caller names none (a single look)."""
    return 1.0 - config.confidence


def evidence_rule(canary: Window, config: HealthConfig) -> Rule:
    if canary.invocations < config.min_invocations:
        return Rule("evidence", "inconclusive",
                    f"not enough evidence: {canary.invocations} invocation(s) of the new version, "
                    f"at least {config.min_invocations} needed")
    return Rule("evidence", "pass", f"{canary.invocations} invocations of the new version")


def _times(value: float) -> str:
    """A ratio as people read it: "1.04x", "17x", "unbounded"."""
    if math.isinf(value):
        return "unbounded"
    return f"{value:.2f}x" if value < 10 else f"{value:.3g}x"


def error_bounds(canary: Window, baseline: Window | None, alpha: float) -> tuple[float, float]:
    """(upper bound of the new version's error rate over the old one's, upper bound of how far above it
    it is), each at one-sided level ``alpha``; the difference splits it over both versions' bounds."""
    if baseline is None or not baseline.invocations:
        return math.inf, rate_upper_bound(canary.errors, canary.invocations, alpha)
    ratio = ratio_upper_bound(canary.errors, canary.invocations, baseline.errors, baseline.invocations, alpha)
    if not baseline.errors:
        # An old version with no errors: its rate's lower bound is 0 at any level, so the whole level goes to
        # the new version's bound (a function that never fails is judged on the absolute margin alone).
        return ratio, rate_upper_bound(canary.errors, canary.invocations, alpha)
    above = (rate_upper_bound(canary.errors, canary.invocations, alpha / 2)
             - rate_lower_bound(baseline.errors, baseline.invocations, alpha / 2))
    return ratio, above


def _error_tolerance(canary: Window, baseline: Window | None, config: HealthConfig, pass_alpha: float,
                     numbers: str) -> Rule:
    """Pass only when the evidence rules out the tolerated error rate; else inconclusive."""
    tolerance = config.must_rule_out
    ratio, above = error_bounds(canary, baseline, pass_alpha)
    if ratio < tolerance.error_rate_ratio:
        return Rule("error-rate", "pass", f"{numbers}: error rate at most {_times(ratio)} the old version's",
                    bound=f"error rate at most {_times(ratio)} the old version's")
    if above < tolerance.error_rate_margin:
        said = f"error rate at most {max(0.0, above):.2%} above the old version's"
        return Rule("error-rate", "pass", f"{numbers}: {said}", bound=said)
    return Rule("error-rate", "inconclusive",
                f"{numbers}: cannot yet rule out an error rate {tolerance.error_rate_ratio:g}x the old version's "
                f"or {tolerance.error_rate_margin:.2%} above it (bounds {_times(ratio)}, {max(0.0, above):.2%})")


def error_rate_rule(canary: Window, baseline: Window | None, config: HealthConfig, alpha: float,
                    pass_alpha: float | None = None) -> Rule:
    """Fails when worse than the baseline with confidence (exact conditional test at ``alpha``) AND by a
    practical margin; passes when the tolerance (mustRuleOut) is ruled out at ``pass_alpha``."""
    pass_alpha = pass_level(config) if pass_alpha is None else pass_alpha
    if not canary.invocations:
        return Rule("error-rate", "inconclusive", "no calls of the new version yet")
    numbers = f"error rate {_rate(canary)}" + (f" vs baseline {_rate(baseline)}" if baseline else "")
    if baseline is None or not baseline.invocations:
        return _error_tolerance(canary, None, config, pass_alpha, numbers + ", no baseline traffic")
    p_value = excess_rate_p_value(canary.errors, canary.invocations, baseline.errors, baseline.invocations)
    worse_by = (canary.error_rate or 0.0) - (baseline.error_rate or 0.0)
    if p_value is not None and p_value < alpha and worse_by > config.error_rate_margin:
        return Rule("error-rate", "fail",
                    f"{numbers}: worse by {worse_by:.2%} (margin {config.error_rate_margin:.2%}), "
                    f"p={_p(p_value)} < {_p(alpha)}")
    return _error_tolerance(canary, baseline, config, pass_alpha, numbers)


# The ceiling's share of a window's level: a backstop beside the comparison with the old version, which
# a version failing exactly as often as the ceiling would otherwise trip at the full level.
CEILING_SHARE = 0.25


def error_ceiling_rule(canary: Window, baseline: Window | None, config: HealthConfig, alpha: float) -> Rule:
    """Confidently above ``maxErrorRate`` fails, unless the baseline is above it as well."""
    alpha *= CEILING_SHARE
    p_value = above_rate_p_value(canary.errors, canary.invocations, config.max_error_rate)
    if p_value is None or p_value >= alpha:
        return Rule("error-ceiling", "pass",
                    f"error rate {_rate(canary)} not above the maximum {config.max_error_rate:.2%} with confidence")
    if baseline is not None and baseline.invocations and (baseline.error_rate or 0.0) > config.max_error_rate:
        # The fix-during-incident case: the old version fails too, and the new one is no worse
        # (the error-rate rule fails it otherwise).
        return Rule("error-ceiling", "pass",
                    f"error rate {_rate(canary)} is above the maximum {config.max_error_rate:.2%}, "
                    f"but so is the baseline's {_rate(baseline)}")
    return Rule("error-ceiling", "fail",
                f"error rate {_rate(canary)} is above the maximum {config.max_error_rate:.2%} "
                f"(p={_p(p_value)} < {_p(alpha)})")


# A 99th percentile is an estimate of the slowest 1% of calls: trust it with at least this many of
# them in the window (2,000 calls), else judge the mean, whose noise shrinks with every call.
PERCENTILE_TAIL_CALLS = 20
P99_MIN_CALLS = round(PERCENTILE_TAIL_CALLS / (1 - 0.99))


def _latency_pair(canary: Window, baseline: Window) -> tuple[str, float, float] | None:
    enough = min(canary.invocations, baseline.invocations) >= P99_MIN_CALLS
    if enough and canary.p99_ms is not None and baseline.p99_ms is not None:
        return "p99", canary.p99_ms, baseline.p99_ms
    if canary.average_ms is not None and baseline.average_ms is not None:
        return "mean", canary.average_ms, baseline.average_ms
    return None


def _mean_noise(canary: Window, baseline: Window) -> float:
    """How much the log of the means' ratio wobbles: a mean of n calls by CV / sqrt(n), the CV from each
    version's mean and median."""
    assert canary.average_ms is not None and baseline.average_ms is not None
    return math.sqrt(duration_cv(canary.average_ms, canary.p50_ms) ** 2 / max(1, canary.invocations)
                     + duration_cv(baseline.average_ms, baseline.p50_ms) ** 2 / max(1, baseline.invocations))


def _mean_confidently_above(canary: Window, baseline: Window, ratio: float, alpha: float) -> bool:
    """Is the canary's mean above ``ratio`` times the baseline's beyond its noise?"""
    assert canary.average_ms is not None and baseline.average_ms is not None
    if canary.average_ms <= 0 or baseline.average_ms <= 0:
        return canary.average_ms > 0
    excess = math.log(canary.average_ms / baseline.average_ms) - math.log(ratio)
    return excess > critical_z(alpha) * _mean_noise(canary, baseline)


def latency_bound(canary: Window, baseline: Window, stat: str, alpha: float) -> float:
    """Upper bound of the new version's duration over the old one's: p99s (from 2,000 calls) as they are,
    means with their noise at one-sided level ``alpha``."""
    new, old = (canary.p99_ms, baseline.p99_ms) if stat == "p99" else (canary.average_ms, baseline.average_ms)
    assert new is not None and old is not None
    if old <= 0:
        return 1.0 if new <= 0 else math.inf
    if stat == "p99" or new <= 0:
        return new / old
    return math.exp(math.log(new / old) + critical_z(alpha) * _mean_noise(canary, baseline))


def latency_rule(canary: Window, baseline: Window | None, config: HealthConfig, alpha: float,
                 pass_alpha: float | None = None) -> Rule:
    """p99 above the baseline's by the ratio AND the margin fails. Below 2,000 calls (or without
    percentiles) the mean is judged instead, and must be above the ratio beyond its noise. Passes when
    the duration is confidently below mustRuleOut's latencyRatio."""
    pass_alpha = pass_level(config) if pass_alpha is None else pass_alpha
    if canary.invocations < config.min_invocations:
        return Rule("latency", "inconclusive", "too few invocations to judge latency")
    pair = _latency_pair(canary, baseline) if baseline is not None else None
    if pair is None or baseline is None:
        return Rule("latency", "pass", "no latency of both versions to compare")
    stat, new, old = pair
    numbers = f"{stat} duration {new:.1f} ms vs baseline {old:.1f} ms"
    confident = stat == "p99" or _mean_confidently_above(canary, baseline, config.max_latency_ratio, alpha)
    if new > old * config.max_latency_ratio and new - old > config.latency_margin_ms and confident:
        return Rule("latency", "fail",
                    f"{numbers}: {new / old if old else float('inf'):.2f}x, above {config.max_latency_ratio}x "
                    f"and {config.latency_margin_ms:g} ms more")
    bound = latency_bound(canary, baseline, stat, pass_alpha)
    tolerated = config.must_rule_out.latency_ratio
    if bound < tolerated:
        said = f"{stat} at most {_times(bound)} the old version's"
        return Rule("latency", "pass", f"{numbers}: {said}", bound=said)
    if (bound - 1.0) * old < config.latency_margin_ms:
        # A few milliseconds more is not worth a rollback, whatever the ratio (latencyMarginMs).
        said = f"{stat} at most {(bound - 1.0) * old:.1f} ms above the old version's"
        return Rule("latency", "pass", f"{numbers}: {said}", bound=said)
    return Rule("latency", "inconclusive",
                f"{numbers}: cannot yet rule out a {stat} {tolerated:g}x the old version's (bound {_times(bound)})")


def throttle_rule(canary: Window, config: HealthConfig, alpha: float, pass_alpha: float | None = None) -> Rule:
    pass_alpha = pass_level(config) if pass_alpha is None else pass_alpha
    requests = canary.invocations + canary.throttles
    p_value = above_rate_p_value(canary.throttles, requests, config.max_throttle_rate)
    numbers = f"{canary.throttles} of {requests} requests throttled"
    if p_value is not None and p_value < alpha:
        return Rule("throttles", "fail", f"{numbers}: above the maximum {config.max_throttle_rate:.2%}")
    bound = rate_upper_bound(canary.throttles, requests, pass_alpha)
    tolerated = config.must_rule_out.throttle_rate
    if bound < tolerated:
        return Rule("throttles", "pass", f"{numbers}: at most {bound:.2%}")
    return Rule("throttles", "inconclusive",
                f"{numbers}: cannot yet rule out {tolerated:.0%} throttled (bound {bound:.2%})")


@dataclass(frozen=True)
class Share:
    """One settled period's requests (invocations and throttles) of the new version and of the alias, and the
    share of the alias's requests the weights routed to the new version then (Lambda routes each call by them,
    at random)."""

    canary: int
    total: int
    expected: float


def _routed(expected: float, missing: float) -> float:
    """The new version's share of the *counted* requests when ``missing`` of its own never come back."""
    kept = expected * (1.0 - missing)
    return kept / (kept + 1.0 - expected) if kept + 1.0 - expected > 0 else 0.0


def _shortfall_z(shares: list[Share], missing: float) -> float:
    """How many standard deviations the new version's counted requests are above what ``missing`` predicts."""
    mean = sum(s.total * _routed(s.expected, missing) for s in shares)
    variance = sum(s.total * _routed(s.expected, missing) * (1.0 - _routed(s.expected, missing)) for s in shares)
    counted = sum(s.canary for s in shares)
    return (counted - mean) / math.sqrt(variance) if variance > 0 else (math.inf if counted > mean else -math.inf)


def _missing_at(shares: list[Share], z: float) -> float:
    """The missing share at which the counted requests stand ``z`` standard deviations above the prediction
    (z = 0: the estimate; z = critical: the upper bound), by bisection: the prediction falls as it grows."""
    low, high = 0.0, 1.0
    if _shortfall_z(shares, low) >= z:
        return 0.0
    for _ in range(60):
        middle = (low + high) / 2
        if _shortfall_z(shares, middle) < z:
            low = middle
        else:
            high = middle
    return high


# Fewer routed requests than this expected of the new version tell nothing about missing ones.
MIN_EXPECTED_CALLS = 10


def missing_calls_rule(shares: list[Share], config: HealthConfig, alpha: float,
                       pass_alpha: float | None = None) -> Rule:
    """Calls that never come back: a call that hangs shows no Invocations, Errors or Duration until it ends. The
    new version's share of the alias's settled requests is compared with the share its weight routed to it
    (binomial, per period): confidently short by more than ``maxMissingShare`` fails; a pass needs the shortfall
    ruled out up to ``mustRuleOut.missingShare``."""
    pass_alpha = pass_level(config) if pass_alpha is None else pass_alpha
    expected = sum(s.total * s.expected for s in shares)
    counted = sum(s.canary for s in shares)
    if expected < MIN_EXPECTED_CALLS:
        return Rule("missing-calls", "inconclusive",
                    f"too few settled calls to tell whether the new version's calls all complete ({counted} of "
                    f"about {expected:.0f} routed to it)")
    estimate = _missing_at(shares, 0.0)
    numbers = f"{counted:,} of the new version's calls completed, {expected:,.0f} expected from its weight"
    p_value = NormalDist().cdf(_shortfall_z(shares, 0.0))
    if p_value < alpha and estimate > config.max_missing_share:
        return Rule("missing-calls", "fail",
                    f"{numbers}: {estimate:.1%} of the new version's calls have not completed (hanging, or running "
                    f"longer than the metrics' delay), above {config.max_missing_share:.0%} (p={_p(p_value)} "
                    f"< {_p(alpha)})")
    bound = _missing_at(shares, critical_z(pass_alpha))
    tolerated = config.must_rule_out.missing_share
    if bound < tolerated:
        said = f"at most {bound:.1%} of the new version's calls missing"
        return Rule("missing-calls", "pass", f"{numbers}: {said}", bound=said)
    return Rule("missing-calls", "inconclusive",
                f"{numbers}: cannot yet rule out {tolerated:.0%} of the new version's calls not completing "
                f"(bound {bound:.1%})")


def judge_window(canary: Window, baseline: Window | None, config: HealthConfig, alpha: float,
                 pass_alpha: float | None = None) -> list[Rule]:
    """Every rule over one window: ``alpha`` is this window's level for proving harm (its share of the
    release's budget), ``pass_alpha`` the level at which a pass rules out mustRuleOut (default
    1 - confidence)."""
    return [
        evidence_rule(canary, config),
        error_rate_rule(canary, baseline, config, alpha, pass_alpha),
        error_ceiling_rule(canary, baseline, config, alpha),
        latency_rule(canary, baseline, config, alpha, pass_alpha),
        throttle_rule(canary, config, alpha, pass_alpha),
    ]


def ruled_out(rules: list[Rule], confidence: float) -> str:
    """What a pass's evidence excluded, in words: "error rate at most 1.4x the old version's and p99 at
    most 1.1x the old version's (99% confidence)"."""
    bounds = [r.bound for r in rules if r.bound]
    return f"{' and '.join(bounds)} ({confidence * 100:.4g}% confidence)" if bounds else ""


def alarm_rule(in_alarm: list[str], ignored: list[str]) -> Rule:
    judged = [a for a in in_alarm if a not in ignored]
    if judged:
        return Rule("alarms", "fail", f"alarm(s) in ALARM: {', '.join(judged)}")
    if in_alarm:
        return Rule("alarms", "pass", f"only alarm(s) already in ALARM at the start: {', '.join(in_alarm)}")
    return Rule("alarms", "pass", "no alarm in ALARM")


def overall(rules: list[Rule]) -> tuple[Verdict, str]:
    """Fail if any rule fails (even on little evidence: a proven regression needs no more);
    else inconclusive without enough evidence; else pass."""
    failed = [r for r in rules if r.verdict == "fail"]
    if failed:
        return "fail", "; ".join(dict.fromkeys(r.reason for r in failed))
    unsure = [r for r in rules if r.verdict == "inconclusive"]
    if unsure:
        return "inconclusive", unsure[0].reason
    return "pass", "; ".join(r.reason for r in rules if r.rule in ("error-rate", "latency"))
