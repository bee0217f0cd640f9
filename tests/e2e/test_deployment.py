"""End to end: statemachine/deployment.asl.json executed by moto, the real handlers, the alias asserted."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, release, weights_of


def test_healthy_release_promotes_the_new_version(stack: LocalStack, sample: SampleFunction,
                                                  traffic: TrafficSimulator) -> None:
    # Given new healthy code in $LATEST, released by its CodeSha256
    sha = sample.stage("v2", error_rate=0.0)
    # When the deployment runs
    result = release(stack, codeSha256=sha)
    # Then the alias is 100% on the published version 2 with no routing config left
    assert result.status == "SUCCEEDED", result.cause
    alias = get_alias()
    assert alias["FunctionVersion"] == "2"
    assert weights_of(alias) == {}
    # and traffic went 10% then 50% to version 2, each step judged healthy on real invocations (on settled data:
    # a step whose first check covers less than its bake bakes on to the next)
    checks = [c["health"] for c in result.checks()]
    assert [(c["health"]["weight"], c["health"]["verdict"]) for c in result.checks() if c["decision"] != "bake"] == [
        (10, "pass"), (50, "pass")]
    assert all(c["canary"]["invocations"] >= 20 and c["baseline"]["invocations"] > 0 for c in checks)
    observed = {tuple(sorted(s.weights.items())) for s in traffic.samples}
    assert (("1", 0.9), ("2", 0.1)) in observed and (("1", 0.5), ("2", 0.5)) in observed


def test_failing_release_rolls_back_to_the_old_version(stack: LocalStack, sample: SampleFunction,
                                                       traffic: TrafficSimulator) -> None:
    sha = sample.stage("v2", error_rate=0.3)
    result = release(stack, codeSha256=sha)
    assert result.status == "FAILED"
    assert result.error == "HealthCheckFailed"
    assert "error rate" in (result.cause or "") and "rolled back to version 1" in (result.cause or "")
    alias = get_alias()
    assert alias["FunctionVersion"] == "1"
    assert weights_of(alias) == {}
    # It never went past the first step.
    assert [(c["health"]["weight"], c["decision"]) for c in result.checks()] == [(10, "rollback")]


def test_no_traffic_is_not_enough_evidence_and_rolls_back(stack: LocalStack, sample: SampleFunction) -> None:
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version)
    assert result.error == "InsufficientEvidence"
    alias = get_alias()
    assert (alias["FunctionVersion"], weights_of(alias)) == ("1", {})


def test_alarm_in_alarm_rolls_back(stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    cloudwatch.put_metric_alarm(AlarmName="orders-api-errors", Namespace="AWS/Lambda", MetricName="Errors",
                                Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName="orders-api-errors", StateValue="ALARM", StateReason="test")
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version, health={"alarms": ["orders-api-errors"]})
    assert result.error == "HealthCheckFailed"
    assert "orders-api-errors" in (result.cause or "")
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})


def test_a_composite_alarm_among_a_hundred_is_judged(stack: LocalStack, sample: SampleFunction,
                                                     traffic: TrafficSimulator) -> None:
    """Alarms as AWS has them: a composite alarm (its state from its rule) named among 100 alarms, more than
    one page of DescribeAlarms."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    names = [f"orders-api-{i:03}" for i in range(99)]
    for name in names:
        cloudwatch.put_metric_alarm(AlarmName=name, Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum",
                                    Period=60, EvaluationPeriods=1, Threshold=1,
                                    ComparisonOperator="GreaterThanThreshold")
    cloudwatch.put_composite_alarm(AlarmName="orders-health", AlarmRule=f'ALARM("{names[5]}") OR ALARM("{names[7]}")')
    healthy = release(stack, version=sample.publish("v2", error_rate=0.0),
                      health={"alarms": [*names, "orders-health"]}, strategy="AllAtOnce")
    assert healthy.status == "SUCCEEDED", healthy.cause
    # One alarm under the composite fires: the composite is in ALARM and the next release rolls back on it.
    cloudwatch.set_alarm_state(AlarmName=names[7], StateValue="ALARM", StateReason="test")
    result = release(stack, version=sample.publish("v3", error_rate=0.0),
                     health={"alarms": ["orders-health", *names[10:]]})
    assert result.error == "HealthCheckFailed" and "orders-health" in (result.cause or ""), result.cause
    assert names[7] not in (result.cause or "")  # only the alarms named are judged
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("2", {})


