"""The fault matrix: every task of the state machine x every fault kind x (first attempt | retries
exhausted). Whatever happens, once the execution has ended and the guardian has run, the alias is 100%
on the old version or 100% on the new one: never split, never a third version; the lock is released
and the history complete."""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Iterator

import boto3
import pytest

from bluegreen.contracts import state_names
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction
from bluegreen.local.traffic import code as sample_code
from tests.conftest import ALIAS, FUNCTION, get_alias, weights_of
from tests.e2e.test_triggers_and_lock import history_of, lock_item
from tests.faults import ALWAYS, KINDS, Fault, FaultInjector, Interleave, Kind

# Task state -> (its function, the AWS call of it to break)
TASKS = {
    "publish": ("PublishFunction", "GetAlias"),
    "shift": ("ShiftTrafficFunction", "UpdateAlias"),
    "check": ("CheckHealthFunction", "GetMetricData"),
    "promote": ("PromoteFunction", "UpdateAlias"),
    "rollback": ("RollbackFunction", "UpdateAlias"),
}
# The rollback's attempts in the definition: its Retry's MaxAttempts for what it retries (transient AWS
# errors), one for the rest. "Exhausted" fails them all; the guardian (the same function, later) then
# finds AWS working again, as it would once an outage ends.
ROLLBACK_ATTEMPTS = {"throttle": 8, "service-error": 8, "conflict": 8, "timeout": 8, "crash": 1, "lambda-unknown": 1}


@pytest.fixture
def faults(stack: LocalStack) -> Iterator[FaultInjector]:
    injector = FaultInjector(stack.name)
    patch = pytest.MonkeyPatch()
    injector.install(patch)
    yield injector
    patch.undo()


def assert_the_promise(stack: LocalStack, result: execution.ExecutionResult, old: str, new: str) -> None:
    """After the execution and the guardian: the alias whole on the old or the new version, lock
    released, history complete."""
    if result.status != "SUCCEEDED":
        execution.announce_status_change(result.arn)  # what AWS emits; the guardian runs
    alias = get_alias()
    assert weights_of(alias) == {}, f"alias left split: {alias}"
    assert alias["FunctionVersion"] in {old, new}, f"alias on a third version: {alias}"
    if result.status == "SUCCEEDED":
        assert alias["FunctionVersion"] == new
    assert lock_item(stack) is None, "lock left behind"
    assert all(record["status"] != "RUNNING" for record in history_of(stack)), "history left RUNNING"


def run_with_fault(stack: LocalStack, sample: SampleFunction, faults: FaultInjector, *, task: str, kind: Kind,
                   exhausted: bool) -> tuple[execution.ExecutionResult, str]:
    function, operation = TASKS[task]
    # The rollback task runs only when the release fails its health check.
    new = sample.publish("v2", error_rate=0.3 if task == "rollback" else 0.0)
    failures = (ROLLBACK_ATTEMPTS[kind] if task == "rollback" else ALWAYS) if exhausted else 1
    faults.faults.append(Fault(function, operation, kind, failures))
    result = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": new,
                                   "strategy": {"steps": [50, 100], "intervalSeconds": 1}}, timeout=120)
    assert faults.injected[kind] >= 1, "the fault never fired"
    return result, new


@pytest.mark.parametrize("attempts", ["first-attempt", "retries-exhausted"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.usefixtures("traffic")
def test_fault_matrix(task: str, kind: Kind, attempts: str, stack: LocalStack, sample: SampleFunction,
                      faults: FaultInjector) -> None:
    result, new = run_with_fault(stack, sample, faults, task=task, kind=kind,
                                 exhausted=attempts == "retries-exhausted")
    assert_the_promise(stack, result, "1", new)


# --- the other categories of the matrix ---------------------------------------------------------------

def start_and_reach_the_first_step(stack: LocalStack, version: str) -> str:
    """A release baking at 10% (4 s per step, checks every 2 s): the moment to change the alias by hand."""
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                  "strategy": {"steps": [10, 50, 100], "intervalSeconds": 4},
                                  "health": {"checkIntervalSeconds": 2}})
    execution.reached(arn, state_names.STEP_BEGINS)
    assert weights_of(get_alias()) == {version: 0.1}
    return arn


def person_points_the_alias_at(version: str) -> None:
    """What someone does at the console: the alias 100% on ``version``, no RevisionId, no lock."""
    boto3.client("lambda", region_name=REGION).update_alias(
        FunctionName=FUNCTION, Name=ALIAS, FunctionVersion=version, RoutingConfig={"AdditionalVersionWeights": {}})


