"""Verification through the real state machine: stage aliases moved and checked before the main alias takes
traffic, checks of the new version before traffic and after promotion, hooks bounded by their timeout, and
every alias the release moved back where it was when anything fails."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from bluegreen.cli import commands
from bluegreen.cli import report as reports
from bluegreen.cli.deployed_stack import embedded
from bluegreen.contracts import state_names
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack, project_root, running_stack
from bluegreen.local.stand_ins.invoker import LocalFunction
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION, get_alias, weights_of

HOOK = "orders-smoke-hook"
HOOK_CODE = Path("tests") / "hooks"
STEPS = {"steps": [50, 100], "intervalSeconds": 1}
SMOKE = {"invoke": {"payload": {"requestId": "smoke"}}, "expect": {"statusCode": 200}}


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """template.yaml in moto with one verification hook allowed."""
    with running_stack({"ManagedFunctions": "orders-*,payments-api", "VerificationHooks": HOOK}) as deployed:
        yield deployed


def with_test_alias(stack: LocalStack, name: str = FUNCTION) -> SampleFunction:
    """A function served by its handler (checks invoke it), version 1 behind prod and test."""
    fn = SampleFunction(name, ALIAS, stack.role_arn, router=stack.router)
    fn.create()
    boto3.client("lambda", region_name=REGION).create_alias(FunctionName=name, Name="test", FunctionVersion="1")
    return fn


@pytest.fixture
def sample(stack: LocalStack) -> SampleFunction:
    return with_test_alias(stack)


def hook(stack: LocalStack, answer: str, **environment: str) -> None:
    """The team's own test Lambda, answering as told (tests/hooks)."""
    lam = boto3.client("lambda", region_name=REGION)
    arn = lam.create_function(FunctionName=HOOK, Runtime="python3.12", Role=stack.role_arn, Handler="app.handler",
                              Code={"ZipFile": b"hook"},
                              Environment={"Variables": {"HOOK_ANSWER": answer, **environment}})["FunctionArn"]
    root = project_root()
    stack.router.register(LocalFunction(HOOK, arn, root / HOOK_CODE, "app.handler", root))


def release(stack: LocalStack, **fields: Any) -> execution.ExecutionResult:
    payload = {"functionName": FUNCTION, "alias": ALIAS, "strategy": STEPS, **fields}
    return execution.run(stack, payload, timeout=90)


def where(alias: str, function: str = FUNCTION) -> tuple[str, dict[str, float]]:
    found = get_alias(alias, function)
    return found["FunctionVersion"], weights_of(found)


def recorded_checks(stack: LocalStack) -> list[dict[str, Any]]:
    """The checks the history recorded (a failed verify task returns nothing to the execution)."""
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=stack.tables["DeploymentsTable"])["Items"]
    return [json.loads(c["S"]) for item in items if "verification" in item for c in item["verification"]["L"]]


def shifted(result: execution.ExecutionResult) -> bool:
    return state_names.SHIFT in result.entered()


def verifications(result: execution.ExecutionResult) -> list[dict[str, Any]]:
    """Every check's result, as the verify task reported them."""
    return [check for outputs in result.task_outputs(state_names.VERIFY) for check in outputs["results"]]


