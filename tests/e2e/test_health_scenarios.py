"""The health analysis through the real state machine: each demo scenario ends as promised, and a
regression that starts mid-step is rolled back within one check interval."""

from __future__ import annotations

import json
import time
from typing import Any

from typer.testing import CliRunner

from bluegreen.cli import app
from bluegreen.local import execution
from bluegreen.local.stack import LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, weights_of

ROLLBACK_STATE = "Roll back to the old version"


def demo(scenario: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["demo", "--json", "--report", "", "--scenario", scenario])
    return result.exit_code, json.loads(result.stdout)


def test_slow_release_is_rolled_back_on_latency() -> None:
    code, out = demo("slow")
    assert (code, out["outcome"], out["error"]) == (1, "rolled_back", "HealthCheckFailed")
    assert out["alias"] == {"name": "prod", "functionVersion": "1", "additionalVersionWeights": {}}
    failed = out["checks"][-1]
    assert failed["verdict"] == "fail" and "duration" in failed["reason"] and "vs baseline" in failed["reason"]
    assert failed["p99Ms"] > 1.5 * failed["baselineP99Ms"]


def test_flaky_release_is_rolled_back_against_its_baseline() -> None:
    code, out = demo("flaky")
    assert (code, out["outcome"]) == (1, "rolled_back")
    assert out["alias"]["functionVersion"] == "1" and out["alias"]["additionalVersionWeights"] == {}
    failed = out["checks"][-1]
    assert failed["weight"] == 10  # caught on the first step
    assert "vs baseline" in failed["reason"]
    assert failed["errors"] / failed["invocations"] > failed["baselineErrors"] / failed["baselineInvocations"]


def test_low_traffic_is_inconclusive_extended_then_never_promoted() -> None:
    code, out = demo("low-traffic")
    assert (code, out["outcome"], out["error"]) == (1, "rolled_back", "InsufficientEvidence")
    assert out["alias"]["functionVersion"] == "1" and out["alias"]["additionalVersionWeights"] == {}
    verdicts = [c["verdict"] for c in out["checks"]]
    assert set(verdicts) == {"inconclusive"}
    # The 4 s bake is checked every 2 s; inconclusive at its end, it is extended (up to 8 s) before deciding.
    decisions = [c["decision"] for c in out["checks"]]
    assert len(decisions) >= 3 and set(decisions[:-1]) == {"bake"} and decisions[-1] == "rollback"


def test_noisy_baseline_does_not_doom_a_release_that_is_no_worse() -> None:
    code, out = demo("noisy-baseline")
    assert (code, out["outcome"]) == (0, "promoted")
    assert out["alias"] == {"name": "prod", "functionVersion": "2", "additionalVersionWeights": {}}
    last = out["checks"][-1]
    assert last["errors"] / last["invocations"] > 0.01  # above the default 1% ceiling, like the baseline
    assert last["baselineErrors"] / last["baselineInvocations"] > 0.01


def _entered_at(result: execution.ExecutionResult, state: str) -> float:
    for event in result.events:
        if event.get("stateEnteredEventDetails", {}).get("name") == state:
            return float(event["timestamp"].timestamp())
    raise AssertionError(f"{state} never entered")


def test_regression_starting_mid_step_is_rolled_back_within_one_check_interval(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    # Given a healthy new version on a 10% step that bakes 10 s, checked every 2 s
    version = sample.publish("v2", error_rate=0.0)
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                  "strategy": {"steps": [10, 100], "intervalSeconds": 10},
                                  "health": {"checkIntervalSeconds": 2}})
    deadline = time.monotonic() + 30
    while weights_of(get_alias()) != {version: 0.1}:
        assert time.monotonic() < deadline, "the alias never reached 10%"
        time.sleep(0.05)
    # When it starts failing 3 s into the step
    time.sleep(3)
    traffic.override(version, error_rate=0.3)
    regressed_at = time.time()
    result = execution.wait(arn, timeout=60)

    # Then the next check catches it: rolled back within one check interval (plus the task's own time)
    assert result.error == "HealthCheckFailed"
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    detected_after = _entered_at(result, ROLLBACK_STATE) - regressed_at
    assert 0 < detected_after <= 2 + 1, f"rolled back {detected_after:.1f} s after the regression began"
    print(f"regression detected and rolled back after {detected_after:.2f} s")
    decisions = [c["decision"] for c in result.checks()]
    assert decisions[0] == "bake" and decisions[-1] == "rollback" and len(decisions) <= 3
    # It was the last interval's evidence that failed it, not the whole step's.
    failing = result.checks()[-1]["health"]["rules"]
    assert any(r["window"] == "recent" and r["verdict"] == "fail" for r in failing)
