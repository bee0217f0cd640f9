"""The group-sequential spending of the false-rollback budget: the looks' levels keep their promise."""

from __future__ import annotations

import itertools
import math
import random
from statistics import NormalDist

import pytest

from bluegreen.decisions.spending import EXACT_LOOKS, nominal_levels, pass_levels, pocock_spent

_NORMAL = NormalDist()


def crossing_rate(levels: tuple[float, ...], first_look: int, runs: int, seed: int) -> float:
    """How often a cumulative statistic with no effect crosses any look's bound (Monte Carlo)."""
    rng = random.Random(seed)
    bounds = [_NORMAL.inv_cdf(1 - a) for a in levels]
    crossed = 0
    for _ in range(runs):
        total = sum(rng.gauss(0, 1) for _ in range(first_look - 1))
        for offset, bound in enumerate(bounds):
            total += rng.gauss(0, 1)
            if total / math.sqrt(first_look + offset) > bound:
                crossed += 1
                break
    return crossed / runs


def test_the_looks_together_spend_the_budget_and_no_more() -> None:
    levels = nominal_levels(0.01, 5, 10)
    rate = crossing_rate(levels, 1, 200_000, seed=1)
    assert rate == pytest.approx(0.01, abs=0.0015)
    # Bonferroni would give each look 0.001: the overlap of the windows buys every look more.
    assert min(levels[:5]) > 0.001


def test_a_pass_at_the_tolerance_is_as_rare_as_its_budget_however_long_the_step_bakes() -> None:
    levels = pass_levels(0.005, 5, 10)
    assert crossing_rate(levels, 5, 200_000, seed=2) == pytest.approx(0.005, abs=0.001)
    assert levels[0] > 0.8 * 0.005 > max(levels[1:])


def test_spending_is_monotone_and_ends_at_the_budget() -> None:
    spent = [pocock_spent(0.01, k / 10) for k in range(11)]
    assert spent[0] == 0 and spent[-1] == pytest.approx(0.01)
    assert all(a < b for a, b in itertools.pairwise(spent))


def test_many_looks_fall_back_to_increments_that_still_sum_to_the_budget() -> None:
    levels = nominal_levels(0.01, EXACT_LOOKS + 6, EXACT_LOOKS + 16)
    assert sum(levels) == pytest.approx(0.01)


def test_a_single_look_gets_the_whole_budget() -> None:
    assert nominal_levels(0.01, 1, 1)[0] == pytest.approx(0.01)
    assert pass_levels(0.005, 3, 3) == (0.005,)
