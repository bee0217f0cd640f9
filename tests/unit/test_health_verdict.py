"""The health rules on synthetic numbers: every rule, both ways, and the edge cases."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from bluegreen.aws.evidence import Series
from bluegreen.contracts.health_config import HealthConfig
from bluegreen.decisions.settled import metric_period
from bluegreen.decisions.stats import binomial_upper_tail, excess_rate_p_value
from bluegreen.decisions.verdict import alarm_rule, judge_window, overall
from bluegreen.decisions.windows import Window

CONFIG = HealthConfig()
ALPHA = 0.001  # one check's share of a 99% release


def verdict(canary: Window, baseline: Window | None, config: HealthConfig = CONFIG) -> tuple[str, str]:
    return overall(judge_window(canary, baseline, config, ALPHA))


def rule(canary: Window, baseline: Window | None, name: str, config: HealthConfig = CONFIG) -> str:
    return next(r.verdict for r in judge_window(canary, baseline, config, ALPHA) if r.rule == name)


HEALTHY_BASELINE = Window(invocations=9000, errors=45, p99_ms=40.0, average_ms=20.0)  # 0.5% errors


# --- evidence -----------------------------------------------------------------------------------

def test_zero_invocations_is_inconclusive_never_healthy() -> None:
    result, reason = verdict(Window(), HEALTHY_BASELINE)
    assert result == "inconclusive"
    assert "0 invocation(s)" in reason and "at least 20" in reason


def test_below_min_invocations_is_inconclusive_even_with_no_errors() -> None:
    assert verdict(Window(invocations=19, p99_ms=40.0), HEALTHY_BASELINE)[0] == "inconclusive"
    # 20 calls make the floor, but 0 errors in 20 cannot rule out 5x a 0.5% baseline: a pass needs evidence.
    result, reason = verdict(Window(invocations=20, p99_ms=40.0, average_ms=20.0), HEALTHY_BASELINE)
    assert result == "inconclusive" and "cannot yet rule out an error rate 5x the old version's" in reason
    result, reason = verdict(Window(invocations=2000, errors=8, p99_ms=40.0, average_ms=20.0), HEALTHY_BASELINE)
    assert result == "pass" and "error rate at most" in reason


def test_proven_regression_fails_before_min_invocations() -> None:
    # 10 calls, all failing, against a healthy baseline: no more evidence needed.
    assert verdict(Window(invocations=10, errors=10), HEALTHY_BASELINE)[0] == "fail"


# --- error rate against the baseline -------------------------------------------------------------

def test_canary_significantly_worse_by_more_than_the_margin_fails() -> None:
    result, reason = verdict(Window(invocations=1000, errors=30, p99_ms=40.0), HEALTHY_BASELINE)
    assert result == "fail"
    assert "3.00% (30/1000) vs baseline 0.50% (45/9000)" in reason and "p=" in reason


def test_significant_but_smaller_than_the_margin_passes() -> None:
    # 0.3% vs 0.1% on a million calls is certain, and not worth a rollback at a 0.5-point margin.
    baseline = Window(invocations=9_000_000, errors=9000)
    canary = Window(invocations=1_000_000, errors=3000)
    assert rule(canary, baseline, "error-rate") == "pass"
    assert rule(canary, baseline, "error-rate", HealthConfig(error_rate_margin=0.001)) == "fail"


def test_worse_by_the_margin_but_not_significant_bakes_on() -> None:
    # 1 error in 25 calls (4%) is not evidence against a 0.5% baseline at this confidence, nor of health.
    assert rule(Window(invocations=25, errors=1), HEALTHY_BASELINE, "error-rate") == "inconclusive"


def test_baseline_with_no_traffic_leaves_the_ceiling_to_judge() -> None:
    rules = judge_window(Window(invocations=500, errors=50), Window(), CONFIG, ALPHA)
    by_name = {r.rule: r for r in rules}
    assert by_name["error-rate"].verdict == "inconclusive" and "no baseline traffic" in by_name["error-rate"].reason
    assert by_name["error-ceiling"].verdict == "fail"
    # Without a baseline, only the margin can be ruled out: 1 error in 1,000 is at most 0.66% (99%).
    assert verdict(Window(invocations=1000, errors=1, p99_ms=40.0), None)[0] == "pass"


# --- absolute ceiling ------------------------------------------------------------------------------

def test_confidently_above_the_ceiling_fails_even_when_the_baseline_is_as_bad() -> None:
    baseline = Window(invocations=9000, errors=270)  # 3%, above the 1% ceiling
    canary = Window(invocations=1000, errors=60)  # 6%: worse than the baseline too
    result, reason = verdict(canary, baseline)
    assert result == "fail" and "vs baseline 3.00%" in reason


def test_baseline_erroring_does_not_doom_a_release_that_is_no_worse() -> None:
    # The fix-during-incident case: both at 5% errors, the ceiling is 1%.
    baseline = Window(invocations=9000, errors=450, p99_ms=40.0)
    canary = Window(invocations=1000, errors=50, p99_ms=40.0)
    by_name = {r.rule: r for r in judge_window(canary, baseline, CONFIG, ALPHA)}
    assert by_name["error-ceiling"].verdict == "pass" and "so is the baseline" in by_name["error-ceiling"].reason
    assert verdict(canary, baseline)[0] == "pass"


def test_a_fix_better_than_an_erroring_baseline_passes() -> None:
    assert verdict(Window(invocations=1000, errors=20, p99_ms=40.0), Window(invocations=9000, errors=900))[0] == "pass"


def test_just_above_the_ceiling_on_little_evidence_is_not_confident() -> None:
    # 2 errors in 100 calls (2%) against a 1% ceiling: likely if the true rate were 1%.
    assert rule(Window(invocations=100, errors=2), None, "error-ceiling") == "pass"


def test_zero_ceiling_fails_on_any_error() -> None:
    assert rule(Window(invocations=100, errors=1), None, "error-ceiling", HealthConfig(max_error_rate=0.0)) == "fail"


def test_all_errors_against_a_healthy_baseline_fails() -> None:
    assert verdict(Window(invocations=100, errors=100), HEALTHY_BASELINE)[0] == "fail"


def test_all_errors_on_both_versions_is_no_worse() -> None:
    # Nothing to tell them apart: the release neither helps nor hurts, as the rules are written.
    assert verdict(Window(invocations=100, errors=100), Window(invocations=900, errors=900))[0] == "pass"


# --- latency ------------------------------------------------------------------------------------

def test_p99_above_the_ratio_and_margin_fails() -> None:
    result, reason = verdict(Window(invocations=2000, errors=10, p99_ms=130.0), HEALTHY_BASELINE)
    assert result == "fail"
    assert "p99 duration 130.0 ms vs baseline 40.0 ms: 3.25x" in reason


def test_p99_within_the_ratio_passes() -> None:
    assert rule(Window(invocations=2000, p99_ms=59.0), HEALTHY_BASELINE, "latency") == "pass"


def test_ratio_without_the_margin_passes() -> None:
    # 4 ms against 2 ms is twice as slow and not worth a rollback.
    fast = Window(invocations=9000, p99_ms=2.0)
    assert rule(Window(invocations=2000, p99_ms=4.0), fast, "latency") == "pass"


def test_p99_of_too_few_calls_is_not_trusted_the_mean_is_judged() -> None:
    # The p99 of 500 calls rests on 5 of them; the means say both versions are alike.
    canary = Window(invocations=500, p50_ms=20.0, p99_ms=130.0, average_ms=22.0)
    baseline = Window(invocations=9000, p50_ms=20.0, p99_ms=40.0, average_ms=22.0)
    rules = {r.rule: r for r in judge_window(canary, baseline, CONFIG, ALPHA)}
    assert rules["latency"].verdict == "pass" and "mean duration" in rules["latency"].reason


def test_a_slower_mean_on_few_calls_must_be_beyond_its_noise() -> None:
    baseline = Window(invocations=9000, p50_ms=20.0, average_ms=22.7)
    # 1.75x on 25 calls could be luck with durations this spread out (nor can 2x be ruled out) ...
    assert rule(Window(invocations=25, p50_ms=35.0, average_ms=39.7), baseline, "latency") == "inconclusive"
    # ... and is not on 400.
    assert rule(Window(invocations=400, p50_ms=35.0, average_ms=39.7), baseline, "latency") == "fail"


def test_missing_percentiles_fall_back_to_the_mean() -> None:
    canary = Window(invocations=1000, average_ms=80.0)
    rules = {r.rule: r for r in judge_window(canary, Window(invocations=9000, average_ms=20.0), CONFIG, ALPHA)}
    assert rules["latency"].verdict == "fail" and "mean duration" in rules["latency"].reason


def test_no_latency_data_at_all_is_said_not_guessed() -> None:
    rules = {r.rule: r for r in judge_window(Window(invocations=1000), Window(invocations=9000), CONFIG, ALPHA)}
    assert rules["latency"].verdict == "pass" and "no latency" in rules["latency"].reason


# --- throttles and alarms --------------------------------------------------------------------------

def test_throttles_beyond_the_bound_fail() -> None:
    result, reason = verdict(Window(invocations=900, throttles=100, p99_ms=40.0), HEALTHY_BASELINE)
    assert result == "fail" and "100 of 1000 requests throttled" in reason


def test_a_few_throttles_within_the_bound_pass() -> None:
    assert rule(Window(invocations=1000, throttles=3), HEALTHY_BASELINE, "throttles") == "pass"


def test_alarm_in_alarm_fails_whatever_the_metrics() -> None:
    alarm = alarm_rule(["orders-api-errors"], [])
    result, reason = overall([alarm, *judge_window(Window(), None, CONFIG, ALPHA)])
    assert result == "fail" and "orders-api-errors" in reason


def test_alarms_already_firing_at_the_start_can_be_ignored() -> None:
    assert alarm_rule(["old-noise"], ["old-noise"]).verdict == "pass"
    assert alarm_rule(["old-noise", "new"], ["old-noise"]).reason == "alarm(s) in ALARM: new"


# --- statistics ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("k", "n", "p"), [(2, 100, 0.002), (5, 20, 0.1), (50, 100, 0.5), (1, 1, 0.3), (7, 40, 0.05)])
def test_binomial_tail_is_exact(k: int, n: int, p: float) -> None:
    exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(k, n + 1))
    assert binomial_upper_tail(k, n, p) == pytest.approx(exact, rel=1e-9)


def test_excess_rate_needs_both_sides() -> None:
    assert excess_rate_p_value(5, 0, 1, 100) is None
    assert excess_rate_p_value(5, 100, 1, 0) is None


# --- evidence from CloudWatch datapoints ------------------------------------------------------------

def test_series_sums_counts_and_weights_percentiles_by_invocations() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    t1 = t0 + timedelta(minutes=1)
    series = Series()
    series.points["canary_invocations"].update({t0: 100.0, t1: 300.0})
    series.points["canary_errors"].update({t0: 1.0, t1: 9.0})
    series.points["canary_p99"].update({t0: 40.0, t1: 80.0})
    whole = series.window("canary")
    assert (whole.invocations, whole.errors) == (400, 10)
    assert whole.p99_ms == pytest.approx(70.0)  # (40*100 + 80*300) / 400
    assert whole.p50_ms is None and whole.throttles == 0
    recent = series.window("canary", since=t1)
    assert (recent.invocations, recent.errors, recent.p99_ms) == (300, 9, 80.0)
    assert series.window("baseline") == Window()


@pytest.mark.parametrize(("interval", "period"), [(1, 1), (2, 1), (7, 5), (30, 30), (45, 30), (60, 60), (300, 60)])
def test_metric_period_is_a_valid_cloudwatch_period_within_the_interval(interval: int, period: int) -> None:
    assert metric_period(interval) == period
