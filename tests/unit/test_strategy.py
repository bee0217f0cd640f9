"""Every predefined CodeDeploy configuration, in both spellings, plans the right steps."""

from __future__ import annotations

import pytest

from bluegreen.decisions.strategy import plan_linear, plan_predefined, plan_steps

EXPECTED = {
    "Canary10Percent5Minutes": ((10,), 300),
    "Canary10Percent10Minutes": ((10,), 600),
    "Canary10Percent15Minutes": ((10,), 900),
    "Canary10Percent30Minutes": ((10,), 1800),
    "Linear10PercentEvery1Minute": ((10, 20, 30, 40, 50, 60, 70, 80, 90), 60),
    "Linear10PercentEvery2Minutes": ((10, 20, 30, 40, 50, 60, 70, 80, 90), 120),
    "Linear10PercentEvery3Minutes": ((10, 20, 30, 40, 50, 60, 70, 80, 90), 180),
    "Linear10PercentEvery10Minutes": ((10, 20, 30, 40, 50, 60, 70, 80, 90), 600),
    "AllAtOnce": ((), 0),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("spelling", ["{}", "CodeDeployDefault.Lambda{}"])
def test_predefined_strategy_plans(name: str, spelling: str) -> None:
    plan = plan_predefined(spelling.format(name))
    assert (plan.weights, plan.bake_seconds) == EXPECTED[name]
    assert plan.name == name


@pytest.mark.parametrize(
    "name", ["Canary50Percent1Minute", "canary10percent5minutes", "CodeDeployDefault.AllAtOnce", ""]
)
def test_unknown_strategy_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        plan_predefined(name)


def test_custom_steps_keep_the_weights_below_100() -> None:
    plan = plan_steps([10, 50, 100], 60)
    assert (plan.weights, plan.bake_seconds) == ((10, 50), 60)


@pytest.mark.parametrize(
    ("steps", "problem"),
    [([10, 50], "end at 100"), ([50, 10, 100], "increasing"), ([10, 10, 100], "increasing"),
     ([0, 100], "between 1 and 100"), ([10, 150], "between 1 and 100"), ([-5, 100], "between 1 and 100"),
     ([], "empty")],
)
def test_bad_custom_steps(steps: list[int], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        plan_steps(steps, 60)


def test_linear_percent() -> None:
    assert plan_linear(25, 30).weights == (25, 50, 75)
    assert plan_linear(30, 30).weights == (30, 60, 90)
    assert plan_linear(100, 30).weights == ()
