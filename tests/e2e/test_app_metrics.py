"""The application's own metrics judged per version, through the real definition: the example application (behind
API Gateway in its template) emits Requests and Responses5xx with Powertools Metrics in the embedded metric format,
the embedded CloudWatch Logs extracts them (arriving as late as AWS/Lambda's), and the check judges the new version's
5xx rate against the old one's. A version answering 500s, which Lambda counts as successes, is rolled back; a healthy
one is promoted; a named metric that never reports is never taken for health."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bluegreen.cli.progress import describe_check
from bluegreen.contracts import state_names
from bluegreen.local.stack import LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator, wait_for_metric
from tests.conftest import ALIAS, FUNCTION, get_alias, release, weights_of

NAMESPACE = "OrdersApp"
HTTP_5XX: dict[str, Any] = {"name": "http-5xx", "namespace": NAMESPACE, "failures": "Responses5xx",
                            "total": "Requests", "dimensions": {"Service": "orders"},
                            "versionDimension": "FunctionVersion"}
# Every call runs the handler and its Powertools Metrics (about 0.1 ms each here): fewer calls than the default,
# and a first step of 50% so that publish finds the alias's traffic enough to prove a healthy version in time.
RATE = 2_000.0


@pytest.fixture
def emitting(stack: LocalStack) -> Iterator[tuple[SampleFunction, TrafficSimulator]]:
    """orders-api on version 1, emitting its metrics, and its callers."""
    fn = SampleFunction(FUNCTION, ALIAS, stack.role_arn)
    fn.create(metrics_namespace=NAMESPACE)
    callers = TrafficSimulator(FUNCTION, ALIAS, rate=RATE)
    callers.start()
    # As in AWS, the old version has reported its metrics before the release is asked for (else it is refused).
    wait_for_metric(NAMESPACE, "Responses5xx")
    yield fn, callers
    callers.stop()


def where() -> tuple[str, dict[str, float]]:
    alias = get_alias()
    return alias["FunctionVersion"], weights_of(alias)


def rules_of(check: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    return [r for r in check["health"]["rules"] if r["rule"] == rule]


def test_a_version_answering_500s_is_rolled_back_on_the_application_metric(
        stack: LocalStack, emitting: tuple[SampleFunction, TrafficSimulator]) -> None:
    fn, _ = emitting
    version = fn.publish("v2", error_rate=0.0, server_error_rate=0.2, metrics_namespace=NAMESPACE)
    result = release(stack, version=version, strategy={"steps": [50, 100], "intervalSeconds": 4},
                     health={"checkIntervalSeconds": 2, "metrics": [HTTP_5XX]})
    assert result.error == "HealthCheckFailed", result.cause
    assert "Responses5xx" in (result.cause or "") and "http-5xx" in (result.cause or "")
    assert state_names.PROMOTE not in result.entered()
    assert where() == ("1", {})
    failing = result.checks()[-1]
    # Lambda saw no error at all: only the application's metric tells.
    assert failing["health"]["canary"]["errors"] == 0 and failing["health"]["canary"]["invocations"] > 0
    assert any(r["verdict"] == "fail" for r in rules_of(failing, "metric-rate"))
    # Its numbers are in the check's report, and in the line `watch` prints: the new version's 5xx, the old one's.
    [metric] = failing["health"]["metrics"]
    assert (metric["name"], metric["kind"], metric["measured"]) == ("http-5xx", "rate",
                                                                     "OrdersApp Responses5xx/Requests")
    assert metric["canary"]["errors"] > 0.1 * metric["canary"]["invocations"] > 0
    assert metric["baseline"]["errors"] < 0.05 * metric["baseline"]["invocations"]
    watched = describe_check(failing)
    assert f"http-5xx: new {metric['canary']['errors']}/{metric['canary']['invocations']}" in watched


def test_a_healthy_version_with_application_metrics_is_promoted(
        stack: LocalStack, emitting: tuple[SampleFunction, TrafficSimulator]) -> None:
    fn, _ = emitting
    version = fn.publish("v2", error_rate=0.0, metrics_namespace=NAMESPACE)
    result = release(stack, version=version, strategy={"steps": [50, 100], "intervalSeconds": 4},
                     health={"checkIntervalSeconds": 2, "metrics": [HTTP_5XX]})
    assert result.status == "SUCCEEDED", result.cause
    assert where() == (version, {})
    passing = result.checks()[-1]
    assert [r["verdict"] for r in rules_of(passing, "metric-rate") if r["window"] == "step"] == ["pass"]
    assert "http-5xx" in (passing["health"]["ruledOut"] or "")


def test_a_named_metric_that_never_reports_is_inconclusive_never_healthy(
        stack: LocalStack, emitting: tuple[SampleFunction, TrafficSimulator]) -> None:
    fn, _ = emitting
    # The old version emits its metrics (CloudWatch knows them: the input is accepted); the new one emits none.
    version = fn.publish("v2", error_rate=0.0)
    result = release(stack, version=version, strategy={"steps": [50, 100], "intervalSeconds": 2},
                     health={"checkIntervalSeconds": 1, "maxBakeSeconds": 4, "metrics": [HTTP_5XX]})
    assert result.error == "InsufficientEvidence", result.cause
    assert where() == ("1", {})
    checks = result.checks()
    assert {c["health"]["verdict"] for c in checks} == {"inconclusive"}
    said = rules_of(checks[-1], "metric-rate")[0]["reason"]
    assert "http-5xx" in said and "no data of the new version's Responses5xx or Requests" in said, said


def _entered(result: Any, state: str) -> float:
    return next(float(e["timestamp"].timestamp()) for e in result.events
                if e.get("stateEnteredEventDetails", {}).get("name") == state)


def test_an_application_metric_readable_sooner_fails_the_step_before_aws_lambda_s_data_settles(
        stack: LocalStack, emitting: tuple[SampleFunction, TrafficSimulator]) -> None:
    fn, _ = emitting
    version = fn.publish("v2", error_rate=0.0, server_error_rate=0.3, metrics_namespace=NAMESPACE)
    # AWS/Lambda's metrics judged 8 s late, the application's 2 s (its datapoints arrive 1.5 s late here).
    result = release(stack, version=version, strategy={"steps": [50, 100], "intervalSeconds": 10},
                     health={"checkIntervalSeconds": 2, "metricDelaySeconds": 8,
                             "metrics": [{**HTTP_5XX, "metricDelaySeconds": 2}]})
    assert result.error == "HealthCheckFailed", result.cause
    assert where() == ("1", {})
    failing = result.checks()[-1]
    assert failing["health"]["canary"]["invocations"] == 0  # nothing of AWS/Lambda's had settled yet
    assert any(r["verdict"] == "fail" for r in rules_of(failing, "metric-rate"))
    # Rolled back at the application metric's pace: before the first check AWS/Lambda's delay allows (an interval,
    # the delay and a period after the shift: 11 s).
    took = _entered(result, state_names.ROLLBACK_MAP) - _entered(result, state_names.STEP_BEGINS)
    print(f"shift -> rollback {took:.1f} s")
    assert took < 2 + 8 + 1, took
