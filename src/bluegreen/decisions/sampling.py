"""Random draws for the simulated releases (``simulation``): Poisson calls and binomial errors, and a period's
latency statistics drawn exactly as order statistics of log-normal durations, in O(1) per period."""

from __future__ import annotations

import math
import random
from statistics import NormalDist

LATENCY_MEDIAN_MS = 50.0
LATENCY_SIGMA = 0.5  # log-normal spread: p99 about 3.2x the median
_NORMAL = NormalDist()


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


def binomial(rng: random.Random, n: int, p: float) -> int:
    if n <= 0 or p <= 0:
        return 0
    if n * p < 30:
        return min(n, poisson(rng, n * p))
    return min(n, max(0, round(rng.gauss(n * p, math.sqrt(n * p * (1 - p))))))


def _mixture_quantile(u: float, medians: list[tuple[float, float]]) -> float:
    """The ``u`` quantile of a mixture of log-normals (weight, median), by bisection on its CDF."""
    low, high = math.log(min(m for _, m in medians)) - 8 * LATENCY_SIGMA, math.log(max(m for _, m in medians)) + 8
    for _ in range(50):
        middle = (low + high) / 2
        cdf = sum(w * _NORMAL.cdf((middle - math.log(m)) / LATENCY_SIGMA) for w, m in medians)
        low, high = (middle, high) if cdf < u else (low, middle)
    return math.exp((low + high) / 2)


def percentile_of(rng: random.Random, calls: int, medians: list[tuple[float, float]], rank: float) -> float | None:
    """The nearest-rank percentile of ``calls`` durations from a mixture of log-normals, drawn in O(1): the k-th
    smallest of n uniforms is Beta(k, n - k + 1)."""
    if calls == 0:
        return None
    k = max(1, math.ceil(rank * calls))
    u = min(max(rng.betavariate(k, calls - k + 1), 1e-12), 1 - 1e-12)
    if len(medians) == 1:
        return medians[0][1] * math.exp(LATENCY_SIGMA * _NORMAL.inv_cdf(u))
    return _mixture_quantile(u, medians)


def mean_of(rng: random.Random, calls: int, medians: list[tuple[float, float]]) -> float | None:
    """The mean of ``calls`` durations (central limit: normal around the true mean)."""
    if calls == 0:
        return None
    spread = math.sqrt(math.exp(LATENCY_SIGMA**2) - 1)
    mean = sum(w * m for w, m in medians) * math.exp(LATENCY_SIGMA**2 / 2)
    return max(0.0, rng.gauss(mean, mean * spread / math.sqrt(calls)))
