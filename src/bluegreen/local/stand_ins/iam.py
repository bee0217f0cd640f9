"""IAM as AWS evaluates a function role's identity policy, for the embedded run (moto enforces none).

A call is allowed when one Allow statement of the role's policies names its action and every resource the
call acts on (``Action`` and ``Resource`` patterns, ``*`` and ``?`` as IAM reads them); otherwise AWS answers
AccessDeniedException. The resources are the ARNs the request names, per the Service Authorization Reference:

- Lambda: the function's ARN, qualified by version or alias when the call names one ("Actions that operate on
  a function can be restricted to a specific function by function, version, or alias ARN", Lambda's
  "Fine-tuning the Resources and Conditions sections of policies"). An alias call (GetAlias, UpdateAlias,
  CreateAlias) needs both the function and the alias ARN here: stricter than either reading of that page.
- DynamoDB: the table; EventBridge PutEvents: each entry's bus (``default`` when unnamed); Step Functions:
  the execution; CloudWatch DescribeAlarms: each named alarm (``*`` when composite alarms are asked for, which
  AWS returns only to a caller allowed on ``*``); GetMetricData and ListMetrics act on no resource (``*``).

Only what the project's roles use is read: Allow statements, no conditions, no NotAction or NotResource.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from bluegreen.local.stand_ins.accounts import arn, function_arn, split_function_name

# Where an IAM action is not named "<signing name>:<operation>" (the Service Authorization Reference).
_IAM_PREFIXES = {"monitoring": "cloudwatch"}
_IAM_ACTIONS = {"lambda:Invoke": "lambda:InvokeFunction"}


def iam_action(service: str, operation: str) -> str:
    """The IAM action an API call needs: ("monitoring", "GetMetricData") -> "cloudwatch:GetMetricData"."""
    action = f"{_IAM_PREFIXES.get(service, service)}:{operation}"
    return _IAM_ACTIONS.get(action, action)


@dataclass(frozen=True)
class Grant:
    """One Allow statement: the actions and resources it names (patterns)."""

    sid: str
    actions: frozenset[str]
    resources: tuple[str, ...]

    def allows(self, action: str, resource: str) -> bool:
        # Action names are case-insensitive in IAM; resource ARNs are not.
        return (any(fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions)
                and any(fnmatchcase(resource, pattern) for pattern in self.resources))


def allowed(grants: Iterable[Grant], action: str, resources: list[str]) -> str | None:
    """None when every resource is allowed ``action`` by some grant; else the first resource that is not."""
    grants = list(grants)
    for resource in resources:
        if not any(grant.allows(action, resource) for grant in grants):
            return resource
    return None


def without_action(grants: Iterable[Grant], action: str) -> tuple[Grant, ...]:
    """The grants with ``action`` taken out of every statement (a role that lacks it)."""
    return tuple(Grant(g.sid, g.actions - {action}, g.resources) for g in grants)


# --- The resources a request acts on ------------------------------------------------------------------------

def _function_arns(params: dict[str, Any], qualifier_key: str | None = "Qualifier") -> list[str]:
    """The function (or version/alias) ARN a Lambda request names: its FunctionName, qualified by the
    ``qualifier_key`` parameter when the call has one."""
    name, qualifier = split_function_name(str(params["FunctionName"]))
    return [function_arn(name, (params.get(qualifier_key) if qualifier_key else None) or qualifier)]


def _alias_arns(params: dict[str, Any]) -> list[str]:
    name, _ = split_function_name(str(params["FunctionName"]))
    return [function_arn(name), function_arn(name, params["Name"])]


def _arn_or(name: str, service: str, kind: str) -> str:
    return name if name.startswith("arn:") else arn(service, f"{kind}{name}")


_RESOURCES: dict[str, Callable[[dict[str, Any]], list[str]]] = {
    "lambda:GetAlias": _alias_arns,
    "lambda:UpdateAlias": _alias_arns,
    "lambda:CreateAlias": _alias_arns,
    "lambda:DeleteAlias": _alias_arns,
    "lambda:PublishVersion": lambda p: _function_arns(p, qualifier_key=None),
    "lambda:GetFunction": _function_arns,
    "lambda:GetFunctionConfiguration": _function_arns,
    "lambda:InvokeFunction": _function_arns,
    **{f"lambda:{call}ProvisionedConcurrencyConfig": _function_arns for call in ("Get", "Put", "Delete")},
    "lambda:ListProvisionedConcurrencyConfigs": lambda p: _function_arns(p, qualifier_key=None),
    **{f"dynamodb:{item_call}": lambda p: [_arn_or(p["TableName"], "dynamodb", "table/")]
       for item_call in ("GetItem", "PutItem", "DeleteItem", "UpdateItem", "Query")},
    "events:PutEvents": lambda p: sorted({_arn_or(e.get("EventBusName") or "default", "events", "event-bus/")
                                          for e in p["Entries"]}),
    "states:DescribeExecution": lambda p: [p["executionArn"]],
    "states:GetExecutionHistory": lambda p: [p["executionArn"]],
    # Composite alarms are returned only to a caller allowed DescribeAlarms on "*" (its API reference).
    "cloudwatch:DescribeAlarms": lambda p: ["*"] if "CompositeAlarm" in (p.get("AlarmTypes") or []) else [
        arn("cloudwatch", f"alarm:{name}") for name in p.get("AlarmNames") or ["*"]],
    "cloudwatch:GetMetricData": lambda p: ["*"],
    "cloudwatch:ListMetrics": lambda p: ["*"],
}


def request_resources(action: str, params: dict[str, Any]) -> list[str]:
    """The ARNs a call of ``action`` with these parameters acts on; a call not mapped here is a local-run gap
    (NotImplementedError), never silently allowed."""
    resources = _RESOURCES.get(action)
    if resources is None:
        raise NotImplementedError(f"the local run does not know which resources {action} acts on")
    return resources(params)
