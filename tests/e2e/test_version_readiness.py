"""Ready before traffic: a new version takes its first calls only once Lambda says it is Active.

The embedded Lambda keeps a new version of a SnapStart (or slow) function Pending for a while, refusing its
calls, and can make one fail to get ready (``local/stand_ins/lambda_versions.py``)."""

from __future__ import annotations

import boto3
import pytest

from bluegreen.local import execution
from bluegreen.local.app_stack import wait_until_updated as updated
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, weights_of
from tests.e2e.test_triggers_and_lock import history_of, lock_item

STEPS = {"strategy": {"steps": [50, 100], "intervalSeconds": 1}}


def snap_start_on(stack: LocalStack, ready_seconds: float) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    lam.update_function_configuration(FunctionName=FUNCTION, SnapStart={"ApplyOn": "PublishedVersions"})
    updated(lam, FUNCTION)
    stack.lambda_rules.versions.ready_seconds = ready_seconds


def calls_refused(traffic: TrafficSimulator, version: str) -> int:
    return sum(sample.not_ready.get(version, 0) for sample in traffic.samples)


def test_a_snapstart_release_waits_for_its_version_to_be_active(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator) -> None:
    snap_start_on(stack, ready_seconds=6)
    sha = sample.stage("v2", error_rate=0.0)
    result = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "codeSha256": sha, **STEPS},
                           timeout=120)
    assert result.status == "SUCCEEDED", result.cause
    new = result.output["plan"]["targets"][0]["newVersion"] if result.output else "2"
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == (new, {})
    config = boto3.client("lambda", region_name=REGION).get_function_configuration(FunctionName=FUNCTION,
                                                                                   Qualifier=new)
    assert (config["State"], config["SnapStart"]["ApplyOn"]) == ("Active", "PublishedVersions")
    # The alias routed calls to the new version only once it could run them: none refused.
    assert sum(s.invocations.get(new, 0) for s in traffic.samples) > 0
    assert calls_refused(traffic, new) == 0


@pytest.mark.parametrize("how", ["failed", "still-pending"])
def test_a_version_that_does_not_get_ready_is_refused_with_nothing_changed(
        stack: LocalStack, sample: SampleFunction, traffic: TrafficSimulator, how: str) -> None:
    snap_start_on(stack, ready_seconds=1 if how == "failed" else 600)
    if how == "failed":
        stack.lambda_rules.versions.failing[FUNCTION] = (
            "FunctionError", "the function's initialization failed while Lambda took its snapshot (injected)")
    sha = sample.stage("v2", error_rate=0.0)
    result = execution.run(stack, {"functionName": FUNCTION, "alias": ALIAS, "codeSha256": sha,
                                   "readyTimeoutSeconds": 3, **STEPS}, timeout=120)
    assert (result.status, result.error) == ("FAILED", "VersionNotReady"), (result.error, result.cause)
    expected = "State Failed (FunctionError: the function's initialization failed" if how == "failed" else (
        "still not ready after readyTimeoutSeconds")
    assert result.cause and expected in result.cause, result.cause
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    assert calls_refused(traffic, "2") == 0 and all(not s.invocations.get("2") for s in traffic.samples)
    assert lock_item(stack) is None
    assert [record["status"] for record in history_of(stack)] == []


def test_an_invoke_of_a_pending_version_is_refused_as_lambda_does(stack: LocalStack, sample: SampleFunction) -> None:
    """The rule the release keeps to, as the embedded Lambda enforces it (API reference, Invoke's errors)."""
    snap_start_on(stack, ready_seconds=600)
    lam = boto3.client("lambda", region_name=REGION)
    sample.stage("v2", error_rate=0.0)
    published = lam.publish_version(FunctionName=FUNCTION)
    assert (published["State"], published["StateReasonCode"]) == ("Pending", "Creating")
    with pytest.raises(lam.exceptions.SnapStartNotReadyException):
        lam.invoke(FunctionName=FUNCTION, Qualifier=published["Version"], Payload=b"{}")
    assert stack.lambda_rules.versions.refused[f"{FUNCTION}:{published['Version']}"] == 1
