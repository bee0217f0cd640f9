"""The check-health Lambda on metrics in (moto's) CloudWatch: the production query, the verdict in its
output and in its structured log line, tagged with the execution id."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from bluegreen.aws import settings
from bluegreen.jobs.handler_support import logger
from bluegreen.local.stack import REGION, local_aws, project_root
from bluegreen.local.stand_ins.invoker import FakeContext
from bluegreen.local.stand_ins.lambda_code import template_handler
from bluegreen.local.traffic import code, wait_until_updated

EXECUTION_ID = "arn:aws:states:us-east-1:123456789012:execution:bluegreen:release-42"


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with local_aws():
        # The deployments table, where the check looks for an operator's "promote now".
        boto3.client("dynamodb", region_name=REGION).create_table(
            TableName="deployments", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                                  {"AttributeName": "sk", "AttributeType": "S"}])
        # The alias where the release left it: version 1 with 10% on version 2 (the check looks).
        lam = boto3.client("lambda", region_name=REGION)
        role = boto3.client("iam", region_name=REGION).create_role(RoleName="fn", AssumeRolePolicyDocument="{}")
        lam.create_function(FunctionName="orders-api", Runtime="python3.12", Role=role["Role"]["Arn"],
                            Handler="app.handler", Code={"ZipFile": code("v1")})
        lam.publish_version(FunctionName="orders-api")
        wait_until_updated(lam, "orders-api")
        lam.update_function_code(FunctionName="orders-api", ZipFile=code("v2"))
        wait_until_updated(lam, "orders-api")
        lam.publish_version(FunctionName="orders-api")
        lam.create_alias(FunctionName="orders-api", Name="prod", FunctionVersion="1",
                         RoutingConfig={"AdditionalVersionWeights": {"2": 0.1}})
        with settings.provided({settings.DEPLOYMENTS_TABLE: "deployments"}):
            yield boto3.client("cloudwatch", region_name=REGION)


def put(cloudwatch: Any, version: str, at: datetime, counts: tuple[int, int], durations: list[float]) -> None:
    invocations, errors = counts
    dims = [{"Name": "FunctionName", "Value": "orders-api"}, {"Name": "Resource", "Value": "orders-api:prod"},
            {"Name": "ExecutedVersion", "Value": version}]
    cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=[
        {"MetricName": "Invocations", "Dimensions": dims, "Value": invocations, "Timestamp": at},
        {"MetricName": "Errors", "Dimensions": dims, "Value": errors, "Timestamp": at},
        {"MetricName": "Duration", "Dimensions": dims, "Values": durations, "Timestamp": at},
    ])


def task(shifted_at: datetime) -> dict[str, Any]:
    target = {"functionName": "orders-api", "alias": "prod", "oldVersion": "1", "newVersion": "2", "action": "shift"}
    plan = {"targets": [target], "action": "shift", "strategy": "custom", "weights": [10], "stepCount": 1,
            "bakeSeconds": 300, "health": {},
            "checkIntervalSeconds": 60, "maxBakeSeconds": 600, "checksPlanned": 5}
    progress = {"stepIndex": 0, "weight": 10, "nextStepIndex": 1, "isLastStep": True,
                "shiftedAt": shifted_at.isoformat()}
    return {"executionArn": EXECUTION_ID, "plan": plan, "progress": progress}


def test_a_failing_check_is_in_the_output_and_in_the_log(cloudwatch: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    log = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", log)
    shifted = datetime.now(UTC) - timedelta(minutes=2)
    put(cloudwatch, "1", shifted + timedelta(seconds=30), (9000, 45), [20.0, 21.0, 22.0, 40.0])
    put(cloudwatch, "2", shifted + timedelta(seconds=30), (1000, 40), [20.0, 22.0, 23.0, 41.0])
    context = FakeContext("bluegreen-CheckHealthFunction",
                          f"arn:aws:lambda:{REGION}:123456789012:function:bluegreen-CheckHealthFunction")

    out = template_handler("CheckHealthFunction", project_root())(task(shifted), context)

    assert out["decision"] == "rollback"
    health = out["health"]
    assert health["verdict"] == "fail" and "4.00% (40/1000) vs baseline 0.50% (45/9000)" in health["reason"]
    assert (health["canary"]["invocations"], health["baseline"]["invocations"]) == (1000, 9000)
    assert health["canary"]["p99Ms"] == 41.0 and health["baseline"]["p50Ms"] == 21.0  # percentiles, as in AWS
    assert {r["rule"] for r in health["rules"]} >= {"evidence", "error-rate", "error-ceiling", "latency", "throttles"}
    assert out["checks"][-1]["verdict"] == "fail"
    lines = [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]
    logged = next(line for line in lines if line.get("message") == "health checked")
    assert logged["correlation_id"] == EXECUTION_ID
    assert logged["decision"] == "rollback" and logged["report"]["verdict"] == "fail"
    assert "AWS_SECRET_ACCESS_KEY" not in json.dumps(lines)
