"""Deploy the project's own template.yaml into moto: its functions (served by the real handlers),
its log groups and its state machine (the real definition, substitutions resolved)."""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from bluegreen.aws import settings
from bluegreen.local.stand_ins.accounts import ACCOUNT, REGION, function_arn
from bluegreen.local.stand_ins.cloudwatch import (
    alarms_as_cloudwatch_answers,
    indexed_metric_data,
    percentile_statistics,
)
from bluegreen.local.stand_ins.emf import powertools_metrics_routed
from bluegreen.local.stand_ins.eventbridge import bus_policies_enforced, deliver_to_state_machines
from bluegreen.local.stand_ins.iam import Grant
from bluegreen.local.stand_ins.invoker import HandlerRouter, LocalFunction, route_invocations
from bluegreen.local.stand_ins.lambda_rules import LambdaRules, enforced
from bluegreen.local.stand_ins.logs import routed_logs
from bluegreen.local.stand_ins.stepfunctions import (
    iteration_errors_keep_their_names,
    payload_limits_enforced,
    stops_stay_aborted,
)
from bluegreen.local.template import Resolver, load_template

MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
STATE_MACHINE_ID = "DeploymentStateMachine"
# The principal the local run admits on its release-request bus (a CI role; see ``local.principals``).
LOCAL_REQUESTER = f"arn:aws:iam::{ACCOUNT}:role/ci-deployer"
# How late the local stack judges its metrics (its MetricDelaySeconds): the local run compresses minutes into
# seconds, and its callers' datapoints arrive 1.5 s late (``traffic``), about a minute at a 60 s check's scale.
LOCAL_METRIC_DELAY_SECONDS = 2
# The local run's minute is a second: its functions, and the CLI beside them, read AWS/Lambda's metrics in periods
# as short as a second (AWS: whole minutes; settings). A run compressing time less (a benchmark's 10x) says its own.
LOCAL_RESOLUTION_SECONDS = 1
LOCAL_RESOLUTION = {settings.STANDARD_RESOLUTION_SECONDS: str(LOCAL_RESOLUTION_SECONDS)}


def project_root() -> Path:
    """The checkout holding template.yaml: $BLUEGREEN_PROJECT_DIR, the working directory, or this package's."""
    candidates = [os.environ.get("BLUEGREEN_PROJECT_DIR"), os.getcwd(), str(Path(__file__).resolve().parents[3])]
    for candidate in candidates:
        if candidate and (Path(candidate) / "template.yaml").is_file():
            return Path(candidate)
    raise FileNotFoundError("template.yaml not found: run from the project root or set BLUEGREEN_PROJECT_DIR")


@dataclass
class LocalStack:
    name: str
    state_machine_arn: str
    definition: dict[str, Any]
    functions: dict[str, LocalFunction]  # by logical id
    router: HandlerRouter
    role_arn: str
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    # The Lambda API rules the embedded AWS enforces (a test may lengthen an update or lower the rate).
    lambda_rules: LambdaRules = field(default_factory=LambdaRules)


