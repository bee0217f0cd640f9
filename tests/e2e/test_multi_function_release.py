"""A release of several functions at once (``targets``), through the real state machine: shifted in
step by a Map state, each judged against its own old version, all promoted or all rolled back."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from bluegreen.cli.main import app
from bluegreen.contracts import payload, state_names
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator, code
from tests.conftest import ALIAS, get_alias, largest_state, plan_of, weights_of
from tests.e2e.test_triggers_and_lock import lock_item

FUNCTIONS = ("orders-api", "orders-cart", "payments-api")
STEPS = {"steps": [10, 50, 100], "intervalSeconds": 1}


@pytest.fixture
def functions(stack: LocalStack) -> dict[str, SampleFunction]:
    """Three managed functions, each with version 1 published and alias prod on it."""
    made = {}
    for name in FUNCTIONS:
        made[name] = SampleFunction(name, ALIAS, stack.role_arn)
        made[name].create()
    return made


@pytest.fixture
def traffic(functions: dict[str, SampleFunction]) -> Iterator[dict[str, TrafficSimulator]]:
    sims = {name: TrafficSimulator(name, ALIAS, seed=i)
            for i, name in enumerate(functions)}
    for sim in sims.values():
        sim.start()
    yield sims
    for sim in sims.values():
        sim.stop()


def aliases() -> dict[str, tuple[str, dict[str, float]]]:
    """Every function's alias: (version, extra weights)."""
    return {name: (a["FunctionVersion"], weights_of(a)) for name in FUNCTIONS for a in [get_alias(function=name)]}


def lock_holders(stack: LocalStack) -> dict[str, str]:
    """Which execution holds which function's alias (a lease its release ended holds nothing)."""
    held = {}
    for name in FUNCTIONS:
        item = lock_item(stack, name, ALIAS)
        if item:
            held[name] = item["executionArn"]["S"]
    return held


def versions(name: str) -> list[str]:
    return [v["Version"] for v in boto3.client("lambda", region_name=REGION).list_versions_by_function(
        FunctionName=name)["Versions"]]


def release_all(stack: LocalStack, targets: list[dict[str, Any]], **fields: Any) -> execution.ExecutionResult:
    return execution.run(stack, {"targets": targets, "strategy": STEPS, **fields}, timeout=120)


def test_all_healthy_promotes_every_function(stack: LocalStack, functions: dict[str, SampleFunction],
                                             traffic: dict[str, TrafficSimulator]) -> None:
    targets = [{"functionName": name, "alias": ALIAS, "codeSha256": fn.stage("v2", error_rate=0.0)}
               for name, fn in functions.items()]
    result = release_all(stack, targets)
    assert result.status == "SUCCEEDED", result.cause
    assert aliases() == {name: ("2", {}) for name in FUNCTIONS}
    # Every function went through 10% and 50%, shifted in step by the Map state.
    for sim in traffic.values():
        observed = {tuple(sorted(s.weights.items())) for s in sim.samples}
        assert (("1", 0.9), ("2", 0.1)) in observed and (("1", 0.5), ("2", 0.5)) in observed
    assert result.entered().count(state_names.SHIFT_MAP) == 2
    assert result.entered().count(state_names.SHIFT) == 6
    # Each check judged every function (the events name each); the last ones all passed.
    checks = result.checks()
    assert [c["decision"] for c in checks][-1] == "promote"
    assert all(c["health"]["verdict"] == "pass" for c in checks if c["decision"] != "bake")
    assert lock_holders(stack) == {}
    assert largest_state(result) <= payload.worst_state_bytes(plan_of(result))


def test_one_failing_function_rolls_every_function_back(stack: LocalStack, functions: dict[str, SampleFunction],
                                                        traffic: dict[str, TrafficSimulator]) -> None:
    targets = [{"functionName": name, "alias": ALIAS,
                "version": fn.publish("v2", error_rate=0.3 if name == "payments-api" else 0.0)}
               for name, fn in functions.items()]
    result = release_all(stack, targets)
    assert (result.outcome, result.error) == ("rolled_back", "HealthCheckFailed")
    assert "at 10% traffic: payments-api: error rate" in (result.cause or "")
    assert "every function of the release (orders-api to version 1, orders-cart to version 1" in (result.cause or "")
    # Every alias, the healthy ones too, is back 100% on its old version.
    assert aliases() == {name: ("1", {}) for name in FUNCTIONS}
    # Caught on the first step, and decided by the failing function.
    last = result.checks()[-1]
    assert (last["weight"], last["decision"], last["checks"][-1]["functionName"]) == (10, "rollback", "payments-api")
    assert lock_holders(stack) == {}


