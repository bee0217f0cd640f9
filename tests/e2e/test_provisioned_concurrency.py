"""Provisioned concurrency follows the release: the new version warm before its first call, the user's
configuration ending where they had it, and nothing the release allocated left behind, whatever ends it.

The embedded Lambda keeps Lambda's provisioned-concurrency rules (``local/stand_ins/provisioned_concurrency.py``):
allocation takes time (IN_PROGRESS, then READY or FAILED), one owner per version, no new configuration on a
weighted alias, the account's unreserved floor. The traffic simulator counts the calls a version ran cold while
its function has provisioned concurrency (``TrafficSample.cold``)."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from bluegreen.aws import locks, settings
from bluegreen.contracts import state_names
from bluegreen.contracts.state import ProvisionedMove
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, weights_of
from tests.e2e.test_triggers_and_lock import lock_item

STEPS = {"strategy": {"steps": [50, 100], "intervalSeconds": 1}}
AMOUNT = 5


def lam() -> Any:
    return boto3.client("lambda", region_name=REGION)


def provision(stack: LocalStack, qualifier: str, ready_seconds: float = 1.0) -> None:
    """The user's configuration, READY before the release starts; later allocations take ``ready_seconds``."""
    stack.lambda_rules.provisioned.ready_seconds = 0.0
    lam().put_provisioned_concurrency_config(FunctionName=FUNCTION, Qualifier=qualifier,
                                             ProvisionedConcurrentExecutions=AMOUNT)
    stack.lambda_rules.provisioned.ready_seconds = ready_seconds


def configurations() -> dict[str, int]:
    """Every provisioned-concurrency configuration of the function: qualifier -> amount requested."""
    found = lam().list_provisioned_concurrency_configs(FunctionName=FUNCTION)["ProvisionedConcurrencyConfigs"]
    return {c["FunctionArn"].rsplit(":", 1)[-1]: c["RequestedProvisionedConcurrentExecutions"] for c in found}


def calls(traffic: TrafficSimulator, version: str, kind: str = "invocations") -> int:
    return sum(getattr(sample, kind).get(version, 0) for sample in traffic.samples)


def release(stack: LocalStack, new: str, **fields: Any) -> execution.ExecutionResult:
    return execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": new, **STEPS, **fields},
                         timeout=120)


@pytest.mark.parametrize(("owner", "after"), [("version", {"2": AMOUNT}), ("alias", {ALIAS: AMOUNT})])
def test_a_release_gives_the_new_version_provisioned_concurrency_before_its_first_call(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator, owner: str,
        after: dict[str, int]) -> None:
    provision(stack, "1" if owner == "version" else ALIAS, ready_seconds=3.0)
    new = sample.publish("v2", error_rate=0.0)
    result = release(stack, new)
    assert result.status == "SUCCEEDED", result.cause
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == (new, {})
    # Where the user had it, on the new version: a version's moved to it; an alias's follows the alias.
    assert configurations() == after
    # The new version took calls, and none of them cold: its allocation was READY before the first.
    assert calls(traffic, new) > 0
    assert calls(traffic, new, "cold") == 0 and calls(traffic, "1", "cold") == 0


@pytest.mark.parametrize(("owner", "before"), [("version", {"1": AMOUNT}), ("alias", {ALIAS: AMOUNT})])
def test_a_rollback_leaves_only_what_the_user_had(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator, owner: str,
        before: dict[str, int]) -> None:
    provision(stack, "1" if owner == "version" else ALIAS)
    new = sample.publish("v2", error_rate=0.5)
    result = release(stack, new)
    assert (result.status, result.error) == ("FAILED", "HealthCheckFailed"), result.cause
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    assert configurations() == before
    assert calls(traffic, new) > 0 and calls(traffic, new, "cold") == 0


