"""A pass needs evidence, through the real state machine: a regression that too few calls cannot prove is
baked on and never promoted; a healthy release with the traffic to tell is promoted as planned, saying
what its evidence ruled out; and ``bluegreen plan --offline`` says what the canary can see at a traffic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bluegreen.cli.main import app
from bluegreen.contracts import state_names
from bluegreen.local import execution
from bluegreen.local.stack import LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, weights_of


def test_a_low_traffic_5x_regression_bakes_on_and_is_never_promoted(stack: LocalStack) -> None:
    # Given an old version failing 1% of calls, a new one failing 5%, and 100 calls/s on the alias: about
    # 20 calls of the new version in a 2 s step at 10%, as many as minInvocations asks, too few to tell 5x
    old = SampleFunction(FUNCTION, ALIAS, stack.role_arn)
    old.create(error_rate=0.01)
    version = old.publish("v2", error_rate=0.05)
    traffic = TrafficSimulator(FUNCTION, ALIAS, rate=100)
    traffic.start()
    try:
        result = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                       "strategy": {"steps": [10, 100], "intervalSeconds": 2},
                                       "health": {"checkIntervalSeconds": 1, "maxBakeSeconds": 6}}, timeout=60)
    finally:
        traffic.stop()

    # Then it is never promoted: the alias is back on version 1, whole, and never gave version 2 more than 10%
    assert result.outcome == "rolled_back" and result.error in {"InsufficientEvidence", "HealthCheckFailed"}
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    assert all(sample.weights.get(version, 0.0) <= 0.1 for sample in traffic.samples)
    assert state_names.PROMOTE not in result.entered()
    checks = result.checks()
    assert not any(c["health"]["verdict"] == "pass" for c in checks)
    # It baked on past the planned 2 s with more calls than minInvocations (a count alone once promoted it)
    assert len(checks) > 2 and checks[-1]["health"]["canary"]["invocations"] >= 20
    if result.error == "InsufficientEvidence":
        # and it says what would have decided.
        assert "more calls of the new version" in (result.cause or "") or "no amount" in (result.cause or "")


def test_a_healthy_release_at_ordinary_traffic_is_promoted_as_planned(stack: LocalStack) -> None:
    # Given both versions failing 0.5% of calls and the default traffic (a 3 s step at 10%: about 6,000 calls
    # of the new version, what a function at 12,000 calls/min sees in a 5-minute step)
    old = SampleFunction(FUNCTION, ALIAS, stack.role_arn)
    old.create(error_rate=0.005)
    sha = old.stage("v2", error_rate=0.005)
    traffic = TrafficSimulator(FUNCTION, ALIAS)
    traffic.start()
    try:
        result = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "codeSha256": sha,
                                       "strategy": {"steps": [10, 50, 100], "intervalSeconds": 3}}, timeout=60)
    finally:
        traffic.stop()

    # Then each step passes as soon as its settled data covers its bake (a check or two, the first covering less
    # when the shift fell inside a period), no bake extended, and version 2 takes the alias whole
    assert result.status == "SUCCEEDED", result.cause
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("2", {})
    checks = result.checks()
    assert all(c["health"]["verdict"] == "pass" for c in checks)
    assert [(c["health"]["weight"], c["decision"]) for c in checks if c["decision"] != "bake"] == [
        (10, "next-step"), (50, "promote")]
    for weight in (10, 50):
        assert len([c for c in checks if c["health"]["weight"] == weight]) <= 2
    # and the promotion says what the evidence excluded.
    cause = result.task_outputs(state_names.PROMOTE)[0]["cause"]
    assert cause.startswith("the evidence at 50% ruled out error rate at most") and "(99% confidence)" in cause
    assert checks[-1]["health"]["ruledOut"] in cause


@pytest.mark.parametrize("calls_per_minute", [5, 50, 1000])
def test_plan_offline_prints_what_the_canary_can_see(calls_per_minute: int, tmp_path: Path) -> None:
    request = tmp_path / "release.json"
    request.write_text(json.dumps({"functionName": FUNCTION, "alias": ALIAS, "strategy": "Canary10Percent5Minutes"}))
    args = ["plan", str(request), "--offline", "--calls-per-minute", str(calls_per_minute)]

    printed = CliRunner().invoke(app, args)
    answered = CliRunner().invoke(app, [*args, "--json"])

    assert (printed.exit_code, answered.exit_code) == (0, 0), printed.output
    text = " ".join(printed.stdout.split())  # rich wraps lines at the terminal's width
    assert f"what the canary can see at {calls_per_minute} calls/min on the alias (given)" in text
    for regression in ("errors 1.5x", "errors 2x", "errors 5x", "latency 2x"):
        assert regression in text
    assert "a healthy release: promoted" in text
    seen = json.loads(answered.stdout)["detection"]
    # A 5-minute step at 10%: the new version's calls in it.
    assert seen["newVersionCallsPerStep"] == [round(calls_per_minute * 0.1 * 5)]
    stopped = {r["regression"]: r["stoppedBeforePromotion"] for r in seen["regressions"]}
    # A 5x error regression is almost never promoted, at any traffic.
    assert stopped["errors 5x"] >= 0.99
    healthy = seen["healthy"]
    if calls_per_minute < 1000:
        # Too few calls to rule out mustRuleOut: a healthy release is not promoted on time, and plan says so,
        # with the bake or first step that would (or that none up to an hour or 75% would).
        assert healthy["promotedWithinPlannedBake"] < 0.9
        assert "to rule out mustRuleOut within the bake 90% of the time" in text
    else:
        # 500 calls of the new version a step: a healthy release is promoted within its planned bake, once its
        # data has settled (5 minutes, half a check interval past them and the metrics' 3, and up to a minute for
        # the shift inside a minute).
        assert healthy["promotedWithinPlannedBake"] >= 0.9 and healthy["expectedMinutes"] <= 10
