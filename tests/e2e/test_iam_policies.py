"""Each function's calls are held to its own IAM policy in template.yaml, as AWS holds them and moto does
not (bluegreen.local.invoker): a call the role does not allow is refused with AccessDeniedException. Every
other end-to-end test therefore also proves that the template grants what its path calls; these show the
refusal itself, and that `bluegreen plan` lists the calls each task really makes."""

from __future__ import annotations

import re

import boto3
import pytest

from bluegreen.local import execution
from bluegreen.local.invoker import iam_action
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from bluegreen.operations.plan import aws_actions
from bluegreen.request import parse_request
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


def test_a_call_its_role_does_not_allow_is_refused_and_the_release_rolls_back(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    """A check Lambda whose role lacked lambda:GetAlias (as the template's once did) is refused it at the
    first check; the release fails safe: the alias back 100% on the old version, the cause naming the action."""
    check = stack.functions["CheckHealthFunction"]
    assert "lambda:GetAlias" in (check.granted or ())
    check.granted = (check.granted or frozenset()) - {"lambda:GetAlias"}
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
