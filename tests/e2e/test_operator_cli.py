"""The `bluegreen` operator commands against the embedded local run: outputs and exit codes."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from typer.testing import CliRunner, Result

from bluegreen.cli.main import app
from bluegreen.contracts import state_names
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction
from tests.conftest import ALIAS, FUNCTION, BusListener, get_alias, weights_of

FAST = {"steps": [10, 50, 100], "intervalSeconds": 1}


def cli(*args: str) -> Result:
    return CliRunner().invoke(app, [*args, "--local"])


def request_file(tmp_path: Path, **fields: Any) -> str:
    path = tmp_path / "release.json"
    path.write_text(json.dumps({"functionName": FUNCTION, "alias": ALIAS, "strategy": FAST, **fields}))
    return str(path)


def started_name(result: Result) -> str:
    return next(line.split()[1] for line in result.output.splitlines() if line.startswith("started "))


def wait_for_question(name: str, stack: LocalStack) -> None:
    arn = stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name
    deadline = time.monotonic() + 30
    while execution.pending_question(execution.history(arn)) is None:
        assert time.monotonic() < deadline, "no question asked"
        time.sleep(0.1)


@pytest.mark.usefixtures("traffic")
def test_deploy_watches_to_promotion_and_exits_0(stack: LocalStack, sample: SampleFunction, tmp_path: Path) -> None:
    result = cli("deploy", request_file(tmp_path, version=sample.publish("v2", 0.0)))
    assert result.exit_code == 0, result.output
    assert "check at 10%: pass" in result.output and "PROMOTED" in result.output
    assert get_alias()["FunctionVersion"] == "2"


def test_plan_lists_the_verification_with_its_worst_case_time() -> None:
    sample = Path(__file__).resolve().parents[2] / "events" / "with-test-stage.json"
    result = CliRunner().invoke(app, ["plan", str(sample), "--offline", "--json"])
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    [verification] = planned["verification"]
    assert [s["alias"] for s in verification["stages"]] == ["test"]
    assert [len(verification["beforeTraffic"]), len(verification["afterPromotion"])] == [1, 1]
    assert planned["verificationWorstCaseSeconds"] == 3 * 30  # three checks of up to timeoutSeconds each
    # publish, its choice, the verify Map, its task and the choice again, one step (a Map and its task), five
    # checks, the promotion Map and its task, the end.
    assert planned["stateTransitions"] == 2 + 3 + 2 + 5 * 3 + 2 + 1
    shown = CliRunner().invoke(app, ["plan", str(sample), "--offline"])
    assert "verify orders-api through test" in shown.output and "verification adds at most 90 s" in shown.output


@pytest.mark.usefixtures("traffic")
def test_deploy_of_a_failing_release_exits_1(stack: LocalStack, sample: SampleFunction, tmp_path: Path) -> None:
    result = cli("deploy", request_file(tmp_path, version=sample.publish("v2", 0.3)))
    assert result.exit_code == 1
    assert "ROLLED_BACK" in result.output and "HealthCheckFailed" in result.output


def test_deploy_of_a_bad_input_exits_2_before_starting_anything(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"functionName": FUNCTION, "alias": ALIAS, "strategy": "Canary10Percent7Minutes"}))
    result = CliRunner().invoke(app, ["deploy", str(path), "--stack", "unused"])
    assert result.exit_code == 2 and "strategy" in result.output


@pytest.mark.usefixtures("traffic")
def test_status_approve_and_watch_an_approval_gate(stack: LocalStack, sample: SampleFunction, tmp_path: Path) -> None:
    started = cli("deploy", request_file(tmp_path, version=sample.publish("v2", 0.0), approval={"before": "promote"}),
                  "--no-watch")
    name = started_name(started)
    wait_for_question(name, stack)
    state = json.loads(cli("status", name, "--json").stdout)
    assert state["status"] == "RUNNING" and state["waitingFor"]["kind"] == "approval"
    assert state["alias"]["additionalVersionWeights"] == {"2": 0.5}
    assert state["lastCheck"]["health"]["verdict"] == "pass"
    assert "waiting for" in cli("status", name).output

    assert cli("approve", name, "--reason", "looks good").exit_code == 0
    assert cli("watch", name).exit_code == 0
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("2", {})
    assert cli("approve", name).exit_code == 4  # nothing pending any more


@pytest.mark.usefixtures("traffic")
def test_reject_rolls_back(stack: LocalStack, sample: SampleFunction, tmp_path: Path) -> None:
    name = started_name(cli("deploy", request_file(tmp_path, version=sample.publish("v2", 0.0),
                                                    approval={"before": "promote"}), "--no-watch"))
    wait_for_question(name, stack)
    rejected = cli("reject", name, "--reason", "not today", "--json")
    assert rejected.exit_code == 0
    assert json.loads(rejected.stdout) == {"execution": name, "decision": "reject", "reason": "not today"}
    watched = cli("watch", name)
    assert watched.exit_code == 1 and "RolledBackByOperator" in watched.output
    assert get_alias()["FunctionVersion"] == "1"


@pytest.mark.usefixtures("traffic")
def test_each_command_that_acts_answers_one_json_object(stack: LocalStack, sample: SampleFunction,
                                                        tmp_path: Path) -> None:
    """--json: one object on stdout (progress, if any, on stderr), with the exit code of the plain command."""
    started = cli("deploy", request_file(tmp_path, version=sample.publish("v2", 0.0), approval={"before": "promote"}),
                  "--no-watch", "--json")
    assert started.exit_code == 0
    name = json.loads(started.stdout)["execution"]
    assert json.loads(started.stdout)["status"] == "RUNNING"
    wait_for_question(name, stack)
    approved = cli("approve", name, "--reason", "looks good", "--json")
    assert json.loads(approved.stdout) == {"execution": name, "decision": "approve", "reason": "looks good"}
    watched = cli("watch", name, "--json")
    assert watched.exit_code == 0
    ended = json.loads(watched.stdout)
    assert (ended["execution"], ended["outcome"], ended["executionStatus"]) == (name, "promoted", "SUCCEEDED")
    drawn = cli("report", name, "--out", str(tmp_path / "t.svg"), "--json")
    assert json.loads(drawn.stdout) == {"execution": name, "outcome": "promoted", "out": str(tmp_path / "t.svg")}
    undone = cli("rollback", FUNCTION, "--alias", ALIAS, "--reason", "orders page blank", "--json")
    assert undone.exit_code == 0 and json.loads(undone.stdout)["outcome"] == "promoted"
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})


def start_slow_release(sample: SampleFunction, tmp_path: Path, check_interval: int) -> str:
    """A healthy release whose steps bake 30 s: long enough for an operator to act mid-step."""
    slow = {"steps": [10, 50, 100], "intervalSeconds": 30}
    return started_name(cli("deploy", request_file(tmp_path, version=sample.publish("v2", 0.0), strategy=slow,
                                                    health={"checkIntervalSeconds": check_interval}), "--no-watch"))


@pytest.mark.usefixtures("traffic")
def test_promote_now_promotes_with_the_reason_in_the_history(stack: LocalStack, sample: SampleFunction,
                                                             tmp_path: Path) -> None:
    name = start_slow_release(sample, tmp_path, check_interval=2)
    promoted = cli("promote-now", name, "--reason", "customer waiting")
    assert promoted.exit_code == 0 and "next check promotes" in promoted.output
    assert cli("watch", name).exit_code == 0
    rows = json.loads(cli("history", FUNCTION, "--json").stdout)  # the alias the examples use, prod, by default
    assert rows[0]["status"] == "PROMOTED" and "customer waiting" in rows[0]["cause"]
    assert cli("history", FUNCTION, "--alias", "live").output == f"no releases of {FUNCTION}:live recorded\n"
    # Started by the CLI: who asked is the caller's identity from STS (moto's default user here), declared.
    assert rows[0]["trigger"] == {"source": "cli", "requestedBy": "arn:aws:sts::123456789012:user/moto"}


@pytest.mark.usefixtures("traffic")
def test_abort_leaves_the_alias_whole_on_the_old_version(stack: LocalStack, sample: SampleFunction,
                                                         tmp_path: Path) -> None:
    name = start_slow_release(sample, tmp_path, check_interval=5)
    execution.reached(stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name,
                      state_names.STEP_BEGINS)
    assert weights_of(get_alias()) == {"2": 0.1}
    aborted = cli("abort", name, "--reason", "pager went off", "--json")
    assert aborted.exit_code == 0
    assert json.loads(aborted.stdout) == {"execution": name, "status": "ABORTED", "reason": "pager went off"}
    assert (get_alias()["FunctionVersion"], weights_of(get_alias())) == ("1", {})
    assert cli("watch", name).exit_code == 1
    rows = json.loads(cli("history", FUNCTION, "--alias", ALIAS, "--json").stdout)
    assert rows[0]["status"] == "ABORTED"


# A person's ordinary mistakes, every command: (its arguments, the exit code docs/cli.md gives, what the line says).
NO_RELEASE = "no such execution (ExecutionDoesNotExist"
MISTAKES = [
    (("status", "no-such-release"), 4, f"no execution no-such-release: {NO_RELEASE}"),
    (("watch", "no-such-release"), 4, f"no execution no-such-release: {NO_RELEASE}"),
    (("report", "no-such-release", "--out", "x.svg"), 4, f"no execution no-such-release: {NO_RELEASE}"),
    (("approve", "no-such-release"), 4, NO_RELEASE),
    (("reject", "no-such-release"), 4, NO_RELEASE),
    (("promote-now", "no-such-release", "--reason", "now"), 4, NO_RELEASE),
    (("abort", "no-such-release"), 4, f"cannot stop no-such-release: {NO_RELEASE}"),
    (("aliases", "no-such-function"), 4, "cannot read no-such-function: not found (ResourceNotFoundException"),
    (("rollback", "no-such-function", "--alias", "prod", "--reason", "r"), 2, "no-such-function has no alias prod"),
    (("deploy", "nope.json"), 2, "nope.json: cannot read it: No such file or directory"),
    (("deploy", "--function", FUNCTION), 2, "alias"),
    (("deploy", "--function", FUNCTION, "--alias", ALIAS, "--strategy", "Sideways"), 2, "strategy"),
    (("plan", "nope.json"), 2, "nope.json: cannot read it"),
]


@pytest.mark.parametrize(("args", "code", "said"), MISTAKES, ids=[" ".join(args) for args, _, _ in MISTAKES])
def test_a_mistake_is_one_line_with_its_exit_code(stack: LocalStack, args: tuple[str, ...], code: int,
                                                  said: str) -> None:
    result = CliRunner().invoke(app, [*args, "--local"])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert said in result.stderr, result.stderr
    assert "Traceback" not in result.output and "An error occurred (" not in result.output, result.output


@pytest.fixture
def api_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    calls: Counter[str] = Counter()
    real = BaseClient._make_api_call  # type: ignore[attr-defined]

    def counting(self: BaseClient, operation: str, params: Any) -> Any:
        calls[operation] += 1
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    yield calls


def test_plan_reads_but_never_writes(stack: LocalStack, sample: SampleFunction, api_calls: Counter[str],
                                     tmp_path: Path) -> None:
    before = get_alias()
    api_calls.clear()
    result = cli("plan", request_file(tmp_path, strategy="Linear10PercentEvery10Minutes",
                                      health={"alarms": ["x"]}), "--json")
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    assert planned["currentVersion"] == "1"
    assert [s["weight"] for s in planned["schedule"]] == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    # publish and its choice, 9 steps of a Map and its one task, 90 checks of 3 states, the promotion Map
    # and its task, the end.
    assert planned["stateTransitions"] == 2 + 9 * 2 + 3 * 90 + 2 + 1
    assert "cloudwatch:DescribeAlarms" in planned["awsActions"]["each check"]
    # One read of the alias and one of its last hour's traffic; nothing published, shifted, locked or started.
    assert api_calls == Counter({"GetAlias": 1, "GetMetricData": 1})
    assert get_alias() == before


def test_plan_of_several_functions_reads_each_alias_once(stack: LocalStack, sample: SampleFunction,
                                                       api_calls: Counter[str], tmp_path: Path) -> None:
    other = SampleFunction("orders-cart", ALIAS, stack.role_arn)
    other.create()
    path = tmp_path / "several.json"
    path.write_text(json.dumps({"targets": [{"functionName": FUNCTION, "alias": ALIAS, "version": "1"},
                                            {"functionName": "orders-cart", "alias": ALIAS}],
                                "strategy": "Canary10Percent5Minutes"}))
    api_calls.clear()
    result = cli("plan", str(path), "--json")
    assert result.exit_code == 0, result.output
    planned = json.loads(result.stdout)
    assert [(t["functionName"], t["currentVersion"]) for t in planned["targets"]] == [(FUNCTION, "1"),
                                                                                       ("orders-cart", "1")]
    assert "functionName" not in planned  # only a release of one function has its names at the top
    # publish, its choice, one step (a Map and two tasks), five checks, the promotion Map and two tasks, the end
    assert planned["stateTransitions"] == 2 + 3 + 5 * 3 + 3 + 1
    # The canary table is the first function's: one GetMetricData call for its last hour.
    assert api_calls == Counter({"GetAlias": 2, "GetMetricData": 1})


@pytest.mark.usefixtures("traffic")
def test_report_draws_the_timeline_of_an_ended_release(stack: LocalStack, sample: SampleFunction,
                                                       tmp_path: Path) -> None:
    deployed = cli("deploy", request_file(tmp_path, version=sample.publish("v2", 0.3)))
    name = started_name(deployed)
    out = tmp_path / "timeline.html"
    assert cli("report", name, "--out", str(out)).exit_code == 0
    page = out.read_text()
    assert "<svg" in page and "version 1 → 2" in page and "rolled back" in page
    assert page.count('r="6"') == 1 and ">rollback</text>" in page  # one check, marked where it decided
    assert "vs baseline" in page  # the check's reason, in the table under the picture


def test_demo_writes_a_timeline_picture(tmp_path: Path) -> None:
    picture = tmp_path / "promoted.svg"
    result = CliRunner().invoke(app, ["demo", "--json", "--interval", "1", "--report", str(picture)])
    assert result.exit_code == 0
    drawing = picture.read_text()
    assert drawing.startswith("<svg") and "promoted" in drawing
    # A dot per check: one a step, the last step's perhaps two (a promotion waits for settled data), then promote.
    checks = json.loads(result.stdout)["checks"]
    assert len(checks) in (2, 3) and drawing.count('r="6"') == len(checks) and ">promote</text>" in drawing


# --- bluegreen rollback: a finished release undone through the state machine ---------------------------

@pytest.mark.usefixtures("traffic")
def test_rollback_puts_the_alias_back_after_a_promoted_release(stack: LocalStack, sample: SampleFunction,
                                                               tmp_path: Path) -> None:
    assert cli("deploy", request_file(tmp_path, version=sample.publish("v2", 0.0))).exit_code == 0
    assert get_alias()["FunctionVersion"] == "2"
    bus = BusListener("rollbacks", {"detail-type": ["Alias Rolled Back"]})
    undone = cli("rollback", FUNCTION, "--alias", ALIAS, "--reason", "orders page blank")
    assert undone.exit_code == 0, undone.output
    assert "prod goes back to version 1" in undone.output
    assert get_alias()["FunctionVersion"] == "1" and weights_of(get_alias()) == {}
    # In one step: the state machine went straight from publish to promote (no traffic steps, no checks).
    name = started_name(undone)
    result = execution.wait(stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name)
    assert state_names.SHIFT not in result.entered() and state_names.CHECK not in result.entered()
    rows = json.loads(cli("history", FUNCTION, "--alias", ALIAS, "--json").stdout)
    assert (rows[0]["status"], rows[0]["oldVersion"], rows[0]["newVersion"]) == ("PROMOTED", "2", "1")
    assert rows[0]["trigger"] == {"source": "rollback", "requestedBy": "arn:aws:sts::123456789012:user/moto",
                                  "reason": "orders page blank"}
    [event] = bus.received()
    assert event["detail"]["trigger"]["reason"] == "orders page blank"
    assert (event["detail"]["oldVersion"], event["detail"]["functionVersion"]) == ("2", "1")
    # Done once: nothing more to go back to.
    again = cli("rollback", FUNCTION, "--alias", ALIAS, "--reason", "twice")
    assert again.exit_code == 2 and "nothing to go back to" in again.output


def test_rollback_is_refused_while_a_release_holds_the_alias(stack: LocalStack, sample: SampleFunction,
                                                             tmp_path: Path) -> None:
    name = start_slow_release(sample, tmp_path, check_interval=5)
    execution.reached(stack.state_machine_arn.replace(":stateMachine:", ":execution:") + ":" + name,
                      state_names.STEP_BEGINS)
    before = get_alias()
    refused = cli("rollback", FUNCTION, "--alias", ALIAS, "--to", "1", "--reason", "impatient")
    assert refused.exit_code == 2
    assert f"release {name} holds {FUNCTION}:{ALIAS}" in refused.output and "nothing changed" in refused.output
    assert get_alias() == before
    assert cli("abort", name).exit_code == 0


def test_rollback_without_a_release_in_the_history_asks_for_the_version(stack: LocalStack,
                                                                        sample: SampleFunction) -> None:
    refused = cli("rollback", FUNCTION, "--alias", ALIAS, "--reason", "why not")
    assert refused.exit_code == 2 and "name the version with --to" in refused.output


# --- bluegreen aliases: the environments of a function ------------------------------------------------

def test_aliases_init_creates_the_environments_once_and_changes_nothing_that_exists(
        stack: LocalStack, sample: SampleFunction) -> None:
    sample.stage("v2", error_rate=0.0)  # $LATEST ahead of version 1, which prod is on
    first = cli("aliases", FUNCTION, "--init", "--json")
    assert first.exit_code == 0, first.output
    described = json.loads(first.stdout)
    assert described["initialised"] == ["dev created on $LATEST", "test created on 1", "prod left on version 1"]
    assert {a["alias"]: a["weights"] for a in described["aliases"]} == {
        "dev": {"$LATEST": 1.0}, "prod": {"1": 1.0}, "test": {"1": 1.0}}
    assert [v["version"] for v in described["versions"]] == ["$LATEST", "1"]
    assert all(v["codeSha256"] and v["lastModified"] for v in described["versions"])
    again = json.loads(cli("aliases", FUNCTION, "--init", "--json").stdout)
    assert again["initialised"] == ["dev left on version $LATEST", "test left on version 1", "prod left on version 1"]
    assert again["aliases"] == described["aliases"]
    shown = cli("aliases", FUNCTION)
    assert shown.exit_code == 0 and "100% on 1" in shown.output and "$LATEST" in shown.output


def test_aliases_init_publishes_a_version_when_there_is_none(stack: LocalStack) -> None:
    lam = boto3.client("lambda", region_name=REGION)
    lam.create_function(FunctionName="orders-new", Runtime="python3.12", Role=stack.role_arn, Handler="app.handler",
                        Code={"ZipFile": b"new"})
    done = json.loads(cli("aliases", "orders-new", "--init", "--json").stdout)["initialised"]
    assert done == ["dev created on $LATEST", "version 1 published from $LATEST", "test created on 1",
                    "prod created on 1"]


def test_aliases_of_a_missing_function_exit_4(stack: LocalStack) -> None:
    result = cli("aliases", "no-such-function")
    assert result.exit_code == 4 and "cannot read no-such-function" in result.output