def test_an_unknown_alarm_is_refused_up_front_with_its_name(stack: LocalStack, sample: SampleFunction) -> None:
    boto3.client("cloudwatch", region_name=REGION).put_composite_alarm(AlarmName="orders-health", AlarmRule="FALSE")
    before = get_alias()
    result = release(stack, version=sample.publish("v2", error_rate=0.0),
                     health={"alarms": ["orders-health", "no-such-alarm"]})
    assert result.error == "InvalidInput"
    assert result.cause is not None and "health.alarms: no CloudWatch alarm named no-such-alarm" in result.cause
    assert get_alias() == before


def test_task_crashing_mid_shift_rolls_back(stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a shift task that moves the alias to 50% and then crashes
    from bluegreen.aws.aliases import write_owned as real
    from bluegreen.jobs import shifting
    calls: list[int] = []

    def crash_on_second_step(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        state = real(*args, **kwargs)
        if len(calls) == 2:
            assert weights_of(get_alias()) == {"2": 0.5}  # the alias really is split now
            raise RuntimeError("worker lost mid-shift")
        return state

    monkeypatch.setattr(shifting, "write_owned", crash_on_second_step)
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version)
    # Then the execution rolls back and the alias is whole again, on the old version
    assert result.status == "FAILED"
    assert result.error == "RuntimeError"
    assert "worker lost mid-shift" in (result.cause or "")
    assert "Roll back to the old version" in result.entered()
    alias = get_alias()
    assert (alias["FunctionVersion"], weights_of(alias)) == ("1", {})


def test_all_at_once_promotes_without_steps(stack: LocalStack, sample: SampleFunction) -> None:
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version, strategy="CodeDeployDefault.LambdaAllAtOnce")
    assert result.status == "SUCCEEDED"
    assert "Shift traffic to the new version" not in result.entered()
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == (version, {})


def test_releasing_the_current_version_is_a_successful_no_op(stack: LocalStack, sample: SampleFunction) -> None:
    before = get_alias()
    # Unchanged code: PublishVersion returns the version the alias is already on.
    result = release(stack)
    assert result.status == "SUCCEEDED"
    assert "Already released" in result.entered()
    assert get_alias() == before


def test_missing_alias_is_created_at_the_new_version(stack: LocalStack, sample: SampleFunction) -> None:
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version, alias="staging")
    assert result.status == "SUCCEEDED"
    staging = get_alias("staging")
    assert (staging["FunctionVersion"], weights_of(staging)) == (version, {})
    assert get_alias()["FunctionVersion"] == "1"  # prod untouched


def test_publishes_latest_only_when_its_code_matches(stack: LocalStack, sample: SampleFunction) -> None:
    sample.stage("v2", error_rate=0.0)
    before = get_alias()
    result = release(stack, codeSha256="A" * 43 + "=")
    assert result.error == "InvalidInput"
    assert "codeSha256" in (result.cause or "")
    assert get_alias() == before
    versions = boto3.client("lambda", region_name=REGION).list_versions_by_function(FunctionName=FUNCTION)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1"]  # nothing published


def test_an_older_version_is_released_when_the_input_allows_the_downgrade(stack: LocalStack,
                                                                          sample: SampleFunction) -> None:
    fields = _downgrade(stack, sample)
    result = release(stack, **fields, allowDowngrade=True, strategy="AllAtOnce")
    assert result.status == "SUCCEEDED", result.cause
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("2", {})


