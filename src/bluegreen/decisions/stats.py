"""Small, dependency-free statistics for the health verdict (no numpy or scipy in a Lambda).

Error counts are small integers, where normal approximations mislead (2 errors in 100 calls is
not "z = 4"), so the tests here are exact binomial tails.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from statistics import NormalDist

_TINY = 1e-300
_NORMAL = NormalDist()


def _beta_continued_fraction(a: float, b: float, x: float) -> float:
    """Lentz's evaluation of the continued fraction of the incomplete beta function."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    result = d
    for m in range(1, 300):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _TINY else _TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _TINY else _TINY
            result *= d * c
        if abs(d * c - 1.0) < 1e-12:
            break
    return result


def regularized_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b), the regularized incomplete beta function."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    # The fraction converges fast on this side of the mean; use the symmetry otherwise.
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(a, b, x) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(b, a, 1.0 - x) / b


def binomial_upper_tail(successes: int, trials: int, probability: float) -> float:
    """P(X >= successes) for X ~ Binomial(trials, probability)."""
    if successes <= 0:
        return 1.0
    if successes > trials:
        return 0.0
    return regularized_beta(successes, trials - successes + 1, probability)


def excess_rate_p_value(events_a: int, n_a: int, events_b: int, n_b: int) -> float | None:
    """How likely A shows more than this many of the events (mid-p) if A and B share one rate.

    The conditional test: given the events seen in total, under equal rates A's share of them is
    Binomial(total, n_a / (n_a + n_b)). None when either side saw nothing to compare.
    """
    if n_a <= 0 or n_b <= 0:
        return None
    total, share = events_a + events_b, n_a / (n_a + n_b)
    at_least = binomial_upper_tail(events_a, total, share)
    # Lancaster's mid-p: half the chance of exactly this many. The exact tail is conservative on the
    # small counts a canary sees, and so slow to catch a regression; the benchmark holds the result to
    # the false-rollback budget.
    return at_least - 0.5 * (at_least - binomial_upper_tail(events_a + 1, total, share))


def above_rate_p_value(events: int, n: int, rate: float) -> float | None:
    """How likely at least ``events`` in ``n`` are if the true rate were only ``rate``."""
    if n <= 0:
        return None
    if rate <= 0.0:
        return 0.0 if events > 0 else 1.0
    return binomial_upper_tail(events, n, rate)


def critical_z(alpha: float) -> float:
    """The one-sided critical value of a test at level ``alpha``: 3.09 for 0.001."""
    return _NORMAL.inv_cdf(1.0 - alpha)


def duration_cv(mean: float, median: float | None) -> float:
    """Coefficient of variation of durations, from their mean and median as a log-normal's
    (mean / median = exp(sigma^2 / 2)); 1 (an exponential's) when the median is unknown."""
    if median is None or median <= 0 or mean <= 0:
        return 1.0
    sigma_squared = 2 * math.log(max(mean / median, 1.0))
    return max(0.1, math.sqrt(math.expm1(sigma_squared)))


def _solve(decreasing: Callable[[float], float], target: float) -> float:
    """The p in [0, 1] where a decreasing function of p crosses ``target`` (Illinois' regula falsi: a
    handful of evaluations, each an incomplete beta, to 1e-10)."""
    low, high = 0.0, 1.0
    f_low, f_high = decreasing(low) - target, decreasing(high) - target
    if f_low <= 0:
        return 0.0
    if f_high >= 0:
        return 1.0
    side = 0
    for _ in range(100):
        middle = (low * f_high - high * f_low) / (f_high - f_low)
        f_middle = decreasing(middle) - target
        if f_middle > 0:
            low, f_low = middle, f_middle
            if side == 1:
                f_high /= 2
            side = 1
        else:
            high, f_high = middle, f_middle
            if side == -1:
                f_low /= 2
            side = -1
        if high - low < 1e-10 or f_middle == 0:
            break
    return high


# The bounds are pure functions of small integers and a level that repeat from check to check (and across
# the thousands of releases ``plan`` and the benchmark simulate): remembered, not solved again.
@lru_cache(maxsize=1 << 16)
def rate_upper_bound(events: int, n: int, alpha: float) -> float:
    """The one-sided (1 - alpha) upper confidence bound of a rate from ``events`` in ``n`` (Clopper-Pearson:
    the rate at which seeing this few events is only ``alpha`` likely). 1 with no trials."""
    if n <= 0 or events >= n:
        return 1.0
    if events == 0:  # P(X = 0 | p) = (1 - p)^n
        return 1.0 - float(alpha ** (1.0 / n))
    # P(X <= events | p) falls as p grows.
    return _solve(lambda p: 1.0 - binomial_upper_tail(events + 1, n, p), alpha)


@lru_cache(maxsize=1 << 16)
def rate_lower_bound(events: int, n: int, alpha: float) -> float:
    """The one-sided (1 - alpha) lower confidence bound of a rate (Clopper-Pearson). 0 with no events."""
    if n <= 0 or events <= 0:
        return 0.0
    return _solve(lambda p: -binomial_upper_tail(events, n, p), -alpha)


def ratio_upper_bound(events_a: int, n_a: int, events_b: int, n_b: int, alpha: float) -> float:
    """The (1 - alpha) upper confidence bound of A's rate over B's, from the conditional test that
    ``excess_rate_p_value`` uses: A's share of all the events bounds the ratio. Infinite when the data
    cannot bound it (no events at all, no traffic on either side, or every event A's)."""
    total = events_a + events_b
    if n_a <= 0 or n_b <= 0 or total == 0 or events_b == 0:
        return math.inf
    share = rate_upper_bound(events_a, total, alpha)
    if share >= 1.0:
        return math.inf
    return share / (1.0 - share) * n_b / n_a