@contextmanager
def patched_environ(variables: dict[str, str]) -> Iterator[None]:
    """``variables`` set in os.environ for the duration, then put back as they were (at the run's start and end
    only, never around a handler call: other threads read the environment)."""
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@contextmanager
def local_aws(rules: LambdaRules | None = None) -> Iterator[LambdaRules]:
    """moto with Step Functions executing ASL, Lambda without Docker and with AWS's rules (``lambda_rules``),
    and fake credentials."""
    fake_env = {"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION, "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing", **LOCAL_RESOLUTION}
    with patched_environ(fake_env), mock_aws(config=MOTO_CONFIG), percentile_statistics(), indexed_metric_data(), \
            alarms_as_cloudwatch_answers(), \
            deliver_to_state_machines(), bus_policies_enforced(), stops_stay_aborted(), payload_limits_enforced(), \
            iteration_errors_keep_their_names(), \
            enforced(rules or LambdaRules()) as enforcing:
        yield enforcing


def scale_retries(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition with every Retry waiting 1 s flat, the Map states' own tasks included: moto sleeps
    Retry intervals in real time.

    Attempt counts stay as written, so retries are exercised exactly as in AWS, only sooner.
    """
    scaled = copy.deepcopy(definition)

    def scale(states: dict[str, Any]) -> None:
        for state in states.values():
            for retrier in state.get("Retry", []):
                retrier["IntervalSeconds"] = 1
                retrier["BackoffRate"] = 1.0
                retrier.pop("MaxDelaySeconds", None)
                retrier.pop("JitterStrategy", None)
            if "ItemProcessor" in state:
                scale(state["ItemProcessor"]["States"])

    scale(scaled["States"])
    return scaled


def _placeholder_zip() -> bytes:
    # moto needs a code package; the router runs the handlers from src/ instead.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", "served in process by bluegreen.local.stand_ins.invoker")
    return buf.getvalue()


def _parameters(template: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, spec in template.get("Parameters", {}).items():
        value = overrides.get(name, spec.get("Default"))
        if value is None:
            raise ValueError(f"template parameter {name} needs a value")
        if spec.get("Type") == "CommaDelimitedList" and isinstance(value, str):
            value = [v.strip() for v in value.split(",")]
        values[name] = value
    return values


def _name_resources(resources: dict[str, Any], resolver: Resolver, stack_name: str) -> None:
    """Every resource's name and ARN first, so that Refs and GetAtts between resources resolve in any order."""
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        props = resource.get("Properties", {})
        if kind == "AWS::Serverless::Function":
            name = f"{stack_name}-{logical_id}"
            resolver.arns[logical_id] = function_arn(name)
        elif kind == "AWS::Logs::LogGroup":
            name = resolver.resolve(props.get("LogGroupName", f"/aws/lambda/{stack_name}-{logical_id}"))
            resolver.arns[logical_id] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*"
        elif kind == "AWS::Serverless::StateMachine":
            sm_name = resolver.resolve(props.get("Name", f"{stack_name}-{logical_id}"))
            name = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{sm_name}"  # Ref of a state machine: its ARN
        elif kind == "AWS::Serverless::LayerVersion":
            name = f"{stack_name}-{logical_id}"  # its code is importable here already (src/ is installed)
        elif kind == "AWS::DynamoDB::Table":
            name = f"{stack_name}-{logical_id}"
            resolver.arns[logical_id] = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
        elif kind == "AWS::Events::EventBus":
            name = resolver.resolve(props["Name"])  # Ref of a bus: its name
            resolver.arns[logical_id] = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}"
        else:
            raise NotImplementedError(f"the local run does not create {kind} ({logical_id}) yet")
        resolver.physical[logical_id] = name


def granted_statements(policies: list[Any], resolver: Resolver) -> tuple[Grant, ...]:
    """A function's inline policy statements, resolved (an !If's branch as its condition says; AWS::NoValue adds
    none)."""
    grants: list[Grant] = []
    for declared in policies:
        chosen = declared
        if isinstance(declared, dict) and "Fn::If" in declared:
            condition, when_true, when_false = declared["Fn::If"]
            chosen = when_true if resolver.condition(condition) else when_false
        if chosen == {"Ref": "AWS::NoValue"}:
            continue
        if not isinstance(chosen, dict) or "Statement" not in chosen:
            raise NotImplementedError(f"the local run reads inline policy statements only, not {chosen!r}")
        for statement in chosen["Statement"]:
            if statement.get("Effect") != "Allow" or set(statement) - {"Sid", "Effect", "Action", "Resource"}:
                raise NotImplementedError(f"the local run reads plain Allow statements only ({statement.get('Sid')})")
            action, resource = statement["Action"], resolver.resolve(statement["Resource"])
            grants.append(Grant(statement.get("Sid", ""), frozenset([action] if isinstance(action, str) else action),
                                tuple([resource] if isinstance(resource, str) else resource)))
    return tuple(grants)


def _create_functions(resources: dict[str, Any], globals_fn: dict[str, Any], resolver: Resolver, role_arn: str, *,
                      router: HandlerRouter, root: Path, resolution: int) -> dict[str, LocalFunction]:
    lam = boto3.client("lambda", region_name=REGION)
    functions: dict[str, LocalFunction] = {}
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_fn, **resource.get("Properties", {})}
        env = {**globals_fn.get("Environment", {}).get("Variables", {}),
               **resource.get("Properties", {}).get("Environment", {}).get("Variables", {})}
        env = {k: str(v) for k, v in resolver.resolve(env).items()} | {
            settings.STANDARD_RESOLUTION_SECONDS: str(resolution)}
        lam.create_function(
            FunctionName=resolver.physical[logical_id], Runtime=props["Runtime"], Role=role_arn,
            Handler=props["Handler"], Code={"ZipFile": _placeholder_zip()},
            Timeout=int(props.get("Timeout", 3)), MemorySize=int(props.get("MemorySize", 128)),
            Environment={"Variables": env},
        )
        invoke_config = props.get("EventInvokeConfig") or {}
        if "MaximumRetryAttempts" in invoke_config:
            # How often Lambda retries an asynchronous invocation that failed (the guardian's, from EventBridge).
            lam.put_function_event_invoke_config(FunctionName=resolver.physical[logical_id],
                                                 MaximumRetryAttempts=int(invoke_config["MaximumRetryAttempts"]))
        fn = LocalFunction(resolver.physical[logical_id], resolver.arns[logical_id], root / props["CodeUri"],
                           props["Handler"], root, granted_statements(props.get("Policies", []), resolver))
        router.register(fn)
        functions[logical_id] = fn
        for event_id, event in resource.get("Properties", {}).get("Events", {}).items():
            if event["Type"] == "EventBridgeRule":
                _create_rule(f"{fn.name}-{event_id}", resolver.resolve(event["Properties"]), fn.arn, role_arn)
    return functions


