"""The missing-calls rule: calls that never come back (hanging, or running longer than the metrics' delay) show
only as the new version's share of the alias's settled requests falling short of the share its weight routed."""

from __future__ import annotations

import math
from statistics import NormalDist

from bluegreen.contracts.health_config import HealthConfig
from bluegreen.decisions.stats import (
    critical_z,
)
from bluegreen.decisions.windows import Rule, Share, p_text, pass_level


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
    for _ in range(32):  # to 2^-32: far finer than any share the rule reports
        middle = (low + high) / 2
        if _shortfall_z(shares, middle) < z:
            low = middle
        else:
            high = middle
    return high


def _pooled(shares: list[Share]) -> list[Share]:
    """Periods routed alike, pooled: the test's sums are linear in each period's counts for a given routed share,
    so one entry per share (a step's periods after its first all have one) gives the same numbers, at a fraction
    of the bisection's work."""
    pooled: dict[float, tuple[int, int]] = {}
    for share in shares:
        canary, total = pooled.get(share.expected, (0, 0))
        pooled[share.expected] = (canary + share.canary, total + share.total)
    return [Share(canary, total, expected) for expected, (canary, total) in pooled.items()]


# Fewer routed requests than this expected of the new version tell nothing about missing ones.
MIN_EXPECTED_CALLS = 10


def missing_calls_rule(shares: list[Share], config: HealthConfig, alpha: float,
                       pass_alpha: float | None = None) -> Rule:
    """Calls that never come back: a call that hangs shows no Invocations, Errors or Duration until it ends. The
    new version's share of the alias's settled requests is compared with the share its weight routed to it
    (binomial, per period): confidently short by more than ``maxMissingShare`` fails; a pass needs the shortfall
    ruled out up to ``mustRuleOut.missingShare``."""
    pass_alpha = pass_level(config) if pass_alpha is None else pass_alpha
    shares = _pooled(shares)
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
                    f"longer than the metrics' delay), above {config.max_missing_share:.0%} (p={p_text(p_value)} "
                    f"< {p_text(alpha)})")
    bound = _missing_at(shares, critical_z(pass_alpha))
    tolerated = config.must_rule_out.missing_share
    if bound < tolerated:
        said = f"at most {bound:.1%} of the new version's calls missing"
        return Rule("missing-calls", "pass", f"{numbers}: {said}", bound=said)
    return Rule("missing-calls", "inconclusive",
                f"{numbers}: cannot yet rule out {tolerated:.0%} of the new version's calls not completing "
                f"(bound {bound:.1%})")
