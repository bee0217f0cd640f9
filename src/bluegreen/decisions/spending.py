"""How a release spends its false-rollback budget (1 - ``health.confidence``) over its checks.

A step is checked again and again on its growing window, so its tests are strongly correlated: the
window at the 5th check holds the 4th's. Splitting the budget evenly over the checks (Bonferroni)
pays for that overlap as if the tests were independent. A group-sequential design pays only for
what the overlap leaves: the budget is spent over the step's looks by a Pocock-type spending
function (Lan and DeMets: ``alpha * ln(1 + (e - 1) t)``, which spends early enough to catch a large
regression at the first checks), and each look's nominal level is the one at which the chance of a
first crossing there, given the looks before, is exactly that look's spend (Armitage, McPherson and
Rowe's recursive integration, for looks of equal information).

Each traffic step gets an equal share of the release's budget (its window starts afresh at its
shift), the looks include the extensions up to ``maxBakeSeconds``, and a small share goes to the
detector of regressions that start mid-step: the last check interval's window alone, whose looks are
disjoint, so their shares simply add.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

_NORMAL = NormalDist()
# The share of a step's budget kept for the last-interval window (the mid-step detector).
RECENT_SHARE = 0.05
# The share of the budget the harm tests plan to spend: the mid-p tests and the normal approximation of
# the looks' correlation run a little over their nominal level on some rows, so they plan for less than
# the whole. Measured (benchmarks/decision_quality.py, 10,000 releases a row): 0.85 rolls back 0.4-0.9%
# of healthy releases on every row at 100 calls/min and more; 0.8 missed 2x errors within 2 checks at
# 1,000/min (77.6%, target 78%).
HARM_SHARE = 0.8
# The chance that a new version exactly at the tolerance (mustRuleOut) passes, as a share of the budget.
# Measured (benchmarks/decision_quality.py): 0.7 keeps 5x error regressions promoted below 0.5% at every
# traffic while healthy releases at 100 new-version calls/min still pass within the planned bake >= 95%.
PASS_SHARE = 0.7
# Looks beyond this are spent by increments alone (still within the budget, only less tight).
EXACT_LOOKS = 24
# Grid of the recursive integration: points per unit of the sum's standard deviation.
_POINTS_PER_SD = 6
_TAIL_SDS = 7.0


def pocock_spent(alpha: float, fraction: float) -> float:
    """The budget spent by information fraction ``fraction`` (Lan-DeMets' Pocock-type function)."""
    return alpha * math.log1p((math.e - 1.0) * min(1.0, max(0.0, fraction)))


def _simpson(low: float, high: float, points: int) -> tuple[list[float], list[float]]:
    """Abscissas and Simpson weights over [low, high] with an odd number of points."""
    points += 1 - points % 2
    step = (high - low) / (points - 1)
    xs = [low + i * step for i in range(points)]
    weights = [step / 3 * (1 if i in (0, points - 1) else 4 if i % 2 else 2) for i in range(points)]
    return xs, weights


def _crossing(xs: list[float], mass: list[float], bound: float, spread: float) -> float:
    """P(the next sum, an increment of sd ``spread`` on, ends above ``bound``) given the continuing mass."""
    return sum(m * _NORMAL.cdf((x - bound) / spread) for x, m in zip(xs, mass, strict=True))


def _levels(spend: tuple[float, ...], times: tuple[float, ...]) -> tuple[float, ...]:
    """Nominal one-sided levels of a cumulative statistic seen at information ``times`` so that the chance
    of a first crossing at each look (no effect) is that look's ``spend``."""
    levels = [spend[0]]
    bound = _NORMAL.inv_cdf(1.0 - spend[0]) * math.sqrt(times[0])
    sd = math.sqrt(times[0])
    # The continuing density of the sum S_1 ~ N(0, t_1) below the first bound, as grid masses.
    xs, weights = _simpson(-_TAIL_SDS * sd, bound, int((bound / sd + _TAIL_SDS) * _POINTS_PER_SD) + 1)
    mass = [w * _NORMAL.pdf(x / sd) / sd for x, w in zip(xs, weights, strict=True)]
    for k in range(1, len(times)):
        spread = math.sqrt(times[k] - times[k - 1])
        low, high = min(xs) - spread, max(xs) + 12.0 * spread
        for _ in range(50):
            middle = (low + high) / 2
            if _crossing(xs, mass, middle, spread) > spend[k]:
                low = middle
            else:
                high = middle
        bound = high
        sd = math.sqrt(times[k])
        # The nominal level: the marginal chance that S_k (sd sqrt(t_k)) ends above the bound.
        levels.append(1.0 - _NORMAL.cdf(bound / sd))
        new_xs, new_weights = _simpson(-_TAIL_SDS * sd, bound, int((bound / sd + _TAIL_SDS) * _POINTS_PER_SD
                                                                     * max(1.0, sd / spread)) + 1)
        mass = [w * sum(m * _NORMAL.pdf((y - x) / spread) / spread for x, m in zip(xs, mass, strict=True))
                for y, w in zip(new_xs, new_weights, strict=True)]
        xs = new_xs
    return tuple(levels)


# The share of the harm budget spent by the end of the planned bake; the extensions share the rest. A step
# that passes on time never spends the rest, so it is kept small: extensions happen at low traffic, where
# they mostly wait for a pass.
HARM_BY_PLANNED_END = 0.95


@lru_cache(maxsize=64)
def nominal_levels(alpha: float, planned: int, looks: int) -> tuple[float, ...]:
    """Each look's one-sided nominal level for a cumulative statistic checked at ``looks`` equal intervals,
    of which ``planned`` if every check passes: Pocock-type spending of most of ``alpha`` over the planned
    looks, the rest evenly over the extensions, so that under no regression the chance of any crossing
    is ``alpha``."""
    if looks < 1:
        return ()
    planned = max(1, min(planned, looks))
    by_end = alpha if planned == looks else alpha * HARM_BY_PLANNED_END
    spent = [pocock_spent(by_end, k / planned) for k in range(planned + 1)]
    extensions = looks - planned
    spend = tuple([spent[k] - spent[k - 1] for k in range(1, planned + 1)]
                  + ([(alpha - by_end) / extensions] * extensions if extensions else []))
    if looks > EXACT_LOOKS:
        # Conservative: P(any crossing) <= the sum of each look's own level.
        return spend
    return _levels(spend, tuple(float(k) for k in range(1, looks + 1)))


# The share of the pass budget spent when the planned bake ends; extensions share the rest.
PASS_AT_PLANNED_END = 0.9


@lru_cache(maxsize=64)
def pass_levels(alpha: float, planned: int, looks: int) -> tuple[float, ...]:
    """Nominal levels of the pass test at looks ``planned`` .. ``looks`` (a step can pass only once its bake
    is over): most of ``alpha`` when the planned bake ends, the rest over the extensions, so that a new
    version exactly at the tolerance passes at most ``alpha`` of the time however long it bakes."""
    planned = max(1, min(planned, looks))
    extensions = looks - planned
    if not extensions:
        return (alpha,)
    first = alpha * PASS_AT_PLANNED_END
    spend = (first, *([(alpha - first) / extensions] * extensions))
    if extensions + 1 > EXACT_LOOKS:
        return spend
    return _levels(spend, tuple(float(k) for k in range(planned, looks + 1)))


@dataclass(frozen=True)
class Levels:
    """The one-sided levels of a check's tests."""

    whole: float  # proving harm on the whole step's window
    recent: float  # proving harm on the last interval's window
    rule_out: float  # ruling out mustRuleOut (a pass)


def step_levels(confidence: float, steps: int, planned: int, looks: int, look: int, *,
                passable_from: int | None = None) -> Levels:
    """The levels at ``look`` of a step checked up to ``looks`` times (``planned`` when every check passes),
    for a release of ``steps`` judged traffic steps at ``confidence``.

    ``passable_from``: the first look at which the step's sample sizes let it pass at all (a function that never
    fails needs a few hundred calls to rule out even one point of errors). The looks before it cannot pass
    whatever the new version does, so they spend none of the pass budget, which opens there instead of at the
    planned end: sample sizes carry no information on the new version's rates, and no more than the budget is
    ever spent."""
    budget = (1.0 - confidence) / max(1, steps)
    harm = budget * HARM_SHARE
    look = min(look, looks)
    planned = max(1, min(planned, looks))
    whole = nominal_levels(round(harm * (1.0 - RECENT_SHARE), 12), planned, looks)[look - 1]
    recent = harm * RECENT_SHARE / max(1, looks - 1)
    opens = max(planned, min(passable_from or planned, looks))
    passing = pass_levels(round(budget * PASS_SHARE, 12), opens, looks)
    return Levels(whole, recent, passing[max(0, look - opens)])


def first_pass_level(confidence: float, steps: int, planned: int, looks: int) -> float:
    """The pass level the schedule opens with (at the planned end, or where a step first can pass)."""
    return pass_levels(round((1.0 - confidence) / max(1, steps) * PASS_SHARE, 12), planned, looks)[0]
