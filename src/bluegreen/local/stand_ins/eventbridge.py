"""Local stand-in: EventBridge rules that start Step Functions executions and invoke Lambdas, and buses'
resource policies.

moto's EventBridge matches rules but cannot deliver to a state machine or a Lambda function (nor
honours a rule's DISABLED state, InputPath, or AWS's quoting of string values in an
InputTransformer). The local run creates the template's rules in moto and delivers matching events
to those targets here, the way AWS would: same pattern, same input; a fresh execution per event, or
an asynchronous invocation of the function, retried when it fails (synchronous here, so a test sees
its effect when PutEvents returns).

moto also ignores a bus's resource policy: here PutEvents is refused when the policy explicitly denies
the caller (the stack's release-request bus denies everyone but its named requesters).
"""

from __future__ import annotations

import fnmatch
import json
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import boto3
from moto.core.exceptions import JsonRESTError
from moto.events.models import Rule
from moto.events.responses import EventsHandler
from moto.sts.models import sts_backends


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


# --- Who may put events on a bus: its resource policy ---------------------------------------------------

def caller_principal(account: str, access_key_id: str, region: str) -> str:
    """The IAM principal behind an access key, as ``aws:PrincipalArn`` names it: a role for an assumed-role
    session, else the user."""
    _, arn, _ = sts_backends[account]["global"].get_caller_identity(access_key_id, region)
    match = re.match(r"^arn:(?P<p>[^:]+):sts::(?P<a>\d+):assumed-role/(?P<role>[^/]+)/", arn)
    if match:
        return f"arn:{match['p']}:iam::{match['a']}:role/{match['role']}"
    return arn.replace(":sts::", ":iam::", 1)


def _matches(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _condition_holds(condition: dict[str, dict[str, Any]], principal: str) -> bool:
    """The condition operators the stack's bus policy uses, on ``aws:PrincipalArn``."""
    for operator, keys in condition.items():
        for key, expected in keys.items():
            if key != "aws:PrincipalArn":
                raise NotImplementedError(f"the local run evaluates aws:PrincipalArn conditions only, not {key}")
            found = any(_matches(p, principal) for p in _as_list(expected))
            if operator in {"ArnLike", "ArnEquals", "StringLike", "StringEquals"} and not found:
                return False
            if operator in {"ArnNotLike", "ArnNotEquals", "StringNotLike", "StringNotEquals"} and found:
                return False
    return True


def _applies(statement: dict[str, Any], principal: str, resource: str) -> bool:
    named = statement.get("Principal")
    principals = ["*"] if named == "*" else _as_list((named or {}).get("AWS"))
    account_root = re.sub(r":(user|role)/.*$", ":root", principal)
    return (any(_matches(a, "events:PutEvents") for a in _as_list(statement.get("Action")))
            and any(_matches(r, resource) for r in _as_list(statement.get("Resource")))
            and any(p in {"*", principal, account_root} for p in principals)
            and _condition_holds(statement.get("Condition") or {}, principal))


def denied(policy: dict[str, Any], principal: str, resource: str) -> bool:
    """Whether the bus's policy denies ``principal`` events:PutEvents. Within the account, a principal the
    policy does not deny is allowed by its own IAM policy (which moto does not enforce): only an explicit
    Deny keeps one out, as in AWS."""
    return any(s.get("Effect") == "Deny" and _applies(s, principal, resource) for s in policy.get("Statement", []))


@contextmanager
def bus_policies_enforced() -> Iterator[None]:
    """PutEvents refused (AccessDeniedException) when a bus's resource policy denies the caller."""
    original = EventsHandler.put_events

    def put_events(self: EventsHandler) -> Any:
        principal = caller_principal(self.current_account, self.get_access_key(), self.region)
        for entry in self._get_param("Entries") or []:
            bus = self.events_backend.describe_event_bus(entry.get("EventBusName") or "default")
            if bus.policy and denied(json.loads(bus.policy), principal, bus.arn):
                raise JsonRESTError("AccessDeniedException",
                                    f"User: {principal} is not authorized to perform: events:PutEvents on resource: "
                                    f"{bus.arn} with an explicit deny in a resource-based policy")
        return original(self)

    with mock.patch.object(EventsHandler, "put_events", put_events):
        yield
