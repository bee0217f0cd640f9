"""The application's own metrics (health.metrics) on synthetic numbers and real Powertools output: the input's
rules, the rate and latency verdicts against the old version, a metric not reported, and the embedded metric
format as CloudWatch Logs extracts it (the local stand-in)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricResolution, MetricUnit
from pydantic import ValidationError

from bluegreen.aws.application_metrics import app_metric_queries
from bluegreen.aws.evidence import Series
from bluegreen.cli.plan import dry_run
from bluegreen.contracts.health_config import AppMetric, HealthConfig
from bluegreen.contracts.request import parse_request
from bluegreen.decisions.app_metrics import AppEvidence, metric_rules
from bluegreen.decisions.cadence import cadence_of
from bluegreen.decisions.strategy import StepPlan
from bluegreen.decisions.windows import Window
from bluegreen.errors import InvalidInput
from bluegreen.local.stand_ins import emf

HTTP_5XX: dict[str, Any] = {"name": "http-5xx", "namespace": "OrdersApp", "failures": "Responses5xx",
                            "total": "Requests", "dimensions": {"Service": "orders"},
                            "versionDimension": "FunctionVersion"}
CHECKOUT: dict[str, Any] = {"name": "checkout", "namespace": "OrdersApp", "latency": "CheckoutLatency", "stat": "p99"}
ALPHA = 0.001


def config(*metrics: dict[str, Any]) -> HealthConfig:
    return HealthConfig.model_validate({"metrics": list(metrics)})


# --- the input ------------------------------------------------------------------------------------

def test_the_issue_s_examples_are_accepted_as_written() -> None:
    health = config(HTTP_5XX, {**CHECKOUT, "mustRuleOut": {"latencyRatio": 1.5}, "metricDelaySeconds": 5})
    rate, latency = health.metrics
    assert (rate.kind, rate.measured) == ("rate", "OrdersApp Responses5xx/Requests")
    assert (latency.kind, latency.metric_delay_seconds, latency.must_rule_out.latency_ratio) == ("latency", 5, 1.5)


@pytest.mark.parametrize(("metric", "words"), [
    ({**HTTP_5XX, "latency": "CheckoutLatency"}, "not both"),
    ({**HTTP_5XX, "total": None}, "a rate names both 'failures' and 'total'"),
    ({"name": "x", "namespace": "OrdersApp"}, "name 'failures' and 'total' (a rate) or 'latency'"),
    ({**HTTP_5XX, "namespace": "AWS/Lambda"}, "AWS/ namespaces are AWS's own"),
    ({**HTTP_5XX, "total": "Responses5xx"}, "two different metrics"),
    ({**HTTP_5XX, "dimensions": {"FunctionVersion": "7"}}, "must not hold the version dimension"),
    ({**CHECKOUT, "stat": "p100"}, "String should match pattern"),
    ({**HTTP_5XX, "colour": "red"}, "Extra inputs are not permitted"),
])
def test_a_bad_metric_is_refused_with_the_reason(metric: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=r"metrics\.0") as raised:
        config(metric)
    assert words in str(raised.value)


def test_a_release_of_several_functions_cannot_name_application_metrics() -> None:
    targets = [{"functionName": "orders-api", "alias": "prod"}, {"functionName": "payments-api", "alias": "prod"}]
    health = {"metrics": [HTTP_5XX]}
    with pytest.raises(InvalidInput, match=r"health\.metrics: application metrics are judged in a release of one"):
        parse_request({"targets": targets, "health": health})
    parse_request({"targets": targets[:1], "health": health})  # one function: accepted


def test_queries_name_each_version_by_its_dimension_beside_the_fixed_ones() -> None:
    queries = app_metric_queries(tuple(config(HTTP_5XX).metrics), {"canary": "2", "baseline": "1"}, periods=[60])
    assert [q["Id"] for q in queries] == ["canary_m0failures", "canary_m0total", "baseline_m0failures",
                                          "baseline_m0total"]
    metric = queries[0]["MetricStat"]["Metric"]
    assert (metric["Namespace"], metric["MetricName"]) == ("OrdersApp", "Responses5xx")
    assert metric["Dimensions"] == [{"Name": "Service", "Value": "orders"}, {"Name": "FunctionVersion", "Value": "2"}]


def test_passing_waits_for_the_latest_metric_and_checking_starts_with_the_soonest() -> None:
    health = HealthConfig.model_validate({"metrics": [{**HTTP_5XX, "metricDelaySeconds": 15},
                                                      {**CHECKOUT, "metricDelaySeconds": 240}]})
    cadence = cadence_of(health, StepPlan("canary", (10,), 600), 1, default_delay=180)
    assert (cadence.delay, cadence.soonest) == (240, 15)
    alone = cadence_of(HealthConfig(), StepPlan("canary", (10,), 600), 1, default_delay=180)
    assert (alone.delay, alone.soonest) == (180, 180)


def test_plan_says_how_soon_each_metric_shows_a_failure() -> None:
    request = parse_request({"functionName": "orders-api", "alias": "prod", "strategy": "Canary10Percent5Minutes",
                             "health": {"checkIntervalSeconds": 10,
                                        "metrics": [{**HTTP_5XX, "metricDelaySeconds": 15, "storageResolution": 1},
                                                    CHECKOUT]}})
    run = dry_run(request)
    # An interval, a period and the delay: AWS/Lambda's one-minute period and 180 s; the one-second metric's 10 s
    # period and own 15 s; the standard-resolution latency metric's minute and the release's delay (the latest).
    planned = run.as_json()
    assert planned["metricPeriodSeconds"] == {"AWS/Lambda": 60, "http-5xx": 10, "checkout": 60}
    assert planned["failureSeenWithinSeconds"] == {"AWS/Lambda": 250, "http-5xx": 35, "checkout": 250}
    assert "cloudwatch:ListMetrics (each application metric exists)" in run.actions["validate and publish"]


# --- the verdicts -----------------------------------------------------------------------------------

def rules(metric: dict[str, Any], canary: Window, baseline: Window | None,
          unreported: tuple[str, ...] = ()) -> list[tuple[str, str, str]]:
    health = config(metric)
    found = metric_rules(AppEvidence(health.metrics[0], (canary, baseline), None, unreported), health, ALPHA)
    return [(r.rule, r.verdict, r.reason) for r in found]


def test_a_5xx_rate_well_above_the_old_version_s_fails_naming_the_metric() -> None:
    [(name, verdict, reason)] = rules(HTTP_5XX, Window(invocations=400, errors=80), Window(invocations=3600, errors=4))
    assert (name, verdict) == ("metric-rate", "fail")
    assert reason.startswith("http-5xx (OrdersApp Responses5xx/Requests): error rate 20.00% (80/400)"), reason


def test_a_5xx_rate_like_the_old_version_s_passes_with_its_own_tolerance() -> None:
    [(_, verdict, reason)] = rules(HTTP_5XX, Window(invocations=4000, errors=4), Window(invocations=36000, errors=36))
    assert verdict == "pass", reason
    tight = {**HTTP_5XX, "mustRuleOut": {"errorRateRatio": 1.01, "errorRateMargin": 0.0001}}
    [(_, verdict, _)] = rules(tight, Window(invocations=4000, errors=4), Window(invocations=36000, errors=36))
    assert verdict == "inconclusive"


def test_a_metric_the_new_version_never_reported_is_inconclusive_not_zero_failures() -> None:
    [(_, verdict, reason)] = rules(HTTP_5XX, Window(invocations=4000, errors=0), Window(invocations=36000, errors=36),
                                   unreported=("Responses5xx",))
    assert verdict == "inconclusive"
    assert "no data of the new version's Responses5xx yet" in reason and "Service=orders" in reason


def test_a_slower_latency_metric_fails_and_says_its_statistic() -> None:
    [(name, verdict, reason)] = rules({**CHECKOUT, "stat": "p90"}, Window(invocations=5000, p99_ms=90.0, average_ms=60),
                                      Window(invocations=5000, p99_ms=30.0, average_ms=20))
    assert (name, verdict) == ("metric-latency", "fail")
    assert "checkout (OrdersApp CheckoutLatency p90): p90 duration 90.0 ms vs baseline 30.0 ms" in reason


def test_series_reads_a_rate_and_tells_an_unreported_metric() -> None:
    metric = AppMetric.model_validate(HTTP_5XX)
    t0, t1 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC), datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    series = Series()
    series.points["canary_m0total"] = {t0: 100.0, t1: 300.0}
    series.points["canary_m0failures"] = {t1: 30.0}
    assert series.app_window("canary", 0, metric) == Window(invocations=400, errors=30)
    assert series.app_window("canary", 0, metric, since=t1) == Window(invocations=300, errors=30)
    assert series.app_unreported("canary", 0, metric, until=t1) == ["Responses5xx"]
    assert series.app_unreported("canary", 0, metric, until=datetime(2026, 1, 1, 0, 2, tzinfo=UTC)) == []


# --- the embedded metric format ---------------------------------------------------------------------

def powertools_line(version: str, status: int) -> str:
    """What the example application prints for one call: Powertools Metrics' own output."""
    printed: list[str] = []
    metrics = EphemeralMetrics(namespace="OrdersApp")
    metrics.add_dimension(name="Service", value="orders")
    metrics.add_dimension(name="FunctionVersion", value=version)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1, resolution=MetricResolution.High)
    metrics.add_metric(name="Responses5xx", unit=MetricUnit.Count, value=int(status >= 500),
                       resolution=MetricResolution.High)
    metrics.add_metric(name="CheckoutLatency", unit=MetricUnit.Milliseconds, value=25.0)
    blob = metrics.serialize_metric_set()
    printed.append(json.dumps(blob) + "\n")
    return printed[0]


