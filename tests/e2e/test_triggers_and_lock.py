"""Starting releases from EventBridge, CodePipeline and code updates; one release per alias; the history
and the events a release leaves behind. All through the template's own rules and the real state machine."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bluegreen.contracts import state_names
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack, running_stack
from bluegreen.local.stand_ins.principals import session_as
from bluegreen.local.template import load_template
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, BusListener, get_alias, release, weights_of

ROOT = Path(__file__).resolve().parents[2]
TRIGGERS = ROOT / "events" / "triggers"
# The local stack's release-request bus (stack "bluegreen"; its policy admits the ci-deployer role only).
BUS = "bluegreen-release-requests"
FAST = {"steps": [10, 50, 100], "intervalSeconds": 1}


def sfn() -> Any:
    return boto3.client("stepfunctions", region_name=REGION)


def executions(stack: LocalStack) -> list[dict[str, Any]]:
    return list(sfn().list_executions(stateMachineArn=stack.state_machine_arn)["executions"])


def wait_for_executions(stack: LocalStack, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 20
    while len(found := executions(stack)) < count:
        assert time.monotonic() < deadline, f"{len(found)} execution(s) started, expected {count}"
        time.sleep(0.1)
    return found


def lock_item(stack: LocalStack, function: str = FUNCTION, alias: str = ALIAS) -> dict[str, Any] | None:
    """The alias's lease while a release holds it; None once released (an ended lease stays, saying who wrote
    the alias last, and binds nobody)."""
    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName=stack.tables["DeploymentsTable"],
        Key={"pk": {"S": f"LOCK#{function}:{alias}"}, "sk": {"S": "LOCK"}}).get("Item")
    return dict(item) if item and "ended" not in item else None


def history_of(stack: LocalStack) -> list[dict[str, Any]]:
    from bluegreen.aws import history, settings

    # The table's name for this thread only: moto's threads read the process environment meanwhile.
    with settings.provided({settings.DEPLOYMENTS_TABLE: stack.tables["DeploymentsTable"]}):
        return history.list_deployments(FUNCTION, ALIAS)


# --- starting a release ---------------------------------------------------------------------------

def test_a_release_requested_on_eventbridge_starts_with_the_events_detail(stack: LocalStack, sample: SampleFunction,
                                                                         traffic: TrafficSimulator) -> None:
    sample.publish("v2", error_rate=0.0)
    entries = json.loads((TRIGGERS / "eventbridge-put-events.json").read_text())
    # The CI role, named in ReleaseRequesters, puts the request on the stack's release-request bus.
    session_as("ci-deployer").client("events").put_events(Entries=entries)

    (started,) = wait_for_executions(stack, 1)
    desc = sfn().describe_execution(executionArn=started["executionArn"])
    assert json.loads(desc["input"]) == json.loads(entries[0]["Detail"])
    result = execution.wait(started["executionArn"], timeout=60)
    assert result.status == "SUCCEEDED"
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("2", {})
    assert history_of(stack)[0]["trigger"] == {"source": "eventbridge", "requestedBy": "build 1234"}


def test_other_events_on_the_bus_start_nothing(stack: LocalStack, sample: SampleFunction) -> None:
    session_as("ci-deployer").client("events").put_events(Entries=[
        {"Source": "bluegreen.release", "DetailType": "Something Else", "Detail": "{}", "EventBusName": BUS},
        {"Source": "someone.else", "DetailType": "Release Requested", "Detail": "{}", "EventBusName": BUS}])
    time.sleep(0.5)
    assert executions(stack) == []


def test_only_the_named_requesters_can_request_a_release(stack: LocalStack, sample: SampleFunction) -> None:
    before = get_alias()
    request: Any = {"Source": "bluegreen.release", "DetailType": "Release Requested", "EventBusName": BUS,
               "Detail": json.dumps({"functionName": FUNCTION, "alias": ALIAS, "version": "1",
                                     "trigger": {"source": "eventbridge", "requestedBy": "ci-deployer"}})}
    # Another principal of the account (its own IAM policy would allow PutEvents anywhere) is refused ...
    for outsider in (session_as("intruder").client("events"), boto3.client("events", region_name=REGION)):
        with pytest.raises(ClientError) as refused:
            outsider.put_events(Entries=[request])
        assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    # ... and the account's default bus starts no release, whoever puts the request there.
    on_default: Any = {**request, "EventBusName": "default"}
    boto3.client("events", region_name=REGION).put_events(Entries=[on_default])
    time.sleep(0.5)
    assert executions(stack) == [] and get_alias() == before


def _code_update_event(sha: str) -> Any:
    event = json.loads((TRIGGERS / "cloudtrail-update-function-code.json").read_text())
    event["detail"]["responseElements"]["codeSha256"] = sha
    return {"Source": event["source"], "DetailType": event["detail-type"], "Detail": json.dumps(event["detail"])}


@pytest.fixture
def auto_release_stack() -> Iterator[LocalStack]:
    parameters = {"ManagedFunctions": "orders-api", "AutoReleaseOnCodeUpdate": "true", "AutoReleaseAlias": ALIAS}
    with running_stack(parameters) as deployed:
        yield deployed


def test_code_update_releases_latest_with_its_sha_when_switched_on(auto_release_stack: LocalStack) -> None:
    fn = SampleFunction(FUNCTION, ALIAS, auto_release_stack.role_arn)
    fn.create()
    sha = fn.stage("v2", error_rate=0.0)
    boto3.client("events", region_name=REGION).put_events(Entries=[_code_update_event(sha)])

    (started,) = wait_for_executions(auto_release_stack, 1)
    request = json.loads(sfn().describe_execution(executionArn=started["executionArn"])["input"])
    assert request == {"functionName": FUNCTION, "alias": ALIAS, "codeSha256": sha,
                       "strategy": "Canary10Percent5Minutes",
                       "trigger": {"source": "code-update",
                                   "requestedBy": "arn:aws:sts::123456789012:assumed-role/ci-deployer/build-1234"}}
    # It publishes exactly that code (and then bakes its 5-minute canary: not waited for here).
    execution.reached(started["executionArn"], state_names.STEP_BEGINS)
    assert weights_of(get_alias()) == {"2": 0.1}
    sfn().stop_execution(executionArn=started["executionArn"])


def test_code_updates_release_nothing_by_default(stack: LocalStack, sample: SampleFunction) -> None:
    sha = sample.stage("v2", error_rate=0.0)
    boto3.client("events", region_name=REGION).put_events(Entries=[_code_update_event(sha)])
    time.sleep(0.5)
    assert executions(stack) == []


def test_codepipeline_stage_of_the_example_starts_a_release(stack: LocalStack, sample: SampleFunction,
                                                            traffic: TrafficSimulator) -> None:
    # The Release action of examples/codepipeline.yaml, started as CodePipeline's Step Functions action does.
    pipeline = load_template(ROOT / "examples" / "codepipeline.yaml")
    stage = next(s for s in pipeline["Resources"]["Pipeline"]["Properties"]["Stages"] if s["Name"] == "Release")
    config = stage["Actions"][0]["Configuration"]
    assert config["InputType"] == "Literal"
    literal = config["Input"]["Fn::Sub"].replace("${FunctionName}", FUNCTION).replace("${AliasName}", ALIAS) \
        .replace("${AWS::StackName}", "orders-pipeline")
    request = json.loads(literal)
    request["strategy"] = FAST  # the example's 5-minute canary, compressed for the test
    sample.stage("v2", error_rate=0.0)
    prefix = config["ExecutionNamePrefix"]["Fn::Sub"].replace("${FunctionName}", FUNCTION)
    arn = execution.start(stack, request, name=f"{prefix}-{uuid.uuid4()}"[:80])
    result = execution.wait(arn, timeout=60)
    assert result.status == "SUCCEEDED"  # the stage succeeds; FAILED would fail the stage
    assert get_alias()["FunctionVersion"] == "2"
    assert history_of(stack)[0]["trigger"]["source"] == "codepipeline"


# --- one release per alias --------------------------------------------------------------------------

def test_two_concurrent_starts_on_one_alias_run_exactly_one(stack: LocalStack, sample: SampleFunction,
                                                           traffic: TrafficSimulator) -> None:
    version = sample.publish("v2", error_rate=0.0)
    payload = {"functionName": FUNCTION, "alias": ALIAS, "version": version, "strategy": FAST}
    first = execution.start(stack, payload)
    deadline = time.monotonic() + 20
    while lock_item(stack) is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    second = execution.wait(execution.start(stack, payload), timeout=30)

    assert second.status == "FAILED" and second.error == "DeploymentInProgress"
    assert first in (second.cause or "")  # names the running execution
    assert state_names.SHIFT_MAP not in second.entered()  # never touched the alias
    assert execution.wait(first, timeout=60).status == "SUCCEEDED"
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("2", {})
    assert lock_item(stack) is None


def test_a_lock_left_by_an_ended_execution_is_taken_over(stack: LocalStack, sample: SampleFunction,
                                                         traffic: TrafficSimulator) -> None:
    # An execution that ended without releasing its lock (stopped from the console, say).
    gone = execution.start(stack, {"functionName": "orders-api", "alias": "other"})
    execution.wait(gone, timeout=30)
    boto3.client("dynamodb", region_name=REGION).put_item(
        TableName=stack.tables["DeploymentsTable"],
        Item={"pk": {"S": f"LOCK#{FUNCTION}:{ALIAS}"}, "sk": {"S": "LOCK"}, "executionArn": {"S": gone}})
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version)
    assert result.status == "SUCCEEDED"
    assert lock_item(stack) is None


# --- the lock is released and the history complete at every end -------------------------------------

def test_promoted_release_releases_the_lock_and_records_every_step(stack: LocalStack, sample: SampleFunction,
                                                                   traffic: TrafficSimulator) -> None:
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version, trigger={"source": "cli", "requestedBy": "alice"})
    assert result.status == "SUCCEEDED"
    assert lock_item(stack) is None
    (record,) = history_of(stack)
    assert record["status"] == "PROMOTED" and record["executionArn"] == result.arn
    assert (record["oldVersion"], record["newVersion"], record["weights"]) == ("1", "2", [10, 50])
    assert record["trigger"] == {"source": "cli", "requestedBy": "alice"}
    assert record["requestedByIs"] == "declared by the request"  # nothing verified it
    # (The last step may take a second check: a promotion waits for settled data half an interval past its bake.)
    assert [(c["weight"], c["verdict"], c["decision"]) for c in record["checks"] if c["decision"] != "bake"] == [
        (10, "pass", "next-step"), (50, "pass", "promote")]
    assert [c["weight"] for c in record["checks"]] in ([10, 50], [10, 50, 50])
    assert record["endedAt"] > record["startedAt"] and record["durationSeconds"] > 0


def test_rolled_back_release_releases_the_lock_and_records_why(stack: LocalStack, sample: SampleFunction,
                                                               traffic: TrafficSimulator) -> None:
    version = sample.publish("v2", error_rate=0.3)
    result = release(stack, version=version)
    assert result.error == "HealthCheckFailed"
    assert lock_item(stack) is None
    (record,) = history_of(stack)
    assert record["status"] == "ROLLED_BACK" and record["error"] == "HealthCheckFailed"
    assert "error rate" in record["cause"] and record["checks"][-1]["verdict"] == "fail"


def test_failed_task_releases_the_lock_and_records_the_failure(stack: LocalStack, sample: SampleFunction,
                                                               traffic: TrafficSimulator,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from bluegreen.jobs import shifting

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("worker lost")

    monkeypatch.setattr(shifting, "write_owned", crash)
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version)
    assert result.error == "RuntimeError"
    assert lock_item(stack) is None
    (record,) = history_of(stack)
    assert record["status"] == "ROLLED_BACK" and record["error"] == "RuntimeError"
    assert "worker lost" in record["cause"]


def test_input_rejected_after_the_lock_releases_it(stack: LocalStack, sample: SampleFunction) -> None:
    result = release(stack, codeSha256="A" * 43 + "=")  # $LATEST's code is not this
    assert result.error == "InvalidInput"
    assert lock_item(stack) is None
    assert history_of(stack) == []


# --- the events a release puts on the bus -------------------------------------------------------------

def test_a_whole_release_emits_exactly_its_events_in_order(stack: LocalStack, sample: SampleFunction,
                                                           traffic: TrafficSimulator) -> None:
    bus = BusListener("all-bluegreen", {"source": ["bluegreen"]})
    version = sample.publish("v2", error_rate=0.0)
    result = release(stack, version=version)
    assert result.status == "SUCCEEDED"
    received = bus.received()
    # One check a step; the last may take a second before the promotion (settled data half an interval past its bake).
    assert [e["detail-type"] for e in received] in (
        ["Deployment Started", "Traffic Shifted", "Health Checked", "Traffic Shifted", "Health Checked", "Promoted"],
        ["Deployment Started", "Traffic Shifted", "Health Checked", "Traffic Shifted", "Health Checked",
         "Health Checked", "Promoted"])
    assert all(e["detail"]["executionArn"] == result.arn for e in received)
    assert [e["detail"]["weight"] for e in received if e["detail-type"] == "Traffic Shifted"] == [10, 50]
    assert received[-1]["detail"]["functionVersion"] == "2"
