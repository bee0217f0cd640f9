"""The health analysis through the real state machine: each demo scenario ends as promised, and a
regression that starts mid-step is rolled back within one check interval."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from typer.testing import CliRunner

from bluegreen.cli.main import app
from bluegreen.contracts import state_names
from bluegreen.local import execution
from bluegreen.local.stack import LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, weights_of

ROLLBACK_STATE = state_names.ROLLBACK_MAP


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


def test_http_500s_that_lambda_counts_as_successes_are_rolled_back_on_the_app_metric() -> None:
    code, out = demo("http-500")
    assert (code, out["outcome"], out["error"]) == (1, "rolled_back", "HealthCheckFailed")
    assert out["alias"] == {"name": "prod", "functionVersion": "1", "additionalVersionWeights": {}}
    assert [v["verdict"] for v in out["verification"]] == ["passed"]  # one smoke request: answered 200
    failed = out["checks"][-1]
    assert failed["errors"] == 0 and failed["invocations"] > 0  # no Lambda error at all
    assert "http-5xx (OrdersApp Responses5xx/Requests)" in out["cause"], out["cause"]


def _first_check_done(arn: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not [out for name, out in execution.task_results(execution.history(arn)) if name == state_names.CHECK]:
        assert time.monotonic() < deadline, "no check ran"
        time.sleep(0.05)


def _entered_at(result: execution.ExecutionResult, state: str) -> float:
    for event in result.events:
        if event.get("stateEnteredEventDetails", {}).get("name") == state:
            return float(event["timestamp"].timestamp())
    raise AssertionError(f"{state} never entered")


def test_regression_starting_mid_step_is_rolled_back_at_the_next_check(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    # Given a healthy new version on a 10% step that bakes 10 s, checked every 2 s
    version = sample.publish("v2", error_rate=0.0)
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                  "strategy": {"steps": [10, 100], "intervalSeconds": 10},
                                  "health": {"checkIntervalSeconds": 2}})
    # When it starts failing right after the step's first check (it passed: bake on)
    _first_check_done(arn)
    traffic.override(version, error_rate=0.3)
    regressed_at = datetime.now(UTC)
    result = execution.wait(arn, timeout=60)

    # Then the first check whose settled data holds a period of it catches it, and the release rolls back: within
    # one interval and the metrics' delay (2 s each here), and the period it falls in (1 s)
    assert result.error == "HealthCheckFailed"
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    checks = result.checks()
    assert checks[0]["decision"] == "bake"
    decisions = [c["decision"] for c in checks]
    ends = [datetime.fromisoformat(c["health"]["windowEnd"]) for c in checks]
    # No check on data from before the regression rolls back; the rolling-back check's data holds some of it (the
    # period it started in may already carry enough); every check holding a whole period of it rolls back.
    assert all(d == "bake" for d, end in zip(decisions, ends, strict=True) if end <= regressed_at), decisions
    assert decisions[-1] == "rollback" and ends[-1] > regressed_at, decisions
    assert [d for d, end in zip(decisions, ends, strict=True) if end >= regressed_at + timedelta(seconds=1)] in (
        [], ["rollback"]), decisions
    detected_after = _entered_at(result, ROLLBACK_STATE) - regressed_at.timestamp()
    print(f"regression detected and rolled back after {detected_after:.2f} s (checks every 2 s, metrics 2 s late)")
    assert detected_after <= 2 + 2 + 1 + 1.5  # the interval, the delay, the period; slack for a loaded machine
    # It was the last interval's evidence that failed it, not the whole step's.
    failing = result.checks()[-1]["health"]["rules"]
    assert any(r["window"] == "recent" and r["verdict"] == "fail" for r in failing)