def assert_left_as_the_person_made_it(stack: LocalStack, result: execution.ExecutionResult, version: str) -> None:
    if result.status != "SUCCEEDED":
        execution.announce_status_change(result.arn)  # the guardian does not clobber it either
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == (version, {})
    assert lock_item(stack) is None, "lock left behind"
    assert all(record["status"] != "RUNNING" for record in history_of(stack)), "history left RUNNING"


@pytest.mark.usefixtures("traffic")
def test_alias_changed_by_hand_mid_release_is_detected_and_left_as_they_made_it(
        stack: LocalStack, sample: SampleFunction) -> None:
    version = sample.publish("v2", 0.0)
    third = sample.publish("v3", 0.0)
    arn = start_and_reach_the_first_step(stack, version)
    person_points_the_alias_at(third)  # during the bake
    result = execution.wait(arn, timeout=60)
    assert result.error == "AliasDrift"
    assert "someone changed it" in (result.cause or "") and "left as it is" in (result.cause or "")
    assert_left_as_the_person_made_it(stack, result, third)
    assert history_of(stack)[0]["status"] == "LEFT_ALONE"


@pytest.mark.usefixtures("traffic")
def test_manual_rollback_mid_release_is_noticed_at_the_next_check(stack: LocalStack, sample: SampleFunction) -> None:
    version = sample.publish("v2", 0.0)
    arn = start_and_reach_the_first_step(stack, version)
    # An operator rolls back by hand: the old version alone.
    person_points_the_alias_at("1")
    result = execution.wait(arn, timeout=60)
    # The next check finds the alias not where the release left it: it stops at once, before the step's
    # bake is over, and never re-splits the alias.
    assert (result.status, result.error) == ("FAILED", "AliasDrift")
    assert "not version 1 with version 2 10% as this release left it" in (result.cause or "")
    assert result.entered().count(state_names.SHIFT_MAP) == 1 and len(result.checks()) <= 1
    assert_left_as_the_person_made_it(stack, result, "1")


# --- races: someone else's write between a task's read and its write ------------------------------------

@pytest.mark.parametrize("task", ["shift", "promote", "rollback"])
@pytest.mark.usefixtures("traffic")
def test_a_write_between_a_tasks_read_and_its_write_is_never_overwritten(
        task: str, stack: LocalStack, sample: SampleFunction, monkeypatch: pytest.MonkeyPatch) -> None:
    new = sample.publish("v2", error_rate=0.3 if task == "rollback" else 0.0)  # the rollback runs on a failure
    third = sample.publish("v3", 0.0)
    function, _ = TASKS[task]
    # Right before the task's UpdateAlias, after its GetAlias: a person points the alias at version 3.
    Interleave(function, "UpdateAlias", action=lambda: person_points_the_alias_at(third)).install(monkeypatch)
    result = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": new,
                                   "strategy": {"steps": [50, 100], "intervalSeconds": 1}}, timeout=120)
    # The task's write, conditional on the revision it read, is refused; it reads again and stops.
    assert result.error == "AliasDrift", result.cause
    assert_left_as_the_person_made_it(stack, result, third)


@pytest.mark.usefixtures("traffic")
def test_the_guardian_and_a_shift_still_in_flight_leave_the_alias_whole(
        stack: LocalStack, sample: SampleFunction, monkeypatch: pytest.MonkeyPatch) -> None:
    version = sample.publish("v2", 0.0)
    # The second shift (to 50%) holds between its GetAlias and its UpdateAlias ...
    held = Interleave("ShiftTrafficFunction", "UpdateAlias", occurrence=2, hold=True)
    held.install(monkeypatch)
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": version,
                                  "strategy": {"steps": [10, 50, 100], "intervalSeconds": 1}})
    assert held.reached.wait(60), "the second shift never started"
    # ... while the execution is stopped and the guardian puts the alias back from 10% to version 1.
    boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=arn, cause="operator abort")
    execution.announce_status_change(arn)
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    # Then the shift's write goes on: refused (the alias changed since it read it), read again, not written.
    held.release.set()
    assert held.done.wait(30)
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    assert lock_item(stack) is None
    (record,) = history_of(stack)
    assert record["status"] == "ABORTED"


@pytest.mark.usefixtures("traffic")
def test_a_publish_right_after_a_code_update_waits_for_it(stack: LocalStack, sample: SampleFunction) -> None:
    stack.lambda_rules.update_seconds = 600  # in progress until the test says it is done
    lam = boto3.client("lambda", region_name=REGION)
    lam.update_function_code(FunctionName=FUNCTION, ZipFile=sample_code("v2"))
    sha = lam.get_function(FunctionName=FUNCTION)["Configuration"]["CodeSha256"]
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "codeSha256": sha,
                                  "strategy": {"steps": [50, 100], "intervalSeconds": 1}})
    # The publish waits for the update to end (LastUpdateStatus, boto3's waiter), publishing nothing ...
    execution.reached(arn, state_names.PUBLISH)
    time.sleep(3)
    versions = lam.list_versions_by_function(FunctionName=FUNCTION)["Versions"]
    assert [v["Version"] for v in versions] == ["$LATEST", "1"]
    # ... until the update is done; then it publishes and the release goes on, no PublishVersion refused.
    stack.lambda_rules.finish_updates()
    result = execution.wait(arn, timeout=120)
    assert result.status == "SUCCEEDED", result.cause
    assert not [e for e in result.events if "ResourceConflictException" in json.dumps(e, default=str)]
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("2", {})
    assert lock_item(stack) is None
    assert [record["status"] for record in history_of(stack)] == ["PROMOTED"]


