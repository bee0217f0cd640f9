"""The confidence bounds a pass rests on, at their edges: no calls, no errors, no baseline, all errors."""

from __future__ import annotations

import math

import pytest

from bluegreen.decisions.stats import binomial_upper_tail, rate_lower_bound, rate_upper_bound, ratio_upper_bound


def test_no_errors_in_n_calls_bounds_the_rate_by_the_rule_of_three() -> None:
    # 0 of 460: the 99% bound is 1 - 0.01^(1/460), about 4.6 / 460.
    assert rate_upper_bound(0, 460, 0.01) == pytest.approx(1 - 0.01 ** (1 / 460))
    assert rate_upper_bound(0, 460, 0.01) < 0.01


def test_the_upper_bound_is_where_seeing_so_few_is_alpha_likely() -> None:
    bound = rate_upper_bound(4, 250, 0.01)
    assert 1 - binomial_upper_tail(5, 250, bound) == pytest.approx(0.01, rel=1e-6)
    assert rate_lower_bound(4, 250, 0.01) < 4 / 250 < bound


def test_no_calls_bound_nothing_and_all_errors_bound_nothing_below_one() -> None:
    assert rate_upper_bound(0, 0, 0.01) == 1.0
    assert rate_upper_bound(30, 30, 0.01) == 1.0
    assert rate_lower_bound(0, 100, 0.01) == 0.0


def test_ratio_bound_needs_traffic_and_errors_on_both_sides() -> None:
    assert math.isinf(ratio_upper_bound(0, 500, 0, 4500, 0.01))  # no errors at all: 0 / 0
    assert math.isinf(ratio_upper_bound(3, 500, 10, 0, 0.01))  # baseline without traffic
    assert math.isinf(ratio_upper_bound(0, 0, 10, 4500, 0.01))  # no calls of the new version
    assert math.isinf(ratio_upper_bound(5, 500, 0, 4500, 0.01))  # every error the new version's


def test_ratio_bound_tightens_with_evidence_and_covers_the_truth() -> None:
    few = ratio_upper_bound(3, 300, 27, 2700, 0.01)
    many = ratio_upper_bound(30, 3000, 270, 27000, 0.01)
    assert many < few
    assert 1.0 < many < 1.8  # equal rates: the bound sits a little above 1
