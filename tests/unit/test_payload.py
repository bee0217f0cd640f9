"""Step Functions' 256 KiB per state: the largest state a release can make (bluegreen.contracts.payload), computed from
the models at their longest, fits for 200 functions with the longest predefined strategy, and an input whose
worst case would not fit is refused before anything changes."""

from __future__ import annotations

import pytest

from bluegreen.contracts import payload
from bluegreen.contracts.health_config import HealthConfig
from bluegreen.contracts.state import Plan, TargetPlan
from bluegreen.contracts.verify_request import Invocation, InvokeCheck, Verify
from bluegreen.decisions import strategy
from bluegreen.errors import InvalidInput

SMOKE = InvokeCheck(invoke=Invocation(payload={"path": "/orders", "method": "GET"}), expect={"statusCode": 200})


def plan_of(functions: int, verify: Verify | None = None, strategy_name: str = "Linear10PercentEvery10Minutes",
            alarms: int = 0) -> Plan:
    steps = strategy.plan_predefined(strategy_name)
    targets = [TargetPlan(function_name=f"orders-service-{i:03}-{'x' * 40}", alias="production", old_version="1234",
                          new_version="1235", action="shift", verify=verify,
                          provisioned=True)
               for i in range(functions)]
    health = HealthConfig(alarms=[f"alarm-{i:03}-{'y' * 200}" for i in range(alarms)])
    return Plan(targets=targets, action="shift", strategy=steps.name, weights=list(steps.weights),
                step_count=len(steps.weights), bake_seconds=steps.bake_seconds, health=health,
                check_interval_seconds=60, max_bake_seconds=2 * steps.bake_seconds, checks_planned=90,
                alarms_in_alarm_at_start=health.alarms)


@pytest.mark.parametrize("verify", [None, Verify(before_traffic=[SMOKE], after_promotion=[SMOKE])],
                         ids=["no checks", "a smoke check before traffic and after promotion"])
def test_two_hundred_functions_with_the_longest_strategy_fit(verify: Verify | None) -> None:
    plan = plan_of(200, verify)
    # Linear10PercentEvery10Minutes, every step extended to maxBakeSeconds: 9 steps x 20 checks, all kept.
    assert payload.MAX_CHECKS_KEPT >= 9 * 20
    worst = payload.worst_state_bytes(plan)
    assert worst + payload.RESERVE_BYTES <= payload.STATE_LIMIT_BYTES, worst
    payload.check_fits(plan)


def test_the_worst_case_counts_every_part_of_the_state() -> None:
    small, large = payload.worst_state_bytes(plan_of(1)), payload.worst_state_bytes(plan_of(200))
    assert large > small + 200 * 100  # each function adds its plan, its question entry and its shift result
    assert payload.worst_state_bytes(plan_of(1, alarms=100)) > small + 100 * 200  # every alarm name, twice
    assert payload.size(payload.worst_progress(plan_of(1))) > payload.MAX_CHECKS_KEPT * 250  # every check kept


def test_a_release_whose_worst_case_would_not_fit_is_refused() -> None:
    heavy = Verify(after_promotion=[SMOKE] * 20)
    with pytest.raises(InvalidInput, match=r"^targets: this release's state could reach [\d,]+ bytes .* 256 KiB"):
        payload.check_fits(plan_of(200, heavy))
    payload.check_fits(plan_of(20, heavy))  # the same checks for fewer functions fit