def test_publishing_unchanged_code_is_a_no_op(stack: LocalStack, sample: SampleFunction) -> None:
    sha = sample.stage("v1-again", error_rate=0.0)  # $LATEST changed ...
    first = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "codeSha256": sha,
                                  "strategy": "AllAtOnce"}, timeout=60)
    assert first.status == "SUCCEEDED" and get_alias()["FunctionVersion"] == "2"
    # ... and released; publishing it again gives back the same version: nothing to do.
    again = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "codeSha256": sha}, timeout=60)
    assert again.status == "SUCCEEDED" and "Already released" in again.entered()
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("2", {})
    assert lock_item(stack) is None


@pytest.mark.usefixtures("traffic")
def test_a_task_past_its_timeout_rolls_back_and_ends_with_an_error_a_fail_state_can_raise(
        stack: LocalStack, sample: SampleFunction, faults: FaultInjector) -> None:
    """A task outlasting its TimeoutSeconds fails with States.Timeout (retried, then caught); the rollback puts the
    alias back and the execution ends TaskTimedOut: the States Language reserves "States." names, and a Fail state
    raising one ends the execution with an uncatchable States.Runtime instead (the 200-function bench did so)."""
    definition = copy.deepcopy(stack.definition)
    definition["States"][state_names.CHECK]["TimeoutSeconds"] = 1  # the real 150 s, shortened for the test
    boto3.client("stepfunctions", region_name=REGION).update_state_machine(
        stateMachineArn=stack.state_machine_arn, definition=json.dumps(definition))
    faults.faults.append(Fault("CheckHealthFunction", "GetMetricData", "hang", ALWAYS))
    new = sample.publish("v2", error_rate=0.0)
    result = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": new,
                                   "strategy": {"steps": [50, 100], "intervalSeconds": 1}}, timeout=120)
    assert faults.injected["hang"] == 3, "the check task and its two retries on States.Timeout"
    assert (result.status, result.error) == ("FAILED", "TaskTimedOut"), (result.error, result.cause)
    assert result.cause and "States.Timeout (a task ran past its TimeoutSeconds" in result.cause, result.cause
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    assert lock_item(stack) is None
    assert [record["status"] for record in history_of(stack)] == ["ROLLED_BACK"]


@pytest.mark.parametrize("explaining", ["works", "fails"])
def test_a_publish_past_its_timeout_is_rejected_with_an_error_a_fail_state_can_raise(
        stack: LocalStack, sample: SampleFunction, faults: FaultInjector, explaining: str) -> None:
    """Publish timing out is rejected with the alias untouched; if explaining the rejection fails too, the last
    Fail state quotes the task's error in its Cause under a name of ours (not "States.Timeout")."""
    definition = copy.deepcopy(stack.definition)
    definition["States"][state_names.PUBLISH]["TimeoutSeconds"] = 1  # the real 130 s, shortened for the test
    boto3.client("stepfunctions", region_name=REGION).update_state_machine(
        stateMachineArn=stack.state_machine_arn, definition=json.dumps(definition))
    faults.faults.append(Fault("PublishFunction", "GetAlias", "hang", ALWAYS))
    if explaining == "fails":
        faults.faults.append(Fault("RollbackFunction", "Invoke", "lambda-unknown", ALWAYS))
    new = sample.publish("v2", error_rate=0.0)
    result = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": new}, timeout=60)
    expected = ("TaskTimedOut", "States.Timeout (a task ran") if explaining == "works" else (
        "ReleaseRejected", "States.Timeout: ")
    assert (result.status, result.error) == ("FAILED", expected[0]), (result.error, result.cause)
    assert result.cause and expected[1] in result.cause, result.cause
    faults.faults.clear()
    if explaining == "fails":
        execution.announce_status_change(result.arn)  # the guardian ends what explaining did not: the lease
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    # A timed-out attempt runs on (Lambda ends it at the function's own timeout) and may take the lease late;
    # a lease of an ended execution is free, so the next release goes ahead.
    again = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": new, "strategy": "AllAtOnce"},
                          timeout=60)
    assert again.status == "SUCCEEDED", again.cause
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == (new, {})
