"""The latency rule: the new version's p99 (or, on few calls, its mean) against the old version's."""

from __future__ import annotations

import math

from bluegreen.contracts.health_config import HealthConfig
from bluegreen.decisions.stats import (
    critical_z,
    duration_cv,
)
from bluegreen.decisions.windows import Rule, Window, pass_level, times_text

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
        said = f"{stat} at most {times_text(bound)} the old version's"
        return Rule("latency", "pass", f"{numbers}: {said}", bound=said)
    if (bound - 1.0) * old < config.latency_margin_ms:
        # A few milliseconds more is not worth a rollback, whatever the ratio (latencyMarginMs).
        said = f"{stat} at most {(bound - 1.0) * old:.1f} ms above the old version's"
        return Rule("latency", "pass", f"{numbers}: {said}", bound=said)
    return Rule("latency", "inconclusive",
                f"{numbers}: cannot yet rule out a {stat} {tolerated:g}x the old version's (bound {times_text(bound)})")
