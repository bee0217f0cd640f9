"""A newcomer's path against a local AWS that lasts across commands: `bluegreen local up --example`, a release
started without watching it, then status, watch, history and aliases as separate commands (each its own process,
as a person types them), another client (boto3 with an endpoint URL) seeing the same AWS, and `local down`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
BLUEGREEN = str(Path(sys.executable).with_name("bluegreen"))


class Person:
    """Runs `bluegreen ...` as a person would, each command its own process; the local AWS's state file in a
    directory of the test's own (so no other test's --local finds it)."""

    def __init__(self, state: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env["BLUEGREEN_LOCAL_STATE"] = str(state)

    def run(self, *args: str, timeout: float = 240, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([BLUEGREEN, *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False, input=input)

    def json(self, *args: str) -> Any:
        done = self.run(*args, "--json")
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return json.loads(done.stdout)


def _until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.5)


@pytest.fixture
def person(tmp_path: Path) -> Iterator[Person]:
    person = Person(tmp_path / "local.json")
    yield person
    person.run("local", "down")  # whatever the test did, nothing keeps running


def test_a_newcomer_releases_and_operates_against_a_lasting_local_aws(person: Person, tmp_path: Path) -> None:
    served = person.json("local", "up", "--example")
    assert served["endpoint"].startswith("http://127.0.0.1:") and served["example"] is True
    assert person.json("local", "status")["pid"] == served["pid"]
    release = tmp_path / "release.json"
    release.write_text(json.dumps({"functionName": "orders-api", "alias": "prod",
                                   "strategy": {"steps": [10, 100], "intervalSeconds": 5}}))
    started = person.json("deploy", str(release), "--local", "--no-watch")
    name = started["execution"]
    # A later command, another process: the release is there, and runs on (it did not die with `deploy`).
    assert person.json("status", name, "--local")["status"] in {"RUNNING", "SUCCEEDED"}
    watched = person.run("watch", name, "--local")
    assert watched.returncode == 0, (watched.stdout, watched.stderr)
    assert "PROMOTED" in watched.stdout
    (row, *_) = person.json("history", "orders-api", "--local")
    assert (row["status"], row["newVersion"]) == ("PROMOTED", "2")
    # Another client of the same AWS, as the AWS CLI with --endpoint-url would be.
    lam = boto3.client("lambda", endpoint_url=served["endpoint"], region_name=served["region"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    assert lam.get_alias(FunctionName="orders-api", Name="prod")["FunctionVersion"] == "2"
    reported = person.json("report", name, "--local", "--out", str(tmp_path / "release.svg"))
    assert reported["outcome"] == "promoted" and (tmp_path / "release.svg").read_text().startswith("<svg")
    # The finished release rolled back, through the state machine, at once.
    rolled = person.json("rollback", "orders-api", "--alias", "prod", "--reason", "trying rollback", "--local")
    assert (rolled["outcome"], rolled["executionStatus"]) == ("promoted", "SUCCEEDED")  # version 1, promoted back
    assert lam.get_alias(FunctionName="orders-api", Name="prod")["FunctionVersion"] == "1"
    # A release that asks before promoting, approved from another command.
    asking = tmp_path / "asking.json"
    asking.write_text(json.dumps({"functionName": "orders-api", "alias": "prod", "version": "2",
                                  "approval": {"before": "promote"},
                                  "strategy": {"steps": [10, 100], "intervalSeconds": 5}}))
    third = person.json("deploy", str(asking), "--local", "--no-watch")["execution"]
    _until(lambda: person.json("status", third, "--local")["waitingFor"] is not None)
    assert person.json("approve", third, "--local", "--reason", "looks good")["decision"] == "approve"
    assert person.json("watch", third, "--local")["outcome"] == "promoted"
    assert lam.get_alias(FunctionName="orders-api", Name="prod")["FunctionVersion"] == "2"
    # An operator stops a release from another command: the guardian (the local AWS announces the execution's end,
    # as AWS does) puts the alias back.
    back = tmp_path / "back.json"
    back.write_text(json.dumps({"functionName": "orders-api", "alias": "prod", "version": "1", "allowDowngrade": True,
                                "strategy": {"steps": [10, 100], "intervalSeconds": 120}}))
    second = person.json("deploy", str(back), "--local", "--no-watch")["execution"]
    _until(lambda: lam.get_alias(FunctionName="orders-api", Name="prod").get("RoutingConfig", {}).get(
        "AdditionalVersionWeights") == {"1": 0.1})
    # Functions created while a release runs are called at once, as the others are (not after it ended).
    assert person.json("local", "create", "events/several-functions.json")["created"] == [
        "orders-worker:prod", "payments-api:prod"]
    cloudwatch = boto3.client("cloudwatch", endpoint_url=served["endpoint"], region_name=served["region"],
                              aws_access_key_id="testing", aws_secret_access_key="testing")
    _until(lambda: cloudwatch.list_metrics(Namespace="AWS/Lambda", MetricName="Invocations", Dimensions=[
        {"Name": "FunctionName", "Value": "payments-api"}])["Metrics"], timeout=30)
    person.json("abort", second, "--local", "--reason", "trying it")
    _until(lambda: person.json("history", "orders-api", "--local")[0]["status"] == "ABORTED")
    alias = lam.get_alias(FunctionName="orders-api", Name="prod")
    assert (alias["FunctionVersion"], alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})) == ("2", {})
    assert person.run("status", "no-such-release", "--local").returncode == 4
    # A function that does not exist is an error, as in AWS: nothing is invented for it.
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"functionName": "orders-apx", "alias": "prod", "version": "2"}))
    refused = person.run("deploy", str(typo), "--local")
    assert refused.returncode == 2, (refused.stdout, refused.stderr)
    assert "orders-apx does not exist" in refused.stdout
    assert f"the local AWS has no function orders-apx: bluegreen local create {typo} creates" in refused.stderr
    stopped = person.json("local", "down")
    assert stopped["stopped"]["pid"] == served["pid"]
    assert person.run("local", "status").returncode == 1


def test_a_local_command_starts_the_local_aws_which_has_only_what_is_created_in_it(person: Person) -> None:
    # No local AWS running, two --local commands at once: one starts it, and says so; the other waits and uses it.
    pair = [subprocess.Popen([BLUEGREEN, "history", "orders-api", "--local"], cwd=ROOT, env=person.env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    said = [started.communicate(timeout=240) for started in pair]
    assert [started.returncode for started in pair] == [0, 0], said
    assert sorted("no local AWS was running: starting one that lasts" in err for _, err in said) == [False, True]
    assert [out for out, _ in said] == ["no releases of orders-api:prod recorded\n"] * 2
    # It invents nothing: the release is refused, as in AWS, and the line says how to create what is missing.
    first = person.run("deploy", "events/all-at-once.json", "--local")
    assert first.returncode == 2, (first.stdout, first.stderr)
    assert "function orders-api does not exist" in first.stdout
    assert "bluegreen local create events/all-at-once.json creates what an input names" in first.stderr
    served = person.json("local", "status")
    # What the sample names, created on request: the function, its versions up to 7, the alias on 6.
    assert person.json("local", "create", "events/all-at-once.json") == {
        "created": ["orders-api:prod"], "existing": [], "alarms": []}
    lam = boto3.client("lambda", endpoint_url=served["endpoint"], region_name=served["region"],
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    assert lam.get_alias(FunctionName="orders-api", Name="prod")["FunctionVersion"] == "6"
    released = person.run("deploy", "events/all-at-once.json", "--local")
    assert released.returncode == 0, (released.stdout, released.stderr)
    assert "no local AWS was running" not in released.stderr  # the same one, still running
    alias = lam.get_alias(FunctionName="orders-api", Name="prod")
    assert (alias["FunctionVersion"], alias.get("RoutingConfig", {}).get("AdditionalVersionWeights", {})) == ("7", {})
    # Created again: what exists is left as it is.
    assert person.json("local", "create", "events/all-at-once.json")["existing"] == ["orders-api"]
    assert lam.get_alias(FunctionName="orders-api", Name="prod")["FunctionVersion"] == "7"
    # A function the local AWS does not manage: one line, exit 2, nothing created.
    outside = person.run("local", "create", "-", input='{"functionName": "billing", "alias": "prod"}')
    assert (outside.returncode, outside.stdout) == (2, ""), (outside.stdout, outside.stderr)
    assert outside.stderr.strip().splitlines() == [
        "error: functionName: the local AWS manages orders-*, payments-api (its ManagedFunctions), not billing"]
    assert "billing" not in [f["FunctionName"] for f in lam.list_functions()["Functions"]]


def readme_local_block() -> list[list[str]]:
    """The commands of the README's local block (after its marker), each as its arguments, comments dropped."""
    text = (ROOT / "README.md").read_text()
    block = text.split("<!-- local-block -->", 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    return [shlex.split(line.split("#", 1)[0]) for line in block.splitlines() if line.strip()]


def test_the_readmes_local_block_runs_as_written(person: Person) -> None:
    commands = readme_local_block()
    assert commands[0][:3] == [".venv/bin/bluegreen", "local", "up"]
    assert commands[-1][1:] == ["local", "down"]
    outputs = []
    for command in commands:
        assert command[0] == ".venv/bin/bluegreen", command
        done = person.run(*command[1:])
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
    assert "PROMOTED" in outputs[-2], outputs[-2]