def test_the_chain_moves_test_then_prod(stack: LocalStack, sample: SampleFunction) -> None:
    version = sample.publish("v2", error_rate=0.0)
    # $LATEST answers 500 from now on: every check passes only by running what it names (version 2 by its
    # number, then test and prod moved to it), never $LATEST.
    sample.stage("v3-unreleased", error_rate=0.0, status_code=500)
    traffic = TrafficSimulator(FUNCTION, ALIAS)
    traffic.start()
    try:
        result = release(stack, version=version, stages=[{"alias": "test", "verify": [SMOKE]}],
                         verify={"beforeTraffic": [SMOKE], "afterPromotion": [SMOKE]})
    finally:
        traffic.stop()
    assert result.outcome == "promoted", result.cause
    assert where("test") == ("2", {}) and where(ALIAS) == ("2", {})
    checks = verifications(result)
    assert [(c["phase"], c["stage"], c["target"], c["verdict"]) for c in checks] == [
        ("before-traffic", None, "2", "passed"), ("stage", "test", "test", "passed")]
    # test was on version 2 before prod took any traffic: the verify Map ended before the first shift.
    entered = result.entered()
    assert entered.index(state_names.VERIFY_MAP) < entered.index(state_names.SHIFT)
    # The first step put 50% on version 2 (prod split only during the steps).
    assert any(s.weights.get("2") == 0.5 for s in traffic.samples)
    # status shows every check with its verdict, as watch does.
    shown = commands.status(embedded(), result.arn)["verification"]
    assert [(c["phase"], c["stage"], c["verdict"]) for c in shown] == [
        ("before-traffic", None, "passed"), ("stage", "test", "passed"), ("after-promotion", None, "passed")]
    promoted = result.task_outputs(state_names.PROMOTE)
    assert [c["verdict"] for p in promoted for c in p["verification"]["results"]] == ["passed"]


def test_a_smoke_check_failing_at_test_leaves_prod_untouched(stack: LocalStack, sample: SampleFunction) -> None:
    version = sample.publish("v2-broken", error_rate=0.0, status_code=500)
    sample.stage("v3-healthy", error_rate=0.0)  # $LATEST answers 200: the check must run version 2 to fail
    before = get_alias(ALIAS)
    result = release(stack, version=version, stages=[{"alias": "test", "verify": [SMOKE]}])
    assert result.outcome == "rolled_back"
    assert result.error == "VerificationFailed"
    assert "stage test check 1 (invoke test): response.statusCode is not 200" in (result.cause or ""), result.cause
    assert get_alias(ALIAS) == before  # byte for byte: never touched
    assert where("test") == ("1", {})  # moved to 2 for the check, then back
    assert not shifted(result)
    # The report shows the failed check too.
    assert "stage test check 1 (invoke test): response.statusCode is not 200" in reports.page(reports.timeline(result))


def test_before_traffic_failing_shifts_nothing(stack: LocalStack, sample: SampleFunction) -> None:
    version = sample.publish("v2-failing", error_rate=1.0)
    sample.stage("v3-healthy", error_rate=0.0)  # $LATEST is healthy: the check must run version 2 to fail
    before = {alias: get_alias(alias) for alias in (ALIAS, "test")}
    result = release(stack, version=version, verify={"beforeTraffic": [SMOKE]})
    assert result.outcome == "rolled_back" and result.error == "VerificationFailed"
    assert "before-traffic check 1 (invoke 2): the function failed (UpstreamError)" in (result.cause or "")
    assert {alias: get_alias(alias) for alias in (ALIAS, "test")} == before
    assert not shifted(result)


def test_after_promotion_failing_puts_prod_back(stack: LocalStack, sample: SampleFunction) -> None:
    hook(stack, "failed")
    sha = sample.stage("v2", error_rate=0.0)
    traffic = TrafficSimulator(FUNCTION, ALIAS)
    traffic.start()
    try:
        result = release(stack, codeSha256=sha, verify={"afterPromotion": [{"hook": HOOK}]})
    finally:
        traffic.stop()
    assert result.outcome == "rolled_back" and result.error == "VerificationFailed"
    # The hook heard which release it checked, and its reason reaches the cause.
    assert f"after-promotion check 1 (hook {HOOK}): {FUNCTION}:{ALIAS} 1 -> 2 at after-promotion" in (
        result.cause or ""), result.cause
    assert state_names.PROMOTE in result.entered()  # promoted, checked, then put back
    assert where(ALIAS) == ("1", {})


def test_a_hook_that_hangs_fails_after_its_timeout(stack: LocalStack, sample: SampleFunction) -> None:
    hook(stack, "hang", HANG_SECONDS="6")
    sample.stage("v2", error_rate=0.0)
    result = release(stack, verify={"beforeTraffic": [{"hook": HOOK}], "timeoutSeconds": 1})
    assert result.outcome == "rolled_back" and result.error == "VerificationFailed"
    assert f"(hook {HOOK}): no answer within 1 s" in (result.cause or ""), result.cause
    [check] = recorded_checks(stack)
    assert check["seconds"] < 2.5  # the bound, not the hook's 6 s
    assert where(ALIAS) == ("1", {})


