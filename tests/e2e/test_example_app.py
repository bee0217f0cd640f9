"""The team's side (examples/orders-app): its template deployed into the embedded AWS as CloudFormation
would, a release through the real state machine, then a later deploy with new code that changes $LATEST
only and leaves every alias where the release put it."""

from __future__ import annotations

import json

import boto3
import pytest

from bluegreen.local import execution
from bluegreen.local.app_stack import LocalApp, alias_behind_route, deploy_app, redeploy
from bluegreen.local.demo import HTTP_5XX
from bluegreen.local.stack import REGION, LocalStack, project_root
from bluegreen.local.traffic import TrafficSimulator, wait_for_metric
from tests.conftest import get_alias, weights_of

FUNCTION = "orders-api"
SMOKE = {"invoke": {"payload": {"requestId": "smoke"}}, "expect": {"statusCode": 200}}


@pytest.fixture
def app(stack: LocalStack) -> LocalApp:
    return deploy_app(stack.router, project_root())


def aliases() -> dict[str, str]:
    return {name: get_alias(name, FUNCTION)["FunctionVersion"] for name in ("dev", "test", "prod")}


def versions() -> list[str]:
    lam = boto3.client("lambda", region_name=REGION)
    return [v["Version"] for v in lam.list_versions_by_function(FunctionName=FUNCTION)["Versions"]]


def test_the_first_deploy_creates_the_function_its_aliases_and_the_api_that_invokes_them(app: LocalApp) -> None:
    assert aliases() == {"dev": "$LATEST", "test": "1", "prod": "1"}
    assert versions() == ["$LATEST", "1"]
    # Each route invokes its alias ...
    assert {path: alias_behind_route(app, "OrdersApi", path) for path in ("/orders", "/test/orders", "/dev/orders")} \
        == {"/orders": "prod", "/test/orders": "test", "/dev/orders": "dev"}
    # ... and API Gateway may invoke each alias, from its own route only.
    lam = boto3.client("lambda", region_name=REGION)
    api = app.ref("OrdersApi")
    for alias, route in (("prod", "GET/orders"), ("test", "GET/test/orders"), ("dev", "GET/dev/orders")):
        policy = json.loads(lam.get_policy(FunctionName=FUNCTION, Qualifier=alias)["Policy"])["Statement"]
        # (moto answers every qualifier's statements: the alias's are those on its ARN)
        [statement] = [s for s in policy if s["Resource"].endswith(f":function:{FUNCTION}:{alias}")]
        assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
        assert statement["Condition"]["ArnLike"]["AWS:SourceArn"].endswith(f":{api}/*/{route}")


def test_a_later_deploy_with_new_code_leaves_the_released_aliases_alone(stack: LocalStack, app: LocalApp) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    redeploy(app, stack.router, code="v2")  # the team's sam deploy of new code
    sha = lam.get_function(FunctionName=FUNCTION)["Configuration"]["CodeSha256"]
    # As deployed by its template, every call emits its Requests and Responses5xx per version (Powertools Metrics,
    # about 0.1 ms a call here: fewer calls than the default), and the release judges them too.
    traffic = TrafficSimulator(FUNCTION, "prod", rate=2_000)
    traffic.start()
    try:
        wait_for_metric("OrdersApp", "Responses5xx")
        result = execution.run(stack, {"functionName": FUNCTION, "alias": "prod", "codeSha256": sha,
                                       "strategy": {"steps": [50, 100], "intervalSeconds": 1},
                                       "stages": [{"alias": "test", "verify": [SMOKE]}],
                                       "health": {"metrics": [HTTP_5XX]}}, timeout=90)
    finally:
        traffic.stop()
    assert result.outcome == "promoted", result.cause
    judged = [r for r in result.checks()[-1]["health"]["rules"] if r["rule"] == "metric-rate"]
    assert [r["verdict"] for r in judged] == ["pass"], judged
    assert aliases() == {"dev": "$LATEST", "test": "2", "prod": "2"}
    # The next sam deploy: new code in $LATEST, nothing else.
    redeploy(app, stack.router, code="v3")
    assert lam.get_function(FunctionName=FUNCTION)["Configuration"]["CodeSha256"] != sha
    assert aliases() == {"dev": "$LATEST", "test": "2", "prod": "2"}
    assert weights_of(get_alias("prod", FUNCTION)) == {}
    assert versions() == ["$LATEST", "1", "2"]
