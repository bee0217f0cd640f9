"""`bluegreen demo` through the CLI: the JSON contract and the exit codes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from bluegreen.cli.main import app
from bluegreen.cli.plan import shipped_definition
from bluegreen.decisions.transitions import Course, on_time_transitions


def run_demo(*args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(app, ["demo", "--json", "--interval", "1", "--report", "", *args])
    # Progress goes to stderr in --json mode; stdout holds exactly one JSON object.
    return result.exit_code, json.loads(result.stdout)


def test_healthy_demo_promotes() -> None:
    code, out = run_demo("--scenario", "healthy")
    assert code == 0
    assert out["outcome"] == "promoted" and out["executionStatus"] == "SUCCEEDED"
    assert out["alias"] == {"name": "prod", "functionVersion": out["newVersion"], "additionalVersionWeights": {}}
    assert (out["previousVersion"], out["newVersion"]) == ("1", "2")
    # (The last step may take a second check: a promotion waits for settled data half an interval past its bake.)
    assert [(c["weight"], c["verdict"], c["decision"]) for c in out["checks"] if c["decision"] != "bake"] == [
        (10, "pass", "next-step"), (50, "pass", "promote")]
    assert [c["weight"] for c in out["checks"]] in ([10, 50], [10, 50, 50])
    assert all(c["ruledOut"].startswith("error rate at most") for c in out["checks"])
    # The whole workflow: test moved to the new version and its smoke check passed before prod took traffic.
    assert [(v["stage"], v["verdict"]) for v in out["verification"]] == [("test", "passed")]
    assert out["stages"] == {"test": {"functionVersion": "2"}}
    assert out["awsCalls"]["UpdateAlias"] == 4  # test; then prod at 10%, 50%, 100%
    assert out["awsCalls"]["PublishVersion"] == 1
    # publish, choice, the verify Map and its task, choice, per step a Map and its one task, per check a wait,
    # a check and a decision, then the promotion Map and its task, and the end: 2 + 3 + 2 x 2 + 2 x 3 + 2 + 1.
    assert out["stateTransitions"] == 18 + 3 * (len(out["checks"]) - 2)
    # What `plan` counts on the definition is what the execution entered, for the checks each step made.
    per_step = tuple(sum(1 for c in out["checks"] if c["weight"] == weight) for weight in (10, 50))
    definition = shipped_definition()
    assert definition is not None
    assert out["stateTransitions"] == on_time_transitions(definition, Course(1, True, per_step))


def test_failing_demo_rolls_back() -> None:
    code, out = run_demo("--scenario", "failing")
    assert code == 1
    assert out["outcome"] == "rolled_back" and out["error"] == "HealthCheckFailed"
    assert out["alias"] == {"name": "prod", "functionVersion": "1", "additionalVersionWeights": {}}
    assert out["checks"][0]["verdict"] == "fail" and out["checks"][0]["errors"] > 0


def test_a_rollback_the_scenario_intends_exits_0_as_intended() -> None:
    """make demo's --as-intended: the failing scenario's rollback is the demo working (exit 0); the release's own
    outcome is still in the JSON."""
    code, out = run_demo("--scenario", "failing", "--as-intended")
    assert (code, out["outcome"], out["asIntended"]) == (0, "rolled_back", True)


def test_smoke_fails_demo_never_touches_prod_and_puts_test_back() -> None:
    code, out = run_demo("--scenario", "smoke-fails")
    assert code == 1
    assert out["outcome"] == "rolled_back" and out["error"] == "VerificationFailed"
    assert "stage test check 1 (invoke test): response.statusCode is not 200" in out["cause"]
    assert out["alias"] == {"name": "prod", "functionVersion": "1", "additionalVersionWeights": {}}
    assert out["stages"] == {"test": {"functionVersion": "1"}}
    assert out["checks"] == []  # prod never took traffic, so no health check ran
    assert [(v["stage"], v["verdict"]) for v in out["verification"]] == [("test", "failed")]


def test_demo_with_a_predefined_strategy_keeps_its_steps() -> None:
    code, out = run_demo("--strategy", "Linear10PercentEvery1Minute", "--interval", "1")
    assert code == 0
    # Each step checked, in order (the last may take a second check: a promotion waits for settled data half an
    # interval past its bake).
    weights = [c["weight"] for c in out["checks"]]
    assert sorted(set(weights)) == [10, 20, 30, 40, 50, 60, 70, 80, 90] and weights == sorted(weights)
    assert weights[:8] == [10, 20, 30, 40, 50, 60, 70, 80]


@pytest.mark.parametrize("strategy", ["Canary10Percent7Minutes", '{"steps": [50, 10, 100], "intervalSeconds": 1}'])
def test_rejected_input_exits_2_and_changes_nothing(strategy: str) -> None:
    code, out = run_demo("--strategy", strategy)
    assert code == 2
    assert out["outcome"] == "rejected" and out["error"] == "InvalidInput"
    assert "strategy" in out["cause"]
    assert out["alias"] == {"name": "prod", "functionVersion": "1", "additionalVersionWeights": {}}
    assert out["awsCalls"] == {}


def test_unknown_scenario_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["demo", "--scenario", "chaos"])
    assert result.exit_code == 2
    assert "--scenario" in result.output
