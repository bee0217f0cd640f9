"""Each function's calls are held to its own IAM policy in template.yaml, as AWS holds them and moto does
not (bluegreen.local.stand_ins.invoker, bluegreen.local.stand_ins.iam):
a call whose action or resource the role does not allow
is refused with AccessDeniedException. Every other end-to-end test therefore also proves that the template
grants what its path calls, on the resources it calls them on; these show the refusal itself, that the
statements reach no further than the managed functions, the stack's table and its bus, and that
`bluegreen plan` lists the calls each task really makes."""

from __future__ import annotations

import re

import boto3
import pytest

from bluegreen.cli.plan import aws_actions
from bluegreen.contracts.request import parse_request
from bluegreen.local import execution
from bluegreen.local.stack import ACCOUNT, REGION, LocalStack
from bluegreen.local.stand_ins.iam import Grant, allowed, iam_action, request_resources, without_action
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, release, weights_of

# The function that runs each task `plan` lists.
TASK_FUNCTIONS = {"validate and publish": "PublishFunction", "each shift": "ShiftTrafficFunction",
                  "each check": "CheckHealthFunction", "promote": "PromoteFunction",
                  "on failure: roll back": "RollbackFunction"}


@pytest.mark.parametrize(("service", "operation", "action"), [
    ("lambda", "GetAlias", "lambda:GetAlias"),
    ("lambda", "Invoke", "lambda:InvokeFunction"),
    ("monitoring", "GetMetricData", "cloudwatch:GetMetricData"),
    ("states", "DescribeExecution", "states:DescribeExecution"),
])
def test_an_api_call_needs_the_iam_action_aws_names(service: str, operation: str, action: str) -> None:
    """The Service Authorization Reference's names: Invoke needs lambda:InvokeFunction, CloudWatch's
    signing name is monitoring but its actions are cloudwatch:*."""
    assert iam_action(service, operation) == action


FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:"


@pytest.mark.parametrize(("action", "params", "resources"), [
    ("lambda:GetAlias", {"FunctionName": "orders-api", "Name": "prod"}, [f"{FN}orders-api", f"{FN}orders-api:prod"]),
    ("lambda:UpdateAlias", {"FunctionName": f"{FN}orders-api", "Name": "prod", "FunctionVersion": "2"},
     [f"{FN}orders-api", f"{FN}orders-api:prod"]),
    ("lambda:PublishVersion", {"FunctionName": "orders-api", "CodeSha256": "x"}, [f"{FN}orders-api"]),
    ("lambda:GetFunctionConfiguration", {"FunctionName": "orders-api", "Qualifier": "3"}, [f"{FN}orders-api:3"]),
    ("lambda:InvokeFunction", {"FunctionName": "orders-api:prod"}, [f"{FN}orders-api:prod"]),
    ("lambda:InvokeFunction", {"FunctionName": f"{ACCOUNT}:function:orders-api", "Qualifier": "7"},
     [f"{FN}orders-api:7"]),
    ("lambda:InvokeFunction", {"FunctionName": "orders-smoke"}, [f"{FN}orders-smoke"]),
    ("dynamodb:UpdateItem", {"TableName": "releases", "Key": {}},
     [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/releases"]),
    ("events:PutEvents", {"Entries": [{"EventBusName": "ops"}, {"Detail": "{}"}, {"EventBusName": "ops"}]},
     [f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/ops"]),
    ("states:DescribeExecution", {"executionArn": "arn:aws:states:x:1:execution:sm:run"},
     ["arn:aws:states:x:1:execution:sm:run"]),
    ("cloudwatch:DescribeAlarms", {"AlarmNames": ["a", "b"]},
     [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:a", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:b"]),
    # Composite alarms come back only to a caller allowed on "*".
    ("cloudwatch:DescribeAlarms", {"AlarmNames": ["a"], "AlarmTypes": ["CompositeAlarm", "MetricAlarm"]}, ["*"]),
    ("cloudwatch:GetMetricData", {"MetricDataQueries": []}, ["*"]),
])
def test_a_call_acts_on_the_resources_its_request_names(action: str, params: dict[str, object],
                                                        resources: list[str]) -> None:
    """The ARNs IAM evaluates: a Lambda call's function, qualified when the call names a version or alias (an
    alias call needs both); the table; each entry's bus (default when unnamed); the execution; each alarm."""
    assert request_resources(action, params) == resources


def test_a_call_the_local_run_cannot_place_is_an_error_not_a_pass() -> None:
    with pytest.raises(NotImplementedError, match="lambda:DeleteFunction"):
        request_resources("lambda:DeleteFunction", {"FunctionName": "orders-api"})


def test_iam_patterns_match_as_iam_reads_them() -> None:
    """``*`` spans colons, actions ignore case, resources do not; every resource of a call must be allowed."""
    grant = Grant("s", frozenset({"lambda:GetAlias"}), (f"{FN}orders-*", f"{FN}orders-*:*"))
    assert allowed([grant], "lambda:getalias", [f"{FN}orders-api", f"{FN}orders-api:prod"]) is None
    assert allowed([grant], "lambda:GetAlias", [f"{FN}Orders-api"]) == f"{FN}Orders-api"
    assert allowed([grant], "lambda:UpdateAlias", [f"{FN}orders-api"]) == f"{FN}orders-api"
    unqualified_only = Grant("s", frozenset({"lambda:GetAlias"}), (f"{FN}orders-api",))
    assert allowed([unqualified_only], "lambda:GetAlias", [f"{FN}orders-api", f"{FN}orders-api:prod"]) == (
        f"{FN}orders-api:prod")


def test_the_roles_reach_only_the_managed_functions_the_stacks_table_and_the_announcement_bus(
        stack: LocalStack) -> None:
    """The template's statements as deployed (ManagedFunctions orders-*,payments-api): aliases of managed
    functions may be moved, no other function's; the check cannot move one at all; no function writes another
    table or announces on a bus other than EventBusName's; nothing invokes $LATEST of a managed function by its
    bare name."""
    grants = {logical_id: fn.granted or () for logical_id, fn in stack.functions.items()}
    alias = {"FunctionName": "orders-api", "Name": "prod"}
    move = request_resources("lambda:UpdateAlias", alias)
    assert allowed(grants["ShiftTrafficFunction"], "lambda:UpdateAlias", move) is None
    assert allowed(grants["RollbackFunction"], "lambda:UpdateAlias", move) is None
    assert allowed(grants["ShiftTrafficFunction"], "lambda:UpdateAlias",
                   request_resources("lambda:UpdateAlias", {**alias, "FunctionName": "billing-api"})) is not None
    assert allowed(grants["CheckHealthFunction"], "lambda:UpdateAlias", move) is not None
    other_table = request_resources("dynamodb:PutItem", {"TableName": "someone-elses"})
    other_bus = request_resources("events:PutEvents", {"Entries": [{"EventBusName": "someone-elses"}]})
    bare_latest = request_resources("lambda:InvokeFunction", {"FunctionName": "orders-api"})
    for logical_id, granted in grants.items():
        assert allowed(granted, "dynamodb:PutItem", other_table) is not None, logical_id
        assert allowed(granted, "events:PutEvents", other_bus) is not None, logical_id
        assert allowed(granted, "lambda:InvokeFunction", bare_latest) is not None, logical_id


def test_a_shift_outside_its_roles_resources_is_refused_and_the_release_rolls_back(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    """A shift Lambda whose role covered payments-api only (ManagedFunctions forgotten for orders-api, say) is
    refused the alias: the release rolls back, the cause naming the resource, the alias 100% on the old version."""
    shift = stack.functions["ShiftTrafficFunction"]
    shift.granted = tuple(
        Grant(g.sid, g.actions, tuple(r for r in g.resources if "orders-" not in r)) for g in shift.granted or ())
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version)
    assert result.outcome == "rolled_back", result.cause
    assert "AccessDeniedException" in (result.cause or "") and f"{FN}orders-api" in (result.cause or "")
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})


def test_a_call_its_role_does_not_allow_is_refused_and_the_release_rolls_back(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    """A check Lambda whose role lacked lambda:GetAlias (as the template's once did) is refused it at the
    first check; the release fails safe: the alias back 100% on the old version, the cause naming the action."""
    check = stack.functions["CheckHealthFunction"]
    assert any("lambda:GetAlias" in grant.actions for grant in check.granted or ())
    check.granted = without_action(check.granted or (), "lambda:GetAlias")
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version)
    assert result.outcome == "rolled_back", result.cause
    assert "AccessDeniedException" in (result.cause or "") and "lambda:GetAlias" in (result.cause or "")
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})


