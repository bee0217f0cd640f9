"""Releases judged on metrics as AWS delivers them, through the real definition: the embedded callers' datapoints
are stamped with their calls' start and arrive 1.5 s late, hanging calls never, and the stack judges only what
has settled 2 s after each period (its MetricDelaySeconds). A failure that starts late in the bake is still
caught, hanging calls are never promoted, a proven failure is never put to a vote, and a release that its alias's
traffic cannot prove healthy is refused before anything changes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from bluegreen.aws import controls, settings
from bluegreen.cli.main import app
from bluegreen.contracts import state_names
from bluegreen.contracts.state import EarlyPromotion
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, release, weights_of
from tests.e2e.test_triggers_and_lock import history_of, lock_item

WHOLE_ON_1: tuple[str, dict[str, float]] = ("1", {})


def where() -> tuple[str, dict[str, float]]:
    alias = get_alias()
    return alias["FunctionVersion"], weights_of(alias)


def test_a_failure_starting_in_the_last_interval_of_the_bake_is_rolled_back(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    version = sample.publish("v2", error_rate=0.0)
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                  "strategy": {"steps": [10, 100], "intervalSeconds": 6},
                                  "health": {"checkIntervalSeconds": 2}})
    # The step's bake ends 6 s after its shift; the new version starts failing 5 s in, in its last interval.
    execution.reached(arn, state_names.STEP_BEGINS)
    time.sleep(5)
    traffic.override(version, error_rate=0.3)
    result = execution.wait(arn, timeout=60)
    # The data covering the bake's end settles only after it: the release waits for it, sees the failure, and
    # never promotes.
    assert result.error == "HealthCheckFailed", result.cause
    assert state_names.PROMOTE not in result.entered()
    assert where() == WHOLE_ON_1


def test_calls_that_never_come_back_are_never_promoted(stack: LocalStack, sample: SampleFunction,
                                                       traffic: TrafficSimulator) -> None:
    # A fifth of the new version's calls hang: no Invocations, Errors or Duration of theirs ever arrives, and
    # every call that does come back is healthy.
    version = sample.publish("v2", error_rate=0.0, hang_rate=0.2)
    result = release(stack, version=version, strategy={"steps": [50, 100], "intervalSeconds": 2})
    assert result.error == "HealthCheckFailed", result.cause
    assert "of the new version's calls have not completed" in (result.cause or "")
    assert state_names.PROMOTE not in result.entered()
    assert where() == WHOLE_ON_1


def test_a_proven_failure_is_rolled_back_even_when_an_operator_would_decide(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    arn = execution.start(stack, {
        "functionName": FUNCTION, "alias": ALIAS, "version": sample.publish("v2", error_rate=0.3),
        "strategy": {"steps": [10, 50, 100], "intervalSeconds": 30}, "health": {
            "checkIntervalSeconds": 2, "onInconclusive": "wait-for-operator", "operatorTimeoutSeconds": 60}})
    # An operator's "promote now" is pending too: a failing check overrides it.
    with settings.provided({settings.DEPLOYMENTS_TABLE: stack.tables["DeploymentsTable"]}):
        controls.request_promote_now(arn, EarlyPromotion(reason="looks fine to me", by="alice"))
    result = execution.wait(arn, timeout=60)
    assert (result.status, result.error) == ("FAILED", "HealthCheckFailed"), result.cause
    assert state_names.ASK not in result.entered() and state_names.PROMOTE not in result.entered()
    assert where() == WHOLE_ON_1


def _a_hundred_calls_a_minute_for_the_last_hour() -> None:
    """The alias's history as AWS/Lambda holds it: 100 calls a minute on version 1 (10 of the new version's at the
    default canary's 10%), none failing."""
    dims = [{"Name": "FunctionName", "Value": FUNCTION}, {"Name": "Resource", "Value": f"{FUNCTION}:{ALIAS}"},
            {"Name": "ExecutedVersion", "Value": "1"}]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    data: list[Any] = [{"MetricName": name, "Dimensions": dims, "Value": value, "Timestamp": now - timedelta(minutes=m)}
                       for m in range(1, 61) for name, value in (("Invocations", 100.0), ("Errors", 0.0))]
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for first in range(0, len(data), 500):
        cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data[first:first + 500])


@pytest.mark.long
def test_a_release_its_traffic_cannot_prove_healthy_is_refused_with_what_would(
        stack: LocalStack, sample: SampleFunction, tmp_path: Path) -> None:
    _a_hundred_calls_a_minute_for_the_last_hour()
    sha = sample.stage("v2", error_rate=0.0)
    before = get_alias()
    result = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "codeSha256": sha}, timeout=60)
    # The default canary (10% for 5 minutes, up to 10): about 100 calls of the new version, too few to rule out
    # an error rate one point above the old version's 0% (about 600 do).
    assert (result.status, result.error) == ("FAILED", "InsufficientTraffic"), result.cause
    cause = result.cause or ""
    assert "had 100 calls/min over the last hour" in cause and "a first step of" in cause, cause
    assert get_alias() == before and lock_item(stack) is None and history_of(stack) == []
    versions = boto3.client("lambda", region_name=REGION).list_versions_by_function(FunctionName=FUNCTION)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1"]  # nothing published
    # The suggestion, applied: plan shows a healthy release proven within its bake at that traffic.
    suggestion = cause.split("a first step of ", 1)[1]
    weight, minutes = int(suggestion.split("%", 1)[0]), int(suggestion.split(" baked ", 1)[1].split(" ", 1)[0])
    suggested = tmp_path / "suggested.json"
    suggested.write_text(json.dumps({"functionName": FUNCTION, "alias": ALIAS,
                                     "strategy": {"steps": [weight, 100], "intervalSeconds": minutes * 60}}))
    planned = CliRunner().invoke(app, ["plan", str(suggested), "--offline", "--calls-per-minute", "100",
                                       "--error-rate", "0", "--json"])
    assert planned.exit_code == 0, planned.output
    assert json.loads(planned.stdout)["detection"]["healthy"]["promotedWithinPlannedBake"] >= 0.9
    # With a person to decide, the same release starts, and says what its traffic can prove.
    started = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "codeSha256": sha,
                                      "health": {"onInconclusive": "wait-for-operator"}})
    execution.reached(started, state_names.STEP_BEGINS)
    (published,) = [out for name, out in execution.task_results(execution.history(started))
                    if name == state_names.PUBLISH]
    assert "an operator decides when the evidence stays inconclusive" in published["plan"]["trafficNote"]
    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=started)