def test_powertools_output_becomes_per_version_metrics_at_its_resolution() -> None:
    lines = [powertools_line("2", 500), powertools_line("2", 200), powertools_line("1", 200)]
    found = emf.metric_data(lines)["OrdersApp"]
    by_key = {(d["MetricName"], d["Dimensions"][1]["Value"]): d for d in found}
    requests, failures = by_key[("Requests", "2")], by_key[("Responses5xx", "2")]
    assert requests["Dimensions"] == [{"Name": "Service", "Value": "orders"}, {"Name": "FunctionVersion", "Value": "2"}]
    assert (requests["StatisticValues"]["Sum"], failures["StatisticValues"]["Sum"]) == (2.0, 1.0)
    assert by_key[("Responses5xx", "1")]["StatisticValues"] == {"SampleCount": 1.0, "Sum": 0.0, "Minimum": 0.0,
                                                                "Maximum": 0.0}
    assert requests["StorageResolution"] == 1
    latency = by_key[("CheckoutLatency", "2")]
    assert (latency["Values"], latency["Counts"], latency["StorageResolution"]) == ([25.0], [2.0], 60)
    assert latency["Timestamp"].second == 0  # standard resolution: stored by the minute


@pytest.mark.parametrize("breakage", ["not json", "no _aws", "no timestamp", "dimension missing",
                                      "dimension not a string", "101 values", "value not a number"])