def _create_state_machine(props: dict[str, Any], root: Path, resolver: Resolver, role_arn: str,
                          stack_name: str) -> tuple[str, dict[str, Any]]:
    """The real definition with its substitutions (Retry intervals scaled), and its EventBridge rules."""
    text = (root / props["DefinitionUri"]).read_text()
    for key, value in resolver.resolve(props.get("DefinitionSubstitutions", {})).items():
        text = text.replace("${" + key + "}", str(value))
    definition = scale_retries(json.loads(text))
    arn = boto3.client("stepfunctions", region_name=REGION).create_state_machine(
        name=resolver.physical[STATE_MACHINE_ID].rsplit(":", 1)[-1], definition=json.dumps(definition),
        roleArn=role_arn, type=props.get("Type", "STANDARD"))["stateMachineArn"]
    for event_id, event in props.get("Events", {}).items():
        if event["Type"] == "EventBridgeRule":
            _create_rule(f"{stack_name}-{event_id}", resolver.resolve(event["Properties"]), arn, role_arn)
    return arn, definition


def deploy_template(parameters: dict[str, Any], stack_name: str = "bluegreen", root: Path | None = None,
                    resolution: int = LOCAL_RESOLUTION_SECONDS) -> LocalStack:
    """Create every resource of template.yaml in the active moto mock. Call inside ``local_aws()``
    and ``route_invocations(stack.router)`` (see ``running_stack``)."""
    root = root or project_root()
    template = load_template(root / "template.yaml")
    resolver = Resolver(
        parameters=_parameters(template, parameters),
        pseudo={"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws",
                "AWS::StackName": stack_name, "AWS::URLSuffix": "amazonaws.com"},
        conditions=template.get("Conditions", {}),
    )
    resources: dict[str, Any] = template["Resources"]
    role_arn = boto3.client("iam", region_name=REGION).create_role(
        RoleName=f"{stack_name}-local", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    _name_resources(resources, resolver, stack_name)
    tables = {}
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Logs::LogGroup":
            boto3.client("logs", region_name=REGION).create_log_group(logGroupName=resolver.physical[logical_id])
        if resource["Type"] == "AWS::DynamoDB::Table":
            tables[logical_id] = resolver.physical[logical_id]
            _create_table(tables[logical_id], resolver.resolve(resource["Properties"]))
        if resource["Type"] == "AWS::Events::EventBus":
            _create_bus(resolver.physical[logical_id], resolver.resolve(resource["Properties"]))
    router = HandlerRouter()
    functions = _create_functions(resources, template.get("Globals", {}).get("Function", {}), resolver, role_arn,
                                  router=router, root=root, resolution=resolution)
    arn, definition = _create_state_machine(resources[STATE_MACHINE_ID]["Properties"], root, resolver, role_arn,
                                            stack_name)
    return LocalStack(stack_name, arn, definition, functions, router, role_arn, tables)


def _create_table(name: str, props: dict[str, Any]) -> None:
    boto3.client("dynamodb", region_name=REGION).create_table(
        TableName=name, KeySchema=props["KeySchema"], AttributeDefinitions=props["AttributeDefinitions"],
        BillingMode=props.get("BillingMode", "PAY_PER_REQUEST"))


def _create_bus(name: str, props: dict[str, Any]) -> None:
    events = boto3.client("events", region_name=REGION)
    events.create_event_bus(Name=name)
    if "Policy" in props:
        events.put_permission(EventBusName=name, Policy=json.dumps(props["Policy"]))


def _create_rule(name: str, props: dict[str, Any], target_arn: str, role_arn: str) -> None:
    """The rule that an EventBridgeRule event source (of a state machine or a function) makes, in moto."""
    events = boto3.client("events", region_name=REGION)
    bus = props.get("EventBusName", "default")
    if bus != "default" and bus not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}:
        events.create_event_bus(Name=bus)
    events.put_rule(Name=name, EventBusName=bus, EventPattern=json.dumps(props["Pattern"]),
                    State=props.get("State", "ENABLED"), RoleArn=role_arn)
    target: dict[str, Any] = {"Id": "Target", "Arn": target_arn, "RoleArn": role_arn}
    for key in ("Input", "InputPath", "InputTransformer"):
        if key in props:
            target[key] = props[key]
    events.put_targets(Rule=name, EventBusName=bus, Targets=[target])  # type: ignore[list-item]