def test_a_target_failing_validation_rejects_the_release_before_anything_changes(
        stack: LocalStack, functions: dict[str, SampleFunction]) -> None:
    before = {name: versions(name) for name in FUNCTIONS}
    # Two good targets that would publish $LATEST, and one naming a version that does not exist.
    for name in ("orders-api", "orders-cart"):
        functions[name].stage("v2", error_rate=0.0)
    targets = [{"functionName": "orders-api", "alias": ALIAS}, {"functionName": "orders-cart", "alias": ALIAS},
               {"functionName": "payments-api", "alias": ALIAS, "version": "9"}]
    result = release_all(stack, targets)
    assert (result.outcome, result.error) == ("rejected", "InvalidInput")
    assert "version: 9 is not a published version of payments-api" in (result.cause or "")
    assert aliases() == {name: ("1", {}) for name in FUNCTIONS}
    # Nothing was published for the valid targets either, and no lock is left behind.
    assert {name: versions(name) for name in FUNCTIONS} == before
    assert lock_holders(stack) == {}
    assert not {state_names.SHIFT_MAP, state_names.ROLLBACK_MAP} & set(result.entered())


def test_locks_are_taken_all_or_nothing(stack: LocalStack, functions: dict[str, SampleFunction]) -> None:
    # Another release holds payments-api (its execution is still running).
    other = execution.start(stack, {"functionName": "payments-api", "alias": ALIAS,
                                    "version": functions["payments-api"].publish("v2", error_rate=0.0),
                                    "strategy": {"steps": [10, 100], "intervalSeconds": 30}})
    try:
        _wait_for_lock(stack, "payments-api", other)
        targets = [{"functionName": name, "alias": ALIAS, "version": functions[name].publish("v3", 0.0)}
                   for name in ("orders-api", "orders-cart")] + [{"functionName": "payments-api", "alias": ALIAS}]
        result = release_all(stack, targets)
        assert (result.outcome, result.error) == ("rejected", "DeploymentInProgress")
        assert other in (result.cause or "")
        # The locks it took before meeting the held one were let go again, and nothing moved.
        assert lock_holders(stack) == {"payments-api": other}
        assert aliases()["orders-api"] == ("1", {}) and aliases()["orders-cart"] == ("1", {})
    finally:
        boto3.client("stepfunctions", region_name=REGION).stop_execution(executionArn=other)


def _wait_for_lock(stack: LocalStack, name: str, arn: str) -> None:
    deadline = time.monotonic() + 30
    while lock_holders(stack).get(name) != arn:
        assert time.monotonic() < deadline, "the other release never took its lock"
        time.sleep(0.05)


def test_the_cli_deploys_watches_and_aborts_a_release_of_several_functions(
        stack: LocalStack, functions: dict[str, SampleFunction], traffic: dict[str, TrafficSimulator],
        tmp_path: Path) -> None:
    # Given a slow release of the three functions started from a file with the CLI
    path = tmp_path / "release.json"
    path.write_text(json.dumps({
        "targets": [{"functionName": name, "alias": ALIAS, "version": fn.publish("v2", 0.0)}
                    for name, fn in functions.items()],
        "strategy": {"steps": [10, 50, 100], "intervalSeconds": 30}, "health": {"checkIntervalSeconds": 5}}))
    started = CliRunner().invoke(app, ["deploy", str(path), "--no-watch", "--local"])
    assert started.exit_code == 0, started.output
    name = next(line.split()[1] for line in started.output.splitlines() if line.startswith("started "))
    assert name.startswith("3-functions-")
    arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name
    deadline = time.monotonic() + 30
    # (Stopped inside a Map state, moto ends the execution FAILED where AWS says ABORTED: wait for the step.)
    while state_names.STEP_BEGINS not in [e.get("stateEnteredEventDetails", {}).get("name")
                                       for e in execution.history(arn)]:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert aliases() == {n: ("1", {"2": 0.1}) for n in FUNCTIONS}
    # status shows every function's alias
    status = json.loads(CliRunner().invoke(app, ["status", name, "--json", "--local"]).stdout)
    assert [t["functionName"] for t in status["release"]["targets"]] == list(FUNCTIONS)
    assert status["aliases"] == {f"{n}:{ALIAS}": {"functionVersion": "1", "additionalVersionWeights": {"2": 0.1}}
                                 for n in FUNCTIONS}
    # When it is aborted, the guardian puts every alias back whole on its old version
    assert CliRunner().invoke(app, ["abort", name, "--reason", "pager", "--local"]).exit_code == 0
    assert aliases() == {n: ("1", {}) for n in FUNCTIONS}
    assert lock_holders(stack) == {}
    watched = CliRunner().invoke(app, ["watch", name, "--local"])
    assert watched.exit_code == 1, watched.output
    assert "Release payments-api:prod version 1 → 2" in watched.output
    assert "Shifting every function" in watched.output
    picture = tmp_path / "release.svg"
    assert CliRunner().invoke(app, ["report", name, "--out", str(picture), "--local"]).exit_code == 0
    assert "3 functions (orders-api, orders-cart, payments-api)" in picture.read_text()


