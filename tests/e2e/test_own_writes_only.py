"""A release undoes only its own writes (the rollback task, the abort guardian, a task stopped mid-write), through
the real state machine: a later release, a person's change and another release's lease are never overwritten,
and no write of a stopped release lands for good. Each case ends with every alias 100% old, 100% new or as the
person left it, the lease released and the history true."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from bluegreen.contracts import state_names
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, release, weights_of
from tests.e2e.test_triggers_and_lock import history_of, lock_item
from tests.faults import Interleave

FAST = {"steps": [10, 50, 100], "intervalSeconds": 1}


def where(alias: str = ALIAS, function: str = FUNCTION) -> tuple[str, dict[str, float]]:
    found = get_alias(alias, function)
    return found["FunctionVersion"], weights_of(found)


def person_sets(routing: tuple[str, dict[str, float]], alias: str = ALIAS) -> None:
    """What someone does at the console: no RevisionId, no lease."""
    version, weights = routing
    boto3.client("lambda", region_name=REGION).update_alias(
        FunctionName=FUNCTION, Name=alias, FunctionVersion=version, RoutingConfig={"AdditionalVersionWeights": weights})


def guardian(stack: LocalStack, arn: str, status: str) -> dict[str, Any]:
    """The guardian's run for ``arn`` ended ``status``, as EventBridge would deliver it (late, or again)."""
    out = boto3.client("lambda", region_name=REGION).invoke(
        FunctionName=stack.functions["RollbackFunction"].name,
        Payload=json.dumps({"detail-type": "Step Functions Execution Status Change", "source": "aws.states",
                            "detail": {"executionArn": arn, "status": status}}))
    answer: dict[str, Any] = json.loads(out["Payload"].read())
    return answer


# --- a late guardian ---------------------------------------------------------------------------------------

@pytest.mark.usefixtures("traffic")
def test_a_late_guardian_leaves_a_later_release_alone(stack: LocalStack, sample: SampleFunction) -> None:
    # Release A of version 2 rolls back ...
    version = sample.publish("v2", error_rate=0.3)
    a = release(stack, version=version)
    assert a.error == "HealthCheckFailed" and where() == ("1", {})
    # ... release B of the same version 2 is promoted (all at once: no health check) ...
    b = release(stack, version=version, strategy="AllAtOnce")
    assert b.status == "SUCCEEDED" and where() == ("2", {})
    records = history_of(stack)
    # ... then A's FAILED event arrives, late (EventBridge retries for a day; the dead-letter queue is replayed).
    answer = guardian(stack, a.arn, "FAILED")
    assert answer["action"] == "nothing to do", answer
    assert where() == ("2", {})  # B's promotion stands
    assert history_of(stack) == records  # the history still says B promoted, A rolled back
    assert lock_item(stack) is None


@pytest.mark.usefixtures("traffic")
def test_a_guardian_leaves_an_alias_another_release_holds(stack: LocalStack, sample: SampleFunction) -> None:
    version = sample.publish("v2", error_rate=0.3)
    a = release(stack, version=version)
    assert a.error == "HealthCheckFailed"
    healthy = sample.publish("v3", error_rate=0.0)
    b = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": healthy, "strategy": FAST})
    execution.reached(b, state_names.STEP_BEGINS)
    assert where() == ("1", {healthy: 0.1})
    # A's event replayed while B bakes at 10%: B's alias, B's lease; the guardian touches neither.
    assert guardian(stack, a.arn, "ABORTED")["action"] == "nothing to do"
    assert where() == ("1", {healthy: 0.1})
    assert execution.wait(b, timeout=60).status == "SUCCEEDED" and where() == (healthy, {})


# --- a person's change stands -------------------------------------------------------------------------------