def _different_role(stack: LocalStack, sample: SampleFunction) -> dict[str, Any]:
    iam = boto3.client("iam", region_name=REGION)
    role = iam.create_role(RoleName="other-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    boto3.client("lambda", region_name=REGION).update_function_configuration(FunctionName=FUNCTION, Role=role)
    return {"version": sample.publish("v2", error_rate=0.0)}


def _split_alias(stack: LocalStack, sample: SampleFunction) -> dict[str, Any]:
    version = sample.publish("v2", error_rate=0.0)
    boto3.client("lambda", region_name=REGION).update_alias(
        FunctionName=FUNCTION, Name=ALIAS, RoutingConfig={"AdditionalVersionWeights": {version: 0.2}})
    return {"version": version}


def _downgrade(stack: LocalStack, sample: SampleFunction) -> dict[str, Any]:
    older = sample.publish("v2", error_rate=0.0)
    newer = sample.publish("v3", error_rate=0.0)
    boto3.client("lambda", region_name=REGION).update_alias(FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=newer)
    return {"version": older}


def _other_account(stack: LocalStack, sample: SampleFunction) -> dict[str, Any]:
    return {"functionName": f"arn:aws:lambda:{REGION}:999999999999:function:{FUNCTION}", "version": "1"}


def _unmanaged(stack: LocalStack, sample: SampleFunction) -> dict[str, Any]:
    return {"functionName": "billing-api", "version": "1"}


_HTTP_5XX = {"name": "http-5xx", "namespace": "OrdersApp", "failures": "Responses5xx", "total": "Requests",
             "dimensions": {"Service": "orders"}, "versionDimension": "FunctionVersion"}

BAD_INPUTS: dict[str, tuple[Any, str, str]] = {
    # case: (input changes, or a function making them; field named; words in the cause)
    "unknown function": ({"functionName": "orders-missing", "version": "1"}, "functionName", "does not exist"),
    "missing alias field": ({"alias": None}, "alias", "Field required"),
    "version that does not exist": ({"version": "42"}, "version", "not a published version"),
    "$LATEST as the target": ({"version": "$LATEST"}, "version", "$LATEST cannot be released"),
    "weight above 100": ({"strategy": {"steps": [10, 150, 100], "intervalSeconds": 1}}, "strategy.steps",
                         "between 1 and 100"),
    "negative weight": ({"strategy": {"steps": [-10, 100], "intervalSeconds": 1}}, "strategy.steps",
                        "between 1 and 100"),
    "unknown strategy": ({"strategy": "Canary10Percent7Minutes"}, "strategy", "unknown strategy"),
    "alias already split": (_split_alias, "alias", "already splits traffic"),
    "older version without allowDowngrade": (_downgrade, "version", "is older than version 3"),
    "versions with different roles": (_different_role, "version", "different execution roles"),
    "function of another account": (_other_account, "functionName", "account 999999999999"),
    "function outside the managed set": (_unmanaged, "functionName", "not one of the functions this stack manages"),
    "unknown alarm": ({"version": "1", "health": {"alarms": ["no-such-alarm"]}}, "health.alarms", "no-such-alarm"),
    "unknown field": ({"version": "1", "dryRun": True}, "dryRun", "unknown field"),
    "application metric CloudWatch does not know": (
        {"version": "1", "health": {"metrics": [_HTTP_5XX]}}, "health.metrics.0.failures",
        "CloudWatch has no metric Responses5xx in namespace OrdersApp with dimensions Service=orders"),
    "application metric in an AWS namespace": (
        {"version": "1", "health": {"metrics": [{**_HTTP_5XX, "namespace": "AWS/ApiGateway"}]}}, "health.metrics.0",
        "AWS/ namespaces are AWS's own"),
    "application rate without its total": (
        {"version": "1", "health": {"metrics": [{**_HTTP_5XX, "total": None}]}}, "health.metrics.0",
        "a rate names both 'failures' and 'total'"),
    "application metrics of one name": (
        {"version": "1", "health": {"metrics": [_HTTP_5XX, {**_HTTP_5XX, "failures": "Errors"}]}}, "health",
        "each needs its own name (http-5xx repeated)"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_rejected_and_the_alias_left_as_it_was(case: str, stack: LocalStack,
                                                            sample: SampleFunction) -> None:
    change, field, words = BAD_INPUTS[case]
    fields = change(stack, sample) if callable(change) else change
    before = get_alias()
    result = release(stack, **fields)
    assert result.status == "FAILED"
    assert result.error == "InvalidInput"
    assert f"{field}:" in (result.cause or "") and words in (result.cause or ""), result.cause
    assert "Release rejected" in result.entered()
    assert get_alias() == before  # byte for byte, RevisionId included
