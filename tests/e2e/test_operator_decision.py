"""Inconclusive to the end, with ``onInconclusive: wait-for-operator``: the execution asks on EventBridge
with a task token and waits; promote promotes, anything else or silence rolls back."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction
from tests.conftest import ALIAS, FUNCTION, get_alias, weights_of


def start_unjudgeable_release(stack: LocalStack, sample: SampleFunction, timeout: int = 60) -> str:
    """A release with no traffic at all: every check is inconclusive."""
    version = sample.publish("v2", error_rate=0.0)
    return execution.start(stack, {
        "functionName": FUNCTION, "alias": ALIAS, "version": version,
        "strategy": {"steps": [10, 100], "intervalSeconds": 1},
        "health": {"onInconclusive": "wait-for-operator", "operatorTimeoutSeconds": timeout},
    })


def question_of(arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while (question := execution.pending_question(execution.history(arn))) is None:
        assert time.monotonic() < deadline, "no operator question was asked"
        time.sleep(0.1)
    return question


def answer(question: dict[str, Any], decision: Any) -> None:
    boto3.client("stepfunctions", region_name=REGION).send_task_success(
        taskToken=question["taskToken"], output=json.dumps(decision))


def test_the_question_goes_out_on_eventbridge_and_promote_promotes(stack: LocalStack, sample: SampleFunction) -> None:
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="operators")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="bluegreen-questions", EventPattern=json.dumps(
        {"source": ["bluegreen"], "detail-type": ["Operator Decision Needed"]}))
    events.put_targets(Rule="bluegreen-questions", Targets=[{"Id": "operators", "Arn": queue_arn}])

    arn = start_unjudgeable_release(stack, sample)
    question = question_of(arn)
    # While it waits, the alias is still split: nothing is promoted without the answer.
    assert weights_of(get_alias()) == {"2": 0.1}
    assert (question["functionName"], question["newVersion"], question["weight"]) == (FUNCTION, "2", 10)
    assert "not enough evidence" in question["reason"]
    announced = json.loads(sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1)["Messages"][0]["Body"])
    assert announced["detail-type"] == "Operator Decision Needed"
    assert announced["detail"]["taskToken"] == question["taskToken"]

    answer(question, {"decision": "promote", "reason": "checked the dashboards by hand"})
    result = execution.wait(arn, timeout=30)
    assert result.status == "SUCCEEDED"
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("2", {})


def test_a_rollback_answer_rolls_back_and_says_who_decided(stack: LocalStack, sample: SampleFunction) -> None:
    arn = start_unjudgeable_release(stack, sample)
    answer(question_of(arn), {"decision": "rollback", "reason": "not today"})
    result = execution.wait(arn, timeout=30)
    assert result.error == "RolledBackByOperator"
    assert "not today" in (result.cause or "") and "rolled back to version 1" in (result.cause or "")
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})


def test_a_malformed_answer_rolls_back(stack: LocalStack, sample: SampleFunction) -> None:
    arn = start_unjudgeable_release(stack, sample)
    answer(question_of(arn), "yes please")
    result = execution.wait(arn, timeout=30)
    assert result.error == "RolledBackByOperator"
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})


def test_no_answer_in_time_rolls_back(stack: LocalStack, sample: SampleFunction) -> None:
    arn = start_unjudgeable_release(stack, sample, timeout=1)
    result = execution.wait(arn, timeout=30)
    assert result.error == "OperatorTimeout"
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
