"""When checks happen and what each decides: bake on, next step, promote, roll back; the history budget."""

from __future__ import annotations

import pytest

from bluegreen.contracts.health_config import HealthConfig
from bluegreen.contracts.state import Plan, Progress, TargetPlan
from bluegreen.decisions import strategy as strategies
from bluegreen.decisions.cadence import HISTORY_EVENTS_LIMIT
from bluegreen.decisions.judge import decide, levels_at, more_evidence
from bluegreen.decisions.windows import Window
from bluegreen.errors import InvalidInput
from bluegreen.jobs.release import plan_checks


def make_plan(bake: int = 300, interval: int = 60, max_bake: int = 600, checks: int = 5) -> Plan:
    target = TargetPlan(function_name="orders-api", alias="prod", old_version="1", new_version="2", action="shift")
    return Plan(targets=[target], action="shift", strategy="custom", weights=[10], step_count=1, bake_seconds=bake,
                health=HealthConfig(),
                check_interval_seconds=interval, max_bake_seconds=max_bake, checks_planned=checks)


MID = Progress(step_index=0, weight=10, next_step_index=1, is_last_step=False)
LAST = MID.model_copy(update={"is_last_step": True})


def test_fail_rolls_back_at_once_even_early_in_the_step() -> None:
    assert decide(make_plan(), MID, "fail", 61) == ("rollback", 0)


@pytest.mark.parametrize("verdict", ["pass", "inconclusive"])
def test_during_the_bake_the_step_bakes_on_until_the_next_check(verdict: str) -> None:
    assert decide(make_plan(), MID, verdict, 60) == ("bake", 60)
    # The last check lands on the bake's end, not an interval past it.
    assert decide(make_plan(), MID, verdict, 270) == ("bake", 30)
    # Before a promotion the settled data must reach half an interval past the bake: a regression that begins in
    # the bake's last seconds is seen before the release is promoted.
    assert decide(make_plan(), LAST, verdict, 300) == ("bake", 30)


def test_pass_at_the_end_of_the_bake_moves_on_and_half_an_interval_past_it_promotes() -> None:
    assert decide(make_plan(), MID, "pass", 300) == ("next-step", 0)
    assert decide(make_plan(), LAST, "pass", 330.1) == ("promote", 0)


def test_inconclusive_extends_the_bake_up_to_the_bound_then_rolls_back() -> None:
    assert decide(make_plan(), LAST, "inconclusive", 330) == ("bake", 60)
    assert decide(make_plan(), LAST, "inconclusive", 570) == ("bake", 30)
    assert decide(make_plan(), LAST, "inconclusive", 600) == ("rollback", 0)


def test_the_budget_is_spent_over_the_looks_and_shared_by_the_steps() -> None:
    one_step = make_plan()
    first, planned_end, extension = (levels_at(one_step, t) for t in (60, 300, 360))
    # Group-sequential: each look's level is above the even split (5 planned checks x 2 windows) ...
    assert first.whole > 0.01 / 10 and planned_end.whole > 0.01 / 10
    # ... the extensions get what the planned looks left, and a pass is hardest to earn after the bake.
    assert extension.whole < planned_end.whole
    assert extension.rule_out < planned_end.rule_out
    two_steps = one_step.model_copy(update={"weights": [10, 50], "step_count": 2})
    assert levels_at(two_steps, 60).whole < first.whole


def test_every_predefined_strategy_fits_the_history_with_a_wide_margin() -> None:
    for name in strategies.PREDEFINED:
        cadence = plan_checks(HealthConfig(), strategies.plan_predefined(name))
        assert cadence.history_events < HISTORY_EVENTS_LIMIT * 0.1, name
    longest = plan_checks(HealthConfig(), strategies.plan_predefined("Linear10PercentEvery10Minutes"))
    assert (longest.interval, longest.planned, longest.max_bake) == (60, 90, 1200)


def test_a_check_every_second_for_a_day_is_refused_before_anything_changes() -> None:
    with pytest.raises(InvalidInput, match=r"health.checkIntervalSeconds: .* history events"):
        plan_checks(HealthConfig(check_interval_seconds=1), strategies.plan_steps([10, 100], 86_400))


def test_max_bake_shorter_than_the_bake_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"health\.maxBakeSeconds"):
        plan_checks(HealthConfig(max_bake_seconds=60), strategies.plan_predefined("Canary10Percent5Minutes"))


def test_check_interval_never_exceeds_the_bake() -> None:
    cadence = plan_checks(HealthConfig(), strategies.plan_steps([10, 50, 100], 20))
    assert (cadence.interval, cadence.planned, cadence.max_bake) == (20, 2, 40)


def test_a_step_the_alias_s_callers_never_reached_says_so_and_does_not_ask_for_traffic_it_has() -> None:
    plan = make_plan()
    levels = levels_at(plan, 300)
    quiet = more_evidence(plan, (Window(invocations=0, errors=0), Window(invocations=40, errors=0)), levels, 300)
    assert "none of the alias's 40 calls" in quiet and "route traffic" not in quiet
    idle = more_evidence(plan, (Window(invocations=0, errors=0), Window(invocations=0, errors=0)), levels, 300)
    assert "route traffic to the alias" in idle