def test_a_hook_answering_garbage_fails_with_a_reason(stack: LocalStack, sample: SampleFunction) -> None:
    hook(stack, "garbage")
    sample.stage("v2", error_rate=0.0)
    result = release(stack, verify={"beforeTraffic": [{"hook": HOOK}]})
    assert result.outcome == "rolled_back" and result.error == "VerificationFailed"
    assert f"the hook {HOOK} answered in the wrong shape" in (result.cause or ""), result.cause
    assert where(ALIAS) == ("1", {})


def test_a_passing_hook_hears_the_release(stack: LocalStack, sample: SampleFunction) -> None:
    hook(stack, "passed")
    sample.stage("v2", error_rate=0.0)
    result = release(stack, verify={"beforeTraffic": [{"hook": HOOK}]},
                     strategy="AllAtOnce")
    assert result.outcome == "promoted", result.cause
    assert verifications(result)[0]["reason"] == f"{FUNCTION}:{ALIAS} 1 -> 2 at before-traffic"


BAD_VERIFICATION_INPUTS: dict[str, tuple[dict[str, Any], str, str]] = {
    "unknown stage field": ({"stages": [{"alias": "test", "verfy": [SMOKE]}]}, "stages.0.verfy", "unknown field"),
    "main alias as a stage": ({"stages": [{"alias": ALIAS}]}, "stages", "is the alias the release moves"),
    "stage listed twice": ({"stages": [{"alias": "test"}, {"alias": "test"}]}, "stages", "listed twice"),
    "timeout zero": ({"verify": {"beforeTraffic": [SMOKE], "timeoutSeconds": 0}}, "verify.timeoutSeconds",
                     "greater than or equal to 1"),
    "timeout above 900": ({"verify": {"timeoutSeconds": 901}}, "verify.timeoutSeconds", "less than or equal to 900"),
    "unknown check kind": ({"verify": {"beforeTraffic": [{"lambda": "x"}]}}, "verify.beforeTraffic.0",
                           "a check is"),
    "hook not allowed": ({"verify": {"beforeTraffic": [{"hook": "someone-elses-function"}]}}, "hook",
                         "not one of this stack's verification hooks"),
    "stage alias missing": ({"stages": [{"alias": "staging"}]}, "stages", "staging"),
    # A hook by ARN is this stack's account and region's, and on the allow-list by its full name.
    "hook of another account": ({"verify": {"beforeTraffic": [
        {"hook": f"arn:aws:lambda:{REGION}:999999999999:function:{HOOK}"}]}}, "hook", "account 999999999999"),
    "hook of another region": ({"verify": {"beforeTraffic": [
        {"hook": f"arn:aws:lambda:eu-west-1:123456789012:function:{HOOK}"}]}}, "hook", "region eu-west-1"),
    "unknown verify field": ({"verify": {"beforeTrafic": [SMOKE]}}, "verify.beforeTrafic", "unknown field"),
}


@pytest.mark.parametrize("case", sorted(BAD_VERIFICATION_INPUTS))
def test_bad_input_is_rejected_verification(case: str, stack: LocalStack, sample: SampleFunction) -> None:
    fields, field, words = BAD_VERIFICATION_INPUTS[case]
    sample.stage("v2", error_rate=0.0)
    before = {alias: get_alias(alias) for alias in (ALIAS, "test")}
    result = release(stack, **fields)
    assert result.status == "FAILED" and result.error == "InvalidInput", result.cause
    assert f"{field}:" in (result.cause or "") and words in (result.cause or ""), result.cause
    assert {alias: get_alias(alias) for alias in (ALIAS, "test")} == before
    versions = boto3.client("lambda", region_name=REGION).list_versions_by_function(FunctionName=FUNCTION)
    assert [v["Version"] for v in versions["Versions"]] == ["$LATEST", "1"]  # nothing published


