"""The health rules: the new version (canary) judged against the old one (baseline) over one window.

Pure functions of the numbers, so that the unit tests and the decision-quality benchmark run the
very code the check-health Lambda runs. Each rule says pass or fail and why, in words and numbers;
only the evidence rule says "inconclusive". No evidence is never "healthy".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from bluegreen.request import HealthConfig
from bluegreen.stats import above_rate_p_value, critical_z, duration_cv, excess_rate_p_value

Verdict = Literal["pass", "fail", "inconclusive"]
RuleName = Literal["alarms", "evidence", "error-rate", "error-ceiling", "latency", "throttles"]


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


@dataclass(frozen=True)
class Rule:
    rule: RuleName
    verdict: Verdict
    reason: str


def _rate(window: Window) -> str:
    return f"{window.error_rate or 0.0:.2%} ({window.errors}/{window.invocations})"


def _p(value: float) -> str:
    return f"{value:.2g}"


def evidence_rule(canary: Window, config: HealthConfig) -> Rule:
    if canary.invocations < config.min_invocations:
        return Rule("evidence", "inconclusive",
                    f"not enough evidence: {canary.invocations} invocation(s) of the new version, "
                    f"at least {config.min_invocations} needed")
    return Rule("evidence", "pass", f"{canary.invocations} invocations of the new version")


def error_rate_rule(canary: Window, baseline: Window | None, config: HealthConfig, alpha: float) -> Rule:
    """Worse than the baseline with confidence (exact conditional test) AND by a practical margin."""
    if baseline is None or not baseline.invocations:
        return Rule("error-rate", "pass", "no baseline traffic to compare with: the ceiling alone applies")
    p_value = excess_rate_p_value(canary.errors, canary.invocations, baseline.errors, baseline.invocations)
    if p_value is None:
        return Rule("error-rate", "pass", "no canary traffic yet")
    worse_by = (canary.error_rate or 0.0) - (baseline.error_rate or 0.0)
    numbers = f"error rate {_rate(canary)} vs baseline {_rate(baseline)}"
    if p_value < alpha and worse_by > config.error_rate_margin:
        return Rule("error-rate", "fail",
                    f"{numbers}: worse by {worse_by:.2%} (margin {config.error_rate_margin:.2%}), "
                    f"p={_p(p_value)} < {_p(alpha)}")
    why = "not significantly worse" if p_value >= alpha else f"within the margin {config.error_rate_margin:.2%}"
    return Rule("error-rate", "pass", f"{numbers}: {why} (p={_p(p_value)})")


def error_ceiling_rule(canary: Window, baseline: Window | None, config: HealthConfig, alpha: float) -> Rule:
    """Confidently above ``maxErrorRate`` fails, unless the baseline is above it as well."""
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


def _mean_confidently_above(canary: Window, baseline: Window, ratio: float, alpha: float) -> bool:
    """Is the canary's mean above ``ratio`` times the baseline's beyond its noise? A mean of n calls
    wobbles by CV / sqrt(n) (in log terms); the CV comes from each version's mean and median."""
    assert canary.average_ms is not None and baseline.average_ms is not None
    if canary.average_ms <= 0 or baseline.average_ms <= 0:
        return canary.average_ms > 0
    noise = math.sqrt(duration_cv(canary.average_ms, canary.p50_ms) ** 2 / canary.invocations
                      + duration_cv(baseline.average_ms, baseline.p50_ms) ** 2 / max(1, baseline.invocations))
    excess = math.log(canary.average_ms / baseline.average_ms) - math.log(ratio)
    return excess > critical_z(alpha) * noise


def latency_rule(canary: Window, baseline: Window | None, config: HealthConfig, alpha: float) -> Rule:
    """p99 above the baseline's by the ratio AND the margin fails. Below 2,000 calls (or without
    percentiles) the mean is judged instead, and must be above the ratio beyond its noise."""
    if canary.invocations < config.min_invocations:
        return Rule("latency", "pass", "too few invocations to judge latency")
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
    return Rule("latency", "pass", f"{numbers}: within {config.max_latency_ratio}x")


def throttle_rule(canary: Window, config: HealthConfig, alpha: float) -> Rule:
    requests = canary.invocations + canary.throttles
    p_value = above_rate_p_value(canary.throttles, requests, config.max_throttle_rate)
    numbers = f"{canary.throttles} of {requests} requests throttled"
    if p_value is not None and p_value < alpha:
        return Rule("throttles", "fail", f"{numbers}: above the maximum {config.max_throttle_rate:.2%}")
    return Rule("throttles", "pass", f"{numbers}: within {config.max_throttle_rate:.2%}")


def judge_window(canary: Window, baseline: Window | None, config: HealthConfig, alpha: float) -> list[Rule]:
    """Every rule over one window; ``alpha`` is this window's share of the release's error budget."""
    return [
        evidence_rule(canary, config),
        error_rate_rule(canary, baseline, config, alpha),
        error_ceiling_rule(canary, baseline, config, alpha),
        latency_rule(canary, baseline, config, alpha),
        throttle_rule(canary, config, alpha),
    ]


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