__all__ = ["ACCOUNT", "LOCAL_REQUESTER", "REGION", "LocalStack", "active_stack", "deploy_template", "local_aws",
           "project_root", "running_stack", "scale_retries"]

_ACTIVE: list[LocalStack] = []


def active_stack() -> LocalStack | None:
    """The local stack running in this process (for the CLI's --local), if any."""
    return _ACTIVE[-1] if _ACTIVE else None


def _stop_everything(stack: LocalStack, timeout: float = 15.0) -> None:
    """Stop the executions still running and wait for their handler calls to return, so that no thread of
    this run is left calling AWS when moto stops (and puts the process environment back)."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    for page in sfn.get_paginator("list_executions").paginate(stateMachineArn=stack.state_machine_arn,
                                                              statusFilter="RUNNING"):
        for running in page["executions"]:
            sfn.stop_execution(executionArn=running["executionArn"], error="LocalRunEnded",
                               cause="the embedded local run ended")
    stack.router.wait_idle(timeout)


@contextmanager
def running_stack(parameters: dict[str, Any], echo_logs: bool = False,
                  resolution: int = LOCAL_RESOLUTION_SECONDS) -> Iterator[LocalStack]:
    """moto started, the template deployed in it, and the handlers serving its functions (their logs
    kept per function in ``stack.router.logs``; ``echo_logs`` also prints them). Release requests are
    admitted from the local CI role (``LOCAL_REQUESTER``) unless ``ReleaseRequesters`` says otherwise.
    ``resolution``: the seconds of AWS/Lambda's one-minute resolution at the run's compression of time."""
    if not echo_logs:
        # moto's own logs (its interpreter logs every Fail state as an exception) are not the user's business.
        logging.getLogger("moto").setLevel(logging.CRITICAL)
    with local_aws() as rules:
        stack = deploy_template({"ReleaseRequesters": LOCAL_REQUESTER, "MetricDelaySeconds": LOCAL_METRIC_DELAY_SECONDS,
                                 **parameters}, resolution=resolution)
        stack.lambda_rules = rules
        with route_invocations(stack.router), routed_logs(stack.router, echo=echo_logs), \
                powertools_metrics_routed(stack.router):
            _ACTIVE.append(stack)
            try:
                yield stack
            finally:
                _ACTIVE.remove(stack)
                _stop_everything(stack)