def _listed(entries: list[str]) -> set[str]:
    """The IAM actions in plan's entries ("lambda:UpdateAlias or lambda:CreateAlias", "dynamodb:PutItem (lock)")."""
    return {action for entry in entries for action in re.findall(r"\b[a-z0-9-]+:[A-Z][A-Za-z]+", entry)}


def test_plan_lists_every_call_each_task_makes(stack: LocalStack, sample: SampleFunction) -> None:
    """A promoted release (published from its code hash, judged with an alarm) and a rolled-back one: what
    each task's function called is what `plan` says it calls."""
    boto3.client("cloudwatch", region_name=REGION).put_metric_alarm(
        AlarmName="orders-api-errors", Namespace="AWS/Lambda", MetricName="Errors", Statistic="Sum", Period=60,
        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
    fields = {"functionName": FUNCTION, "alias": ALIAS, "strategy": {"steps": [10, 50, 100], "intervalSeconds": 1},
              "health": {"alarms": ["orders-api-errors"]}}
    traffic = TrafficSimulator(FUNCTION, ALIAS)
    traffic.start()
    try:
        sha = sample.stage("v2", error_rate=0.0)
        promoted = execution.run(stack, {**fields, "codeSha256": sha}, timeout=90)
        version = sample.publish("v3", error_rate=0.0)
        traffic.override(version, error_rate=0.5)
        rolled_back = execution.run(stack, {**fields, "version": version}, timeout=90)
    finally:
        traffic.stop()
    assert (promoted.outcome, rolled_back.outcome) == ("promoted", "rolled_back"), rolled_back.cause
    planned = aws_actions(request := parse_request({**fields, "codeSha256": sha}), request.step_plan())
    for task, logical_id in TASK_FUNCTIONS.items():
        called = stack.router.actions[stack.functions[logical_id].name]
        assert called, f"{logical_id} made no call"
        assert called <= _listed(planned[task]), (task, sorted(called - _listed(planned[task])))