@pytest.mark.long
def test_fifty_functions_under_the_enforced_rate_limit(stack: LocalStack) -> None:
    # Fifty functions, each with version 1 behind prod and a version 2 to release, made at 12 calls a second
    # (the embedded Lambda refuses more than 15 a second to every caller together, this test's own included).
    lam = boto3.client("lambda", region_name=REGION)
    names = [f"orders-fifty{i}" for i in range(50)]
    for name in names:
        for call in (lambda n=name: lam.create_function(FunctionName=n, Runtime="python3.12", Role=stack.role_arn,
                                                         Handler="sample_app.handler", Code={"ZipFile": code("v1")}),
                     lambda n=name: lam.publish_version(FunctionName=n),
                     lambda n=name: lam.create_alias(FunctionName=n, Name=ALIAS, FunctionVersion="1"),
                     lambda n=name: lam.update_function_code(FunctionName=n, ZipFile=code("v2"))):
            call()
            time.sleep(1 / 12)
    time.sleep(1.0)  # every update done, the bucket full again
    targets = []
    for name in names:
        targets.append({"functionName": name, "alias": ALIAS,
                        "version": lam.publish_version(FunctionName=name)["Version"]})
        time.sleep(1 / 12)
    sims = [TrafficSimulator(name, ALIAS, rate=40, tick_seconds=0.5, seed=i) for i, name in enumerate(names)]
    for sim in sims:
        sim.start()
    throttled_before = stack.lambda_rules.throttled
    try:
        result = execution.run(stack, {"targets": targets, "strategy": {"steps": [10, 100], "intervalSeconds": 5},
                                       # About pacing, not evidence: 50 functions at 40 calls/s each can
                                       # rule out only wide tolerances in 5 s.
                                       "health": {"minInvocations": 5, "checkIntervalSeconds": 1,
                                                  "mustRuleOut": {"errorRateMargin": 0.5, "throttleRate": 0.5,
                                                                  "missingShare": 1.0}}},
                                      timeout=300)
    finally:
        for sim in sims:
            sim.stop()
    assert result.status == "SUCCEEDED", result.cause
    # The release kept under the limit on its own: none of its calls was refused.
    assert stack.lambda_rules.throttled == throttled_before
    # Its states stayed within what publish computed for its worst case (and so under 256 KiB).
    assert largest_state(result) <= payload.worst_state_bytes(plan_of(result)) < payload.STATE_LIMIT_BYTES
    for name in names:
        alias = get_alias(function=name)
        assert (alias["FunctionVersion"], weights_of(alias)) == ("2", {})


def test_a_release_whose_state_could_outgrow_256_kib_is_refused_before_anything_changes(stack: LocalStack) -> None:
    # 200 functions, each with 20 smoke checks after its promotion: their results alone could pass the quota.
    smoke = {"invoke": {"payload": {"path": "/orders"}}, "expect": {"statusCode": 200}}
    result = execution.run(stack, {"targets": [{"functionName": f"orders-{i}", "alias": ALIAS} for i in range(200)],
                                   "verify": {"afterPromotion": [smoke] * 20, "timeoutSeconds": 10}}, timeout=60)
    assert (result.status, result.error) == ("FAILED", "InvalidInput"), result.cause
    assert "targets: this release's state could reach" in (result.cause or "")
    # Refused before the first lease was taken or the first function read.
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=stack.tables["DeploymentsTable"])["Items"]
    assert items == []