def test_without_it_the_canary_runs_cold(stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    """followProvisionedConcurrency: false leaves every configuration alone, and the new version's calls run cold
    (what the release otherwise prevents)."""
    provision(stack, "1")
    new = sample.publish("v2", error_rate=0.0)
    result = release(stack, new, followProvisionedConcurrency=False)
    assert result.status == "SUCCEEDED", result.cause
    assert configurations() == {"1": AMOUNT}
    assert calls(traffic, new, "cold") > 0


@pytest.mark.parametrize("how", ["failed", "account-floor"])
def test_an_allocation_that_fails_is_refused_with_nothing_changed(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator, how: str) -> None:
    provision(stack, ALIAS)
    if how == "failed":
        stack.lambda_rules.provisioned.failing[FUNCTION] = "FUNCTION_ERROR_INIT_FAILURE: init failed (injected)"
        expected, error = "FUNCTION_ERROR_INIT_FAILURE", "VersionNotReady"
    else:
        stack.lambda_rules.provisioned.account_limit = 100 + AMOUNT + 2  # room for the user's 5, not 5 more
        expected, error = "below its minimum value of [100]", "InvalidInput"
    new = sample.publish("v2", error_rate=0.0)
    result = release(stack, new)
    assert (result.status, result.error) == ("FAILED", error), result.cause
    assert result.cause and expected in result.cause, result.cause
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    assert configurations() == {ALIAS: AMOUNT}
    assert calls(traffic, new) == 0
    assert lock_item(stack) is None


# The fault matrix's rows for provisioned concurrency: stopped at each state, once the guardian has run, the alias
# is whole and nothing is allocated that the user did not have.
ABORT_AT = [state_names.PUBLISH, state_names.STEP_BEGINS, state_names.CHECK, state_names.PROMOTE]


@pytest.mark.parametrize("owner", ["version", "alias"])
@pytest.mark.parametrize("state", ABORT_AT)
@pytest.mark.usefixtures("traffic")
def test_an_abort_at_any_state_leaves_nothing_allocated(
        stack: LocalStack, sample: SampleFunction, owner: str, state: str) -> None:
    before = {"1": AMOUNT} if owner == "version" else {ALIAS: AMOUNT}
    promoted = {"2": AMOUNT} if owner == "version" else {ALIAS: AMOUNT}
    # At the publish task: stopped while it waits for the new version's allocation.
    provision(stack, "1" if owner == "version" else ALIAS, ready_seconds=4.0 if state == state_names.PUBLISH
              else 0.5)
    new = sample.publish("v2", error_rate=0.0)
    steps = [10, 100] if state == state_names.PROMOTE else [10, 50, 100]
    arn = execution.start(stack, {"functionName": FUNCTION, "alias": ALIAS, "version": new,
                                  "strategy": {"steps": steps, "intervalSeconds": 4},
                                  "health": {"checkIntervalSeconds": 2}})
    execution.reached(arn, state, timeout=60)
    if state == state_names.PUBLISH:
        _wait_for(lambda: new in configurations())
    sfn = boto3.client("stepfunctions", region_name=REGION)
    if sfn.describe_execution(executionArn=arn)["status"] == "RUNNING":  # the promotion may have ended already
        sfn.stop_execution(executionArn=arn, cause="operator abort")
    execution.announce_status_change(arn)
    # A task still in flight ends on its own: a publish's allocation, once READY, finds the lease ended; a promotion
    # that ended promoted leaves the user's configuration on the new version.
    end = get_alias()["FunctionVersion"]
    expected = promoted if end == new else before
    _wait_for(lambda: configurations() == expected, timeout=15)
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) in [("1", {}), (new, {})]
    assert end == "1" or state == state_names.PROMOTE
    assert configurations() == expected
    assert lock_item(stack) is None


def _wait_for(condition: Any, timeout: float = 10.0) -> None:
    until = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < until, "condition never held"
        time.sleep(0.1)


def test_a_retried_publish_keeps_what_its_lease_says_it_put(stack: LocalStack) -> None:
    """The publish task's next attempt (a version or an allocation still not ready) takes its leases again: what they
    say the release put stays, so the attempt waits on for it and every later task can remove it."""
    arn = "arn:aws:states:us-east-1:123456789012:execution:bluegreen-deployment:retried"
    move = ProvisionedMove(on="2", owner="alias", amount=AMOUNT)
    with settings.provided({settings.DEPLOYMENTS_TABLE: stack.tables["DeploymentsTable"]}):
        locks.acquire(FUNCTION, ALIAS, arn)
        locks.note_provisioned(FUNCTION, ALIAS, arn, move)
        locks.acquire(FUNCTION, ALIAS, arn)  # the next attempt
        lease = locks.read(FUNCTION, ALIAS)
    assert lease is not None and (lease.holder, lease.provisioned) == (arn, move)
