"""Local stand-in: EventBridge rules that start Step Functions executions and invoke Lambdas.

moto's EventBridge matches rules but cannot deliver to a state machine or a Lambda function (nor
honours a rule's DISABLED state, InputPath, or AWS's quoting of string values in an
InputTransformer). The local run creates the template's rules in moto and delivers matching events
to those targets here, the way AWS would: same pattern, same input; a fresh execution per event, or
an asynchronous invocation of the function, retried when it fails (synchronous here, so a test sees
its effect when PutEvents returns).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
from moto.events.models import Rule


def json_path(document: Any, path: str) -> Any:
    """A value at a simple JSONPath ($, $.a.b): all that rule targets use."""
    value = document
    for part in [p for p in path.removeprefix("$").split(".") if p]:
        value = value[part]
    return value


def transform(event: dict[str, Any], target: dict[str, Any]) -> Any:
    """The input a target receives: InputPath, InputTransformer (string values quoted as AWS does), or the event."""
    if "Input" in target:
        return json.loads(target["Input"])
    if "InputPath" in target:
        return json_path(event, target["InputPath"])
    transformer = target.get("InputTransformer")
    if not transformer:
        return event
    text = transformer["InputTemplate"]
    for name, path in transformer.get("InputPathsMap", {}).items():
        value = json_path(event, path)
        text = text.replace(f'"<{name}>"', json.dumps(str(value)))
        text = text.replace(f"<{name}>", json.dumps(value))
    return json.loads(text)


def _deliver(rule: Rule, target: dict[str, Any], event: dict[str, Any]) -> None:
    payload = json.dumps(transform(event, target))
    if ":states:" in target["Arn"]:
        name = f"{rule.name}-{uuid.uuid4().hex[:12]}"[-80:]
        boto3.client("stepfunctions", region_name=rule.region_name).start_execution(
            stateMachineArn=target["Arn"], name=name, input=payload)
    else:
        _invoke_asynchronously(target["Arn"], payload, rule.region_name)


# Lambda's retries of a failed asynchronous invocation, unless the function's EventInvokeConfig says otherwise.
DEFAULT_ASYNC_RETRIES = 2


def _invoke_asynchronously(function_arn: str, payload: str, region: str) -> None:
    """An asynchronous invocation as Lambda makes it: one that fails is tried again, up to the function's
    ``MaximumRetryAttempts`` (synchronous here, so that a test sees the effect when PutEvents returns)."""
    lam = boto3.client("lambda", region_name=region)
    try:
        retries = int(lam.get_function_event_invoke_config(FunctionName=function_arn).get(
            "MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES))
    except lam.exceptions.ResourceNotFoundException:
        retries = DEFAULT_ASYNC_RETRIES
    for _ in range(1 + retries):
        if "FunctionError" not in lam.invoke(FunctionName=function_arn, Payload=payload):
            return


def _ours(target: dict[str, Any]) -> bool:
    return ":states:" in target["Arn"] or ":lambda:" in target["Arn"]


@contextmanager
def deliver_to_state_machines() -> Iterator[None]:
    original = Rule.send_to_targets

    def send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
        if self.state != "ENABLED":
            return
        delivered_here = [t for t in self.targets if _ours(t)]
        if delivered_here and self.event_pattern.matches_event(original_event):
            for target in delivered_here:
                _deliver(self, target, original_event)
        others = [t for t in self.targets if not _ours(t)]
        if others:
            saved, self.targets = self.targets, others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = saved

    with mock.patch.object(Rule, "send_to_targets", send_to_targets):
        yield