@pytest.mark.parametrize("second", ["test", "staging"])
def test_an_alias_the_release_moves_twice_is_refused(second: str, stack: LocalStack, sample: SampleFunction) -> None:
    """A stage alias that is a target's main alias (test, here), or a stage of two targets of one function: two
    parts of one release would move it. Refused up front, the field named, nothing changed."""
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_alias(FunctionName=FUNCTION, Name="staging", FunctionVersion="1")
    sample.stage("v2", error_rate=0.0)
    before = {alias: get_alias(alias) for alias in (ALIAS, "test", "staging")}
    result = execution.run(stack, {
        "targets": [{"functionName": FUNCTION, "alias": ALIAS},
                    {"functionName": FUNCTION, "alias": second, "stages": [{"alias": "test"}]}],
        "stages": [{"alias": "test"}], "strategy": STEPS}, timeout=60)
    assert result.error == "InvalidInput", result.cause
    words = "is a target's main alias" if second == "test" else "is already a stage of another target"
    assert "stages: alias test of orders-api" in (result.cause or "") and words in (result.cause or ""), result.cause
    assert {alias: get_alias(alias) for alias in (ALIAS, "test", "staging")} == before
    assert [v["Version"] for v in lam.list_versions_by_function(FunctionName=FUNCTION)["Versions"]] == ["$LATEST", "1"]


def test_one_targets_smoke_failing_puts_every_alias_back(stack: LocalStack, sample: SampleFunction) -> None:
    cart = with_test_alias(stack, "orders-cart")
    sample.stage("v2", error_rate=0.0)
    cart.stage("v2-broken", error_rate=0.0, status_code=503)
    before = {(name, alias): get_alias(alias, name) for name in (FUNCTION, "orders-cart") for alias in (ALIAS, "test")}
    result = execution.run(stack, {
        "targets": [{"functionName": FUNCTION, "alias": ALIAS}, {"functionName": "orders-cart", "alias": ALIAS}],
        "strategy": STEPS, "stages": [{"alias": "test", "verify": [SMOKE]}]}, timeout=90)
    assert result.outcome == "rolled_back" and result.error == "VerificationFailed"
    assert "orders-cart: stage test check 1" in (result.cause or ""), result.cause
    for (name, alias), was in before.items():
        assert where(alias, name) == (was["FunctionVersion"], {}), (name, alias)
    assert not shifted(result)


def test_a_health_failure_after_the_stages_puts_test_back_too(stack: LocalStack, sample: SampleFunction) -> None:
    """Every alias the release moved goes back: test (moved and verified) as well as prod."""
    version = sample.publish("v2", error_rate=0.0)  # passes its smoke check at test ...
    traffic = TrafficSimulator(FUNCTION, ALIAS)
    traffic.override(version, error_rate=0.5)  # ... and fails half of prod's calls
    traffic.start()
    try:
        result = release(stack, version=version, stages=[{"alias": "test", "verify": [SMOKE]}])
    finally:
        traffic.stop()
    assert result.outcome == "rolled_back", result.cause
    assert shifted(result)
    assert where(ALIAS) == ("1", {}) and where("test") == ("1", {})


def test_payloads_and_responses_never_reach_the_logs_or_the_history(stack: LocalStack, sample: SampleFunction) -> None:
    secret = "card-4111-1111-1111-1111"
    sample.stage("v2", error_rate=0.0)
    result = release(stack, strategy="AllAtOnce", verify={
        "beforeTraffic": [{"invoke": {"payload": {"requestId": secret}}, "expect": {"statusCode": 200}}]})
    assert result.outcome == "promoted", result.cause
    logged = "\n".join(line for lines in stack.router.logs.values() for line in lines)
    assert "verified" in logged  # the verdict is logged ...
    assert secret not in logged and '\\"orders\\"' not in logged and '"orders": []' not in logged  # ... not the data
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=stack.tables["DeploymentsTable"])["Items"]
    assert secret not in json.dumps(items)
    assert recorded_checks(stack)[0]["verdict"] == "passed"