def test_a_line_breaking_the_format_stays_a_log_line(breakage: str) -> None:
    emf_object = json.loads(powertools_line("2", 200))
    if breakage == "not json":
        line = "{oops"
    else:
        if breakage == "no _aws":
            del emf_object["_aws"]
        elif breakage == "no timestamp":
            del emf_object["_aws"]["Timestamp"]
        elif breakage == "dimension missing":
            del emf_object["Service"]
        elif breakage == "dimension not a string":
            emf_object["FunctionVersion"] = 2
        elif breakage == "101 values":
            emf_object["Requests"] = [1.0] * 101
        elif breakage == "value not a number":
            emf_object["Requests"] = "1"
        line = json.dumps(emf_object)
    found = emf.metric_data([line])
    names = {d["MetricName"] for d in found.get("OrdersApp", [])}
    if breakage in ("101 values", "value not a number"):
        assert names == {"Responses5xx", "CheckoutLatency"}  # the others of the line still count
    else:
        assert names == set()


def test_only_what_a_captured_block_prints_is_taken() -> None:
    with emf.powertools_metrics_routed():
        assert emf.routing()
        metrics = EphemeralMetrics(namespace="OrdersApp")
        metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1)
        with emf.captured() as lines:
            metrics.flush_metrics()
        assert len(lines) == 1 and json.loads(lines[0])["Requests"] == [1.0]
    assert not emf.routing()
