"""A property test over random releases: any mix of injected faults and operator actions (approve,
reject, no answer, promote now, abort) leaves the alias whole on the old or the new version, the lock
released and the history complete, once the execution has ended and the guardian has run."""

from __future__ import annotations

import itertools
import time
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bluegreen.aws import controls, history
from bluegreen.aws import settings as bluegreen_settings
from bluegreen.contracts.state import EarlyPromotion
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.e2e.test_fault_matrix import TASKS
from tests.e2e.test_triggers_and_lock import lock_item
from tests.faults import KINDS, Fault, FaultInjector

ACTIONS = ("none", "approve", "reject", "no-answer", "promote-now", "abort")
_names = itertools.count(1)

faults_strategy = st.lists(
    st.builds(lambda task, kind, failures: Fault(TASKS[task][0], TASKS[task][1], kind, failures),
              st.sampled_from(list(TASKS)), st.sampled_from(KINDS), st.integers(min_value=1, max_value=3)),
    max_size=2)


def _ended(arn: str) -> bool:
    return str(boto3.client("stepfunctions", region_name=REGION).describe_execution(executionArn=arn)["status"]) \
        != "RUNNING"


def _act(action: str, arn: str, function: str) -> None:
    deadline = time.monotonic() + 30
    if action in ("approve", "reject"):
        while (question := execution.pending_question(execution.history(arn))) is None:
            if _ended(arn) or time.monotonic() > deadline:
                return  # ended before asking (a fault, or a failing check)
            time.sleep(0.1)
        boto3.client("stepfunctions", region_name=REGION).send_task_success(
            taskToken=question["taskToken"], output=f'{{"decision": "{action}"}}')
    elif action == "promote-now":
        controls.request_promote_now(arn, EarlyPromotion(reason="property test", by="hypothesis"))
    elif action == "abort":
        lam = boto3.client("lambda", region_name=REGION)
        while not (lam.get_alias(FunctionName=function, Name="live").get("RoutingConfig") or {}).get(
                "AdditionalVersionWeights"):
            if time.monotonic() > deadline or _ended(arn):
                break
            time.sleep(0.05)
        boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=arn)


def _assert_whole(stack: LocalStack, function: str, result_status: str, old: str, new: str) -> None:
    alias = boto3.client("lambda", region_name=REGION).get_alias(FunctionName=function, Name="live")
    assert not (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights"), f"split: {alias}"
    assert alias["FunctionVersion"] in {old, new}, f"third version: {alias}"
    if result_status == "SUCCEEDED":
        assert alias["FunctionVersion"] == new
    assert lock_item(stack, function, "live") is None, "lock left behind"
    assert all(r["status"] != "RUNNING" for r in history.list_deployments(function, "live")), "history RUNNING"


@pytest.mark.long
@settings(max_examples=10, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(faults=faults_strategy, action=st.sampled_from(ACTIONS), healthy=st.booleans())
def test_random_faults_and_operator_actions(stack: LocalStack, monkeypatch: pytest.MonkeyPatch,
                                            faults: list[Fault], action: str, healthy: bool) -> None:
    with bluegreen_settings.provided({bluegreen_settings.DEPLOYMENTS_TABLE: stack.tables["DeploymentsTable"]}):
        _release_with(stack, faults, action, healthy)


def _release_with(stack: LocalStack, faults: list[Fault], action: str, healthy: bool) -> None:
    function = f"orders-p{next(_names)}"
    sample = SampleFunction(function, "live", stack.role_arn)
    sample.create()
    new = sample.publish("v2", error_rate=0.0 if healthy else 0.3)
    traffic = TrafficSimulator(function, "live")
    traffic.start()
    injector = FaultInjector(stack.name, faults=list(faults))
    patch = pytest.MonkeyPatch()
    injector.install(patch)
    request: dict[str, Any] = {"functionName": function, "alias": "live", "version": new,
                               "strategy": {"steps": [20, 60, 100], "intervalSeconds": 2},
                               "health": {"checkIntervalSeconds": 1}}
    if action in ("approve", "reject", "no-answer"):
        request["approval"] = {"before": "promote", "timeoutSeconds": 2}
    try:
        arn = execution.start(stack, request)
        _act(action, arn, function)
        result = execution.wait(arn, timeout=120)
        if result.status != "SUCCEEDED":
            execution.announce_status_change(arn)
    finally:
        patch.undo()
        traffic.stop()
    _assert_whole(stack, function, result.status, "1", new)
