"""The health rules: the new version (canary) judged against the old one (baseline) over one window.

Pure functions of the numbers, so that the unit tests and the decision-quality benchmark run the
very code the check-health Lambda runs. Each rule says pass or fail and why, in words and numbers;
only the evidence rule says "inconclusive". No evidence is never "healthy".
"""

from __future__ import annotations

import math

from bluegreen.contracts.health_config import HealthConfig
from bluegreen.contracts.health_report import Verdict
from bluegreen.decisions.latency import latency_rule
from bluegreen.decisions.stats import (
    above_rate_p_value,
    excess_rate_p_value,
    rate_lower_bound,
    rate_upper_bound,
    ratio_upper_bound,
)
from bluegreen.decisions.windows import Rule, Window, p_text, pass_level, rate_text, times_text


def evidence_rule(canary: Window, config: HealthConfig) -> Rule:
    if canary.invocations < config.min_invocations:
        return Rule("evidence", "inconclusive",
                    f"not enough evidence: {canary.invocations} invocation(s) of the new version, "
                    f"at least {config.min_invocations} needed")
    return Rule("evidence", "pass", f"{canary.invocations} invocations of the new version")


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
        return Rule("error-rate", "pass", f"{numbers}: error rate at most {times_text(ratio)} the old version's",
                    bound=f"error rate at most {times_text(ratio)} the old version's")
    if above < tolerance.error_rate_margin:
        said = f"error rate at most {max(0.0, above):.2%} above the old version's"
        return Rule("error-rate", "pass", f"{numbers}: {said}", bound=said)
    return Rule("error-rate", "inconclusive",
                f"{numbers}: cannot yet rule out an error rate {tolerance.error_rate_ratio:g}x the old version's "
                f"or {tolerance.error_rate_margin:.2%} above it (bounds {times_text(ratio)}, {max(0.0, above):.2%})")


def error_rate_rule(canary: Window, baseline: Window | None, config: HealthConfig, alpha: float,
                    pass_alpha: float | None = None) -> Rule:
    """Fails when worse than the baseline with confidence (exact conditional test at ``alpha``) AND by a
    practical margin; passes when the tolerance (mustRuleOut) is ruled out at ``pass_alpha``."""
    pass_alpha = pass_level(config) if pass_alpha is None else pass_alpha
    if not canary.invocations:
        return Rule("error-rate", "inconclusive", "no calls of the new version yet")
    numbers = f"error rate {rate_text(canary)}" + (f" vs baseline {rate_text(baseline)}" if baseline else "")
    if baseline is None or not baseline.invocations:
        return _error_tolerance(canary, None, config, pass_alpha, numbers + ", no baseline traffic")
    p_value = excess_rate_p_value(canary.errors, canary.invocations, baseline.errors, baseline.invocations)
    worse_by = (canary.error_rate or 0.0) - (baseline.error_rate or 0.0)
    if p_value is not None and p_value < alpha and worse_by > config.error_rate_margin:
        return Rule("error-rate", "fail",
                    f"{numbers}: worse by {worse_by:.2%} (margin {config.error_rate_margin:.2%}), "
                    f"p={p_text(p_value)} < {p_text(alpha)}")
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
                    f"error rate {rate_text(canary)} not above the maximum {config.max_error_rate:.2%} with confidence")
    if baseline is not None and baseline.invocations and (baseline.error_rate or 0.0) > config.max_error_rate:
        # The fix-during-incident case: the old version fails too, and the new one is no worse
        # (the error-rate rule fails it otherwise).
        return Rule("error-ceiling", "pass",
                    f"error rate {rate_text(canary)} is above the maximum {config.max_error_rate:.2%}, "
                    f"but so is the baseline's {rate_text(baseline)}")
    return Rule("error-ceiling", "fail",
                f"error rate {rate_text(canary)} is above the maximum {config.max_error_rate:.2%} "
                f"(p={p_text(p_value)} < {p_text(alpha)})")


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
    return "pass", "; ".join(r.reason for r in rules if r.rule in ("error-rate", "latency", "metric-rate",
                                                                   "metric-latency"))
