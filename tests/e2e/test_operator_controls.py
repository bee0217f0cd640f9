"""Operators' controls through the real state machine: the approval gate, promote now, and the abort
guardian that leaves the alias whole whatever ended the execution."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from bluegreen.aws import controls, settings
from bluegreen.contracts import state_names
from bluegreen.contracts.state import EarlyPromotion
from bluegreen.jobs import health, shifting
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, release, weights_of
from tests.e2e.test_operator_decision import answer, question_of
from tests.e2e.test_triggers_and_lock import history_of, lock_item

FAST = {"steps": [10, 50, 100], "intervalSeconds": 1}


def start(stack: LocalStack, version: str, **fields: Any) -> str:
    return execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                    "strategy": FAST, **fields})


def whole_on(version: str) -> bool:
    alias = get_alias()
    return alias["FunctionVersion"] == version and weights_of(alias) == {}


# --- approval gate ------------------------------------------------------------------------------------

def test_approved_release_is_promoted(stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    arn = start(stack, sample.publish("v2", 0.0), approval={"before": "promote", "timeoutSeconds": 60})
    question = question_of(arn)
    assert question["kind"] == "approval" and question["ifApproved"] == "promote"
    assert weights_of(get_alias()) == {"2": 0.5}  # waits at the last step, not promoted yet
    answer(question, {"decision": "approve", "reason": "dashboards green", "by": "alice"})
    assert execution.wait(arn, timeout=30).status == "SUCCEEDED"
    assert whole_on("2")


def test_rejected_release_is_rolled_back(stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    arn = start(stack, sample.publish("v2", 0.0), approval={"before": "promote"})
    answer(question_of(arn), {"decision": "reject", "reason": "wrong build"})
    result = execution.wait(arn, timeout=30)
    assert result.error == "RolledBackByOperator" and "wrong build" in (result.cause or "")
    assert whole_on("1")


def test_unanswered_gate_times_out_and_rolls_back(stack: LocalStack, sample: SampleFunction,
                                                 traffic: TrafficSimulator) -> None:
    arn = start(stack, sample.publish("v2", 0.0), approval={"before": "promote", "timeoutSeconds": 1})
    result = execution.wait(arn, timeout=30)
    assert result.error == "OperatorTimeout"
    assert whole_on("1") and lock_item(stack) is None


def test_each_step_is_approved_before_traffic_grows(stack: LocalStack, sample: SampleFunction,
                                                   traffic: TrafficSimulator) -> None:
    arn = start(stack, sample.publish("v2", 0.0), approval={"before": "each-step"})
    first = question_of(arn)
    assert (first["weight"], first["ifApproved"]) == (10, "next-step")
    assert weights_of(get_alias()) == {"2": 0.1}
    answer(first, {"decision": "approve"})
    deadline = time.monotonic() + 30
    while (second := execution.pending_question(execution.history(arn))) is None or second == first:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert (second["weight"], second["ifApproved"]) == (50, "promote")
    answer(second, {"decision": "approve"})
    assert execution.wait(arn, timeout=30).status == "SUCCEEDED" and whole_on("2")


# --- promote now ----------------------------------------------------------------------------------------

def test_promote_now_skips_the_remaining_steps_and_records_why(stack: LocalStack, sample: SampleFunction,
                                                               traffic: TrafficSimulator,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    version = sample.publish("v2", 0.0)
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                  "strategy": {"steps": [10, 50, 100], "intervalSeconds": 30},
                                  "health": {"checkIntervalSeconds": 2}})
    deadline = time.monotonic() + 30
    while not execution.task_results(execution.history(arn)):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    with settings.provided({settings.DEPLOYMENTS_TABLE: stack.tables["DeploymentsTable"]}):
        controls.request_promote_now(arn, EarlyPromotion(reason="hotfix verified by hand", by="alice"))

    result = execution.wait(arn, timeout=30)
    assert result.status == "SUCCEEDED" and whole_on("2")
    assert [c["health"]["weight"] for c in result.checks()][-1] == 10  # never went to 50%
    assert result.checks()[-1]["promotedEarly"] == {"reason": "hotfix verified by hand", "by": "alice"}
    (record,) = history_of(stack)
    assert record["status"] == "PROMOTED" and "hotfix verified by hand" in record["cause"]


# --- the abort guardian ------------------------------------------------------------------------------------

class Gate:
    """Holds a handler mid-call until released, so the test can stop the execution at that point."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()

    def wrap(self, real: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any, **kwargs: Any) -> Any:
            try:
                result = real(*args, **kwargs)
                self.reached.set()
                self.release.wait(30)
                return result
            finally:
                self.done.set()
        return held


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    yield g
    g.release.set()


def _hold(point: str, stack: LocalStack, gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    # The publish handler as the local run loads it (from its CodeUri); the core modules it calls.
    module, name = {"before shift": (stack.functions["PublishFunction"].module(), "prepare"),
                    "mid-shift": (shifting, "write_owned"), "during check": (health, "check")}.get(point, (None, ""))
    if module is not None:
        monkeypatch.setattr(module, name, gate.wrap(getattr(module, name)))


@pytest.mark.parametrize("point", ["before shift", "mid-shift", "during wait", "during check"])
@pytest.mark.usefixtures("traffic")
def test_stopping_at_any_point_then_the_guardian_leaves_the_alias_whole(
        point: str, stack: LocalStack, sample: SampleFunction, gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    _hold(point, stack, gate, monkeypatch)
    version = sample.publish("v2", 0.0)
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                  "strategy": {"steps": [10, 50, 100], "intervalSeconds": 20},
                                  "health": {"checkIntervalSeconds": 10}})
    if point == "during wait":
        execution.reached(arn, state_names.STEP_BEGINS)
        assert weights_of(get_alias()) == {"2": 0.1}
    else:
        assert gate.reached.wait(30), f"never reached {point}"

    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=arn, cause="operator abort")
    gate.release.set()
    if point != "during wait":
        assert gate.done.wait(30)
    execution.announce_status_change(arn)  # what AWS emits; the template's rule runs the guardian

    assert whole_on("1"), f"alias left as {get_alias()}"
    assert lock_item(stack) is None
    (record,) = history_of(stack)
    assert record["status"] == "ABORTED" and record["error"] == "ExecutionAborted"


def test_guardian_after_a_finished_release_changes_nothing(stack: LocalStack, sample: SampleFunction,
                                                          traffic: TrafficSimulator) -> None:
    rolled_back = release(stack, version=sample.publish("v2", 0.3))
    assert rolled_back.error == "HealthCheckFailed"
    before_alias, before_history = get_alias(), history_of(stack)
    execution.announce_status_change(rolled_back.arn)  # FAILED: the rule fires, the guardian runs
    assert get_alias() == before_alias and history_of(stack) == before_history

    promoted = release(stack, version=sample.publish("v3", 0.0))
    assert promoted.status == "SUCCEEDED"
    before_alias = get_alias()
    # Even told (wrongly) that the promoted execution was aborted, the guardian sees it promoted.
    out = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=stack.functions["RollbackFunction"].name,
        Payload=json.dumps({"detail-type": "Step Functions Execution Status Change", "source": "aws.states",
                            "detail": {"executionArn": promoted.arn, "status": "ABORTED"}}))
    assert json.loads(out["Payload"].read())["action"] == "nothing to do"
    assert get_alias() == before_alias and whole_on("3")
