"""Traffic-shifting strategies: every predefined CodeDeploy Lambda configuration, plus custom ones.

This is the one place that turns a strategy into a step plan. A plan is the list of weights
(the new version's share of traffic, in percent, below 100) that the alias holds in turn, each
for ``bake_seconds`` while health is checked, before the alias moves 100% to the new version.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

DEFAULT_STRATEGY = "Canary10Percent5Minutes"

# (percent, minutes) of every predefined CodeDeploy Lambda deployment configuration.
CANARY_CONFIGS: dict[str, tuple[int, int]] = {
    "Canary10Percent5Minutes": (10, 5),
    "Canary10Percent10Minutes": (10, 10),
    "Canary10Percent15Minutes": (10, 15),
    "Canary10Percent30Minutes": (10, 30),
}
LINEAR_CONFIGS: dict[str, tuple[int, int]] = {
    "Linear10PercentEvery1Minute": (10, 1),
    "Linear10PercentEvery2Minutes": (10, 2),
    "Linear10PercentEvery3Minutes": (10, 3),
    "Linear10PercentEvery10Minutes": (10, 10),
}
ALL_AT_ONCE = "AllAtOnce"
PREDEFINED = (*CANARY_CONFIGS, *LINEAR_CONFIGS, ALL_AT_ONCE)

_CODEDEPLOY_PREFIX = re.compile(r"^CodeDeployDefault\.Lambda")
MAX_INTERVAL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class StepPlan:
    """What the alias goes through: ``weights`` in turn, each baked ``bake_seconds``, then 100%."""

    name: str
    weights: tuple[int, ...]
    bake_seconds: int


def canonical_name(name: str) -> str:
    """``CodeDeployDefault.LambdaCanary10Percent5Minutes`` -> ``Canary10Percent5Minutes``."""
    return _CODEDEPLOY_PREFIX.sub("", name)


def plan_predefined(name: str) -> StepPlan:
    """The plan of a predefined configuration, in SAM or CodeDeploy spelling; ValueError if unknown."""
    short = canonical_name(name)
    if short == ALL_AT_ONCE:
        return StepPlan(short, (), 0)
    if short in CANARY_CONFIGS:
        percent, minutes = CANARY_CONFIGS[short]
        return StepPlan(short, (percent,), minutes * 60)
    if short in LINEAR_CONFIGS:
        percent, minutes = LINEAR_CONFIGS[short]
        return StepPlan(short, tuple(range(percent, 100, percent)), minutes * 60)
    raise ValueError(
        f"unknown strategy {name!r}; use one of {', '.join(PREDEFINED)} (or the CodeDeployDefault.Lambda... "
        'spelling), or a custom {"steps": [...], "intervalSeconds": N} / {"linearPercent": P, "intervalSeconds": N}'
    )


def plan_steps(steps: list[int], interval_seconds: int) -> StepPlan:
    """A custom plan from explicit weights: increasing, each in 1..100, ending at 100."""
    if not steps:
        raise ValueError("steps must not be empty; end them at 100")
    if any(not 1 <= s <= 100 for s in steps):
        raise ValueError(f"steps {steps}: every weight must be between 1 and 100")
    if any(b <= a for a, b in itertools.pairwise(steps)):
        raise ValueError(f"steps {steps} must be strictly increasing")
    if steps[-1] != 100:
        raise ValueError(f"steps {steps} must end at 100 (the new version's final share)")
    return StepPlan("custom", tuple(steps[:-1]), interval_seconds)


def plan_linear(percent: int, interval_seconds: int) -> StepPlan:
    """A custom linear plan: ``percent`` more traffic every ``interval_seconds``."""
    if not 1 <= percent <= 100:
        raise ValueError(f"linearPercent {percent} must be between 1 and 100")
    return StepPlan(f"linear{percent}", tuple(range(percent, 100, percent)), interval_seconds)