@pytest.mark.parametrize("by_hand", ["promoted", "fifty-fifty"])
@pytest.mark.usefixtures("traffic")
def test_a_change_by_hand_mid_canary_is_noticed_and_left_as_made(by_hand: str, stack: LocalStack,
                                                                  sample: SampleFunction) -> None:
    version = sample.publish("v2", error_rate=0.0)
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                  "strategy": {"steps": [10, 50, 100], "intervalSeconds": 4},
                                  "health": {"checkIntervalSeconds": 2}})
    execution.reached(arn, state_names.STEP_BEGINS)
    made = (version, {}) if by_hand == "promoted" else ("1", {version: 0.5})
    person_sets(made)
    result = execution.wait(arn, timeout=60)
    assert result.error == "AliasDrift", result.cause
    assert "someone changed it" in (result.cause or "") and "left as it is" in (result.cause or "")
    assert where() == made  # not put back on version 1
    execution.announce_status_change(arn)  # the guardian agrees
    assert where() == made
    assert lock_item(stack) is None
    (record,) = history_of(stack)
    assert record["status"] == "LEFT_ALONE" and "someone changed it" in record["cause"]


# --- no write lands after an abort -----------------------------------------------------------------------------

WRITES = {  # the write held in flight: (function, its occurrence of UpdateAlias or CreateAlias, strategy)
    "first shift (10%)": ("ShiftTrafficFunction", 1, FAST),
    "second shift (50%)": ("ShiftTrafficFunction", 2, FAST),
    "promotion after the steps": ("PromoteFunction", 1, FAST),
    "all-at-once promotion": ("PromoteFunction", 1, "AllAtOnce"),
}


@pytest.mark.parametrize("write", sorted(WRITES))
@pytest.mark.usefixtures("traffic")
def test_stopped_with_a_write_in_flight_the_alias_ends_whole(write: str, stack: LocalStack, sample: SampleFunction,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    function, occurrence, strategy = WRITES[write]
    version = sample.publish("v2", error_rate=0.0)
    held = Interleave(function, "UpdateAlias", occurrence=occurrence, hold=True)
    held.install(monkeypatch)
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                  "strategy": strategy})
    assert held.reached.wait(60), f"the {write} never started"
    # Stopped while the write is in flight (pacing, the SDK retrying a throttled UpdateAlias: seconds in AWS) ...
    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=arn, cause="operator abort")
    execution.announce_status_change(arn)  # ... the guardian runs first ...
    held.release.set()  # ... then the write goes on, and the task ends.
    assert held.done.wait(30)
    assert stack.router.wait_idle(30)
    assert where() == ("1", {}), f"the {write} landed after the abort"
    assert lock_item(stack) is None
    (record,) = history_of(stack)
    assert record["status"] == "ABORTED"
    # The next release is not refused ("already splits traffic"): it starts from a whole alias.
    assert release(stack, version=version, strategy="AllAtOnce").status == "SUCCEEDED"


@pytest.mark.usefixtures("traffic")
def test_two_aliases_of_one_function_aborted_mid_promotion_both_go_back(
        stack: LocalStack, sample: SampleFunction, monkeypatch: pytest.MonkeyPatch) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_alias(FunctionName=FUNCTION, Name="live", FunctionVersion="1")
    version = sample.publish("v2", error_rate=0.0)
    # The second alias's promotion held: the first is promoted, its lease ended PROMOTED.
    held = Interleave("PromoteFunction", "UpdateAlias", occurrence=2, hold=True)
    held.install(monkeypatch)
    callers = TrafficSimulator(FUNCTION, "live")  # prod's callers are the traffic fixture's
    callers.start()
    try:
        arn = execution.start(stack, {"targets": [{"functionName": FUNCTION, "alias": ALIAS, "version": version},
                                                  {"functionName": FUNCTION, "alias": "live", "version": version}],
                                      "strategy": {"steps": [50, 100], "intervalSeconds": 1}})
        assert held.reached.wait(60), "the second promotion never started"
    finally:
        callers.stop()
    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=arn)
    execution.announce_status_change(arn)
    held.release.set()
    assert held.done.wait(30) and stack.router.wait_idle(30)
    # All or nothing, per function *and alias*: neither stays promoted, neither stays split.
    assert where(ALIAS) == ("1", {}) and where("live") == ("1", {})
    assert lock_item(stack) is None and lock_item(stack, FUNCTION, "live") is None
