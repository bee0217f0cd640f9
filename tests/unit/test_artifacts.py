"""Offline checks of the real artifacts: template.yaml, the state machine definition, events/."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from bluegreen.aws.readiness import TASK_MARGIN_SECONDS
from bluegreen.cli.plan import aws_actions
from bluegreen.contracts import state_names
from bluegreen.contracts.request import MAX_READY_TIMEOUT_SECONDS, parse_request
from bluegreen.local.stand_ins.lambda_code import template_handler
from bluegreen.local.template import Resolver, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
SM_PROPS = RESOURCES["DeploymentStateMachine"]["Properties"]
DEFINITION_TEXT = (ROOT / SM_PROPS["DefinitionUri"]).read_text()
DEFINITION = json.loads(DEFINITION_TEXT)
MAPS = {name: s for name, s in DEFINITION["States"].items() if s["Type"] == "Map"}
TASKS = {name: s for name, s in DEFINITION["States"].items() if s["Type"] == "Task"}
# Every state, the Map states' own included.
ALL_STATES = {**DEFINITION["States"], **{name: s for m in MAPS.values()
                                         for name, s in m["ItemProcessor"]["States"].items()}}
LAMBDA_TASKS = {name: s for name, s in TASKS.items() if s["Resource"].startswith("${")}
CALLBACK_TASKS = {name: s for name, s in TASKS.items() if s["Resource"].endswith(".waitForTaskToken")}
LAMBDA_TRANSIENT = {"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                    "Lambda.TooManyRequestsException"}
LAMBDA_WRITES = {"lambda:UpdateAlias", "lambda:CreateAlias", "lambda:PublishVersion", "lambda:DeleteAlias",
                 "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration"}


def test_every_substitution_is_defined_and_used() -> None:
    used = set(re.findall(r"\$\{(\w+)\}", DEFINITION_TEXT))
    assert used == set(SM_PROPS["DefinitionSubstitutions"])


def test_every_substitution_points_at_a_function_or_parameter_of_the_template() -> None:
    for value in SM_PROPS["DefinitionSubstitutions"].values():
        if "Ref" in value:
            assert value["Ref"] in TEMPLATE["Parameters"]
            continue
        logical_id, attr = value["Fn::GetAtt"]
        assert attr == "Arn"
        assert RESOURCES[logical_id]["Type"] == "AWS::Serverless::Function"


def test_every_task_is_a_lambda_of_the_template_or_a_bounded_callback() -> None:
    assert set(TASKS) == set(LAMBDA_TASKS) | set(CALLBACK_TASKS)
    for task in CALLBACK_TASKS.values():
        # A wait on people always ends: its timeout comes from the input, and any failure rolls back.
        assert task["TimeoutSecondsPath"] == "$.progress.question.timeoutSeconds"
        assert task["Catch"][0]["ErrorEquals"] == ["States.ALL"]
        assert task["Catch"][0]["Next"] == state_names.ROLLBACK_MAP
        assert "States.TaskFailed" not in {e for r in task["Retry"] for e in r["ErrorEquals"]}


def _function_timeout(task: dict[str, Any]) -> int:
    """The Timeout of the template's function behind a task's ``${...Arn}`` substitution."""
    target = SM_PROPS["DefinitionSubstitutions"][task["Resource"][2:-1]]
    attribute = target["Fn::GetAtt"]
    logical_id = attribute[0] if isinstance(attribute, list) else attribute.split(".")[0]
    return int(RESOURCES[logical_id]["Properties"].get("Timeout", TEMPLATE["Globals"]["Function"]["Timeout"]))


def _task_timeout_is_bounded(task: dict[str, Any]) -> None:
    # A task waits for its function's whole run (verification: checks of up to 900 s in all), and no longer.
    assert _function_timeout(task) <= task["TimeoutSeconds"] <= 900


@pytest.mark.parametrize("name", sorted(LAMBDA_TASKS))
def test_every_task_has_timeout_retry_and_catch(name: str) -> None:
    task = TASKS[name]
    _task_timeout_is_bounded(task)
    retried = {e for r in task["Retry"] for e in r["ErrorEquals"]}
    assert retried >= LAMBDA_TRANSIENT
    # Failures are retried with a backoff; a version still Pending is waited on, attempt after attempt.
    assert all(r["BackoffRate"] > 1 for r in task["Retry"] if r["ErrorEquals"] != ["VersionStillPending"])
    assert task["Catch"] and task["Catch"][0]["ErrorEquals"] == ["States.ALL"]


def test_the_publish_task_waits_as_long_as_ready_timeout_seconds_allows() -> None:
    (waiting,) = [r for r in TASKS[state_names.PUBLISH]["Retry"] if r["ErrorEquals"] == ["VersionStillPending"]]
    # Each attempt checks every function again before it waits: about 60 s for 200 (the template's comment).
    per_attempt = _function_timeout(TASKS[state_names.PUBLISH]) - TASK_MARGIN_SECONDS - 60
    assert (1 + waiting["MaxAttempts"]) * per_attempt >= MAX_READY_TIMEOUT_SECONDS


@pytest.mark.parametrize("name", sorted(MAPS))
def test_every_map_runs_one_retried_lambda_per_function_and_catches_its_failure(name: str) -> None:
    state = MAPS[name]
    assert state["ItemsPath"] == "$.plan.targets" and state["MaxConcurrency"] > 0
    assert state["Catch"] and state["Catch"][0]["ErrorEquals"] == ["States.ALL"]
    (task,) = state["ItemProcessor"]["States"].values()
    assert task["Type"] == "Task" and task["Resource"].startswith("${") and task["End"]
    _task_timeout_is_bounded(task)
    assert {e for r in task["Retry"] for e in r["ErrorEquals"]} >= LAMBDA_TRANSIENT | {"TransientAwsError"}


def test_every_failure_path_ends_in_a_fail_state_that_says_why() -> None:
    fails = {n: s for n, s in DEFINITION["States"].items() if s["Type"] == "Fail"}
    assert fails
    for state in fails.values():
        assert ("Error" in state or "ErrorPath" in state) and ("Cause" in state or "CausePath" in state)


def test_state_machine_is_standard_and_logs_without_execution_data() -> None:
    assert SM_PROPS["Type"] == "STANDARD"
    assert SM_PROPS["Logging"]["IncludeExecutionData"] is False


FUNCTIONS = sorted(k for k, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function")


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_function_handler_loads_as_lambda_would(logical_id: str) -> None:
    # From its CodeUri and Handler, the shared package from the layer (installed here).
    assert callable(template_handler(logical_id, ROOT))


def test_every_job_has_its_function() -> None:
    jobs = {RESOURCES[f]["Properties"]["CodeUri"].strip("/").split("/")[-1] for f in FUNCTIONS}
    assert jobs >= {"publish", "shift_traffic", "check_health", "promote", "rollback", "verify"}


@pytest.mark.parametrize("logical_id", FUNCTIONS)
def test_every_handler_is_thin(logical_id: str) -> None:
    code = (ROOT / RESOURCES[logical_id]["Properties"]["CodeUri"] / "app.py").read_text()
    assert len(code.splitlines()) <= 40


def test_every_function_uses_the_shared_code_layer() -> None:
    assert {"Ref": "SharedCodeLayer"} in TEMPLATE["Globals"]["Function"]["Layers"]
    layer = RESOURCES["SharedCodeLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion" and layer["Properties"]["ContentUri"] == "src/"


def test_the_state_names_the_guardian_and_the_cli_read_are_the_definitions() -> None:
    assert set(ALL_STATES) == state_names.ALL


def _statements(*of: dict[str, Any]) -> list[dict[str, Any]]:
    """Every inline policy statement (of the resources given, else of all); a conditional policy's (Fn::If) as
    when its condition holds."""
    found: list[dict[str, Any]] = []
    for resource in of or RESOURCES.values():
        for declared in resource.get("Properties", {}).get("Policies", []):
            policy = declared["Fn::If"][1] if isinstance(declared, dict) and "Fn::If" in declared else declared
            found.extend(policy.get("Statement", []) if isinstance(policy, dict) else [])
    return found


def test_no_wildcard_resource_on_lambda_writes() -> None:
    for statement in _statements():
        actions = set(statement["Action"])
        assert not any(a in {"lambda:*", "*"} for a in actions)
        if actions & LAMBDA_WRITES:
            resource = json.dumps(statement["Resource"])
            assert resource != '"*"'
            assert "ManagedFunctions" in resource, statement["Sid"]


def test_lambda_writes_are_scoped_to_the_managed_functions_and_their_qualifiers() -> None:
    resolver = Resolver(parameters={"ManagedFunctions": ["orders-*", "payments-api"]},
                        pseudo={"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333"})
    prefix = "arn:aws:lambda:eu-west-1:111122223333:function:"
    expected = {f"{prefix}orders-*", f"{prefix}payments-api", f"{prefix}orders-*:*", f"{prefix}payments-api:*"}
    writes = [s for s in _statements() if set(s["Action"]) & LAMBDA_WRITES]
    assert writes
    for statement in writes:
        assert set(resolver.resolve(statement["Resource"])) == expected, statement["Sid"]


def test_invocations_reach_only_managed_versions_and_aliases_and_the_named_hooks() -> None:
    resolver = Resolver(parameters={"ManagedFunctions": ["orders-*"], "VerificationHooks": ["orders-smoke"]},
                        pseudo={"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333"})
    prefix = "arn:aws:lambda:eu-west-1:111122223333:function:"
    invokes = [s for s in _statements() if "lambda:InvokeFunction" in s["Action"] and s["Sid"] != "InvokeTheGuardian"]
    assert {s["Sid"] for s in invokes} >= {"InvokeManagedVersionsAndAliases", "InvokeTheVerificationHooks"}
    for statement in invokes:
        # A qualified managed function (version or alias, never $LATEST-by-name alone) or a named hook.
        assert set(resolver.resolve(statement["Resource"])) <= {f"{prefix}orders-*:*", f"{prefix}orders-smoke"}, (
            statement["Sid"])
    assert TEMPLATE["Parameters"]["VerificationHooks"]["Default"] == ""  # none unless named


def test_lock_history_bus_and_executions_are_each_scoped_to_their_one_resource() -> None:
    resolver = Resolver(parameters={"EventBusName": "releases"},
                        pseudo={"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333",
                                "AWS::StackName": "bluegreen"},
                        arns={"DeploymentsTable": "arn:aws:dynamodb:eu-west-1:111122223333:table/t"})
    expected = {
        "dynamodb": "arn:aws:dynamodb:eu-west-1:111122223333:table/t",
        "events": "arn:aws:events:eu-west-1:111122223333:event-bus/releases",
        "states": "arn:aws:states:eu-west-1:111122223333:execution:bluegreen-deployment:*",
    }
    seen = set()
    for statement in _statements():
        services = {a.split(":")[0] for a in statement["Action"]} & set(expected)
        for service in services:
            seen.add(service)
            assert resolver.resolve(statement["Resource"]) == expected[service], statement["Sid"]
    assert seen == set(expected)
    # The executions named are this stack's state machine's.
    assert resolver.resolve(SM_PROPS["Name"]) == "bluegreen-deployment"


def test_no_managed_full_access_policy_anywhere() -> None:
    for logical_id, resource in RESOURCES.items():
        props = resource.get("Properties", {})
        named = [p for p in props.get("Policies", []) if isinstance(p, str)] + props.get("ManagedPolicyArns", [])
        assert not [p for p in named if "FullAccess" in str(p) or "AdministratorAccess" in str(p)], logical_id
    for statement in _statements():
        assert all(not a.endswith(":*") and a != "*" for a in statement["Action"]), statement["Sid"]


def test_only_documented_read_or_delivery_actions_have_a_wildcard_resource() -> None:
    for statement in _statements():
        if statement["Resource"] == "*":
            # DescribeAlarms: CloudWatch returns composite alarms only to a caller allowed on "*" (read-only);
            # GetMetricData and ListMetrics take no resource-level permission (read-only).
            assert set(statement["Action"]) <= {
                "cloudwatch:GetMetricData", "cloudwatch:DescribeAlarms", "cloudwatch:ListMetrics",
                "logs:CreateLogDelivery",
                "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery", "logs:ListLogDeliveries",
                "logs:PutResourcePolicy", "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"}, statement["Sid"]


def test_release_requests_arrive_on_a_bus_only_the_named_requesters_may_put_on() -> None:
    rule = SM_PROPS["Events"]["ReleaseRequested"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "ReleaseRequestBus"}  # not the account's default bus
    resolver = Resolver(parameters={"ReleaseRequesters": ["arn:aws:iam::111122223333:role/ci"]},
                        pseudo={"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "111122223333",
                                "AWS::StackName": "bluegreen"})
    bus = resolver.resolve(RESOURCES["ReleaseRequestBus"]["Properties"])
    arn = "arn:aws:events:eu-west-1:111122223333:event-bus/bluegreen-release-requests"
    deny, allow = bus["Policy"]["Statement"]
    # Everyone else, this account's principals included, is explicitly denied ...
    assert (deny["Effect"], deny["Principal"], deny["Action"], deny["Resource"]) == (
        "Deny", "*", "events:PutEvents", arn)
    assert deny["Condition"] == {"ArnNotLike": {"aws:PrincipalArn": ["arn:aws:iam::111122223333:role/ci"]}}
    # ... and the named requesters allowed.
    assert (allow["Effect"], allow["Principal"], allow["Resource"]) == (
        "Allow", {"AWS": ["arn:aws:iam::111122223333:role/ci"]}, arn)
    assert "Default" not in TEMPLATE["Parameters"]["ReleaseRequesters"]  # no one by default


def test_release_rules_start_this_state_machine_and_auto_release_is_off_by_default() -> None:
    rules = SM_PROPS["Events"]
    assert rules["ReleaseRequested"]["Properties"]["InputPath"] == "$.detail"
    assert rules["ReleaseRequested"]["Properties"]["Pattern"]["source"] == ["bluegreen.release"]
    assert TEMPLATE["Parameters"]["AutoReleaseOnCodeUpdate"]["Default"] == "false"
    assert rules["CodeUpdated"]["Properties"]["State"] == {"Fn::If": ["AutoRelease", "ENABLED", "DISABLED"]}


@pytest.mark.parametrize("path", sorted((ROOT / "events").glob("*.json")), ids=lambda p: p.name)
def test_sample_events_are_valid_execution_inputs(path: Path) -> None:
    assert parse_request(json.loads(path.read_text()))


def test_the_local_run_scales_every_retry_and_keeps_every_attempt() -> None:
    from bluegreen.local.stack import scale_retries

    def retriers(states: dict[str, Any]) -> list[dict[str, Any]]:
        found = [r for s in states.values() for r in s.get("Retry", [])]
        return found + [r for s in states.values() if "ItemProcessor" in s
                        for r in retriers(s["ItemProcessor"]["States"])]

    scaled = retriers(scale_retries(DEFINITION)["States"])
    assert {(r["IntervalSeconds"], r["BackoffRate"]) for r in scaled} == {(1, 1.0)}
    assert [r["MaxAttempts"] for r in scaled] == [r["MaxAttempts"] for r in retriers(DEFINITION["States"])]


@pytest.mark.parametrize(("hooks", "expected"), [([""], False), (["orders-smoke"], True)])
def test_the_hooks_statement_is_granted_only_when_hooks_are_named(hooks: list[str], expected: bool) -> None:
    """HasVerificationHooks (a Fn::Not) as CloudFormation evaluates it: the local run once read every condition
    it could not evaluate as true."""
    resolver = Resolver(parameters={"VerificationHooks": hooks}, pseudo={}, conditions=TEMPLATE["Conditions"])
    assert resolver.condition("HasVerificationHooks") is expected


def test_every_action_plan_lists_is_one_the_template_allows_the_task_that_calls_it() -> None:
    """`plan` lists the calls each task makes; each is granted to that task's function by template.yaml, so a plan
    never promises a call IAM refuses (the e2e IAM test holds the other side: every call made is listed)."""
    staged = json.loads((ROOT / "events" / "with-test-stage.json").read_text())
    metrics = json.loads((ROOT / "events" / "http-500.json").read_text())["health"]["metrics"]
    request = parse_request({**{k: v for k, v in staged.items() if k != "version"},
                             "health": {"alarms": ["orders-api-errors"], "metrics": metrics},
                             "approval": {"before": "promote"}})
    planned = aws_actions(request, request.step_plan())
    tasks = {"validate and publish": "PublishFunction", "each shift": "ShiftTrafficFunction",
             "each check": "CheckHealthFunction", "promote": "PromoteFunction",
             "on failure: roll back": "RollbackFunction", "verify (before traffic, after promotion)": "VerifyFunction"}
    assert set(planned) - set(tasks) == {"asking an operator (the state machine)"}
    for task, logical_id in tasks.items():
        allowed = {a for s in _statements(RESOURCES[logical_id]) for a in s["Action"]}
        listed = {a for entry in planned[task] for a in re.findall(r"\b[a-z0-9-]+:[A-Z][A-Za-z]+", entry)}
        assert listed and listed <= allowed, (task, sorted(listed - allowed))
