"""Hostile and malformed inputs through every real entry point: the console (StartExecution), an
EventBridge release request, a CodePipeline-style start, and the CLI. Each is refused with an error
naming the field, and the alias is byte-for-byte what it was."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from bluegreen.cli.main import app
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.stand_ins.principals import session_as
from bluegreen.local.traffic import SampleFunction
from tests.conftest import ALIAS, FUNCTION, get_alias
from tests.e2e.test_triggers_and_lock import lock_item

BASE: dict[str, Any] = {"functionName": FUNCTION, "alias": ALIAS, "version": "1",
                        "strategy": {"steps": [10, 100], "intervalSeconds": 1}}
DROP = object()

# case -> (changes to a valid input (DROP removes the key; None as a whole: the input itself), the field
# the error must name, a phrase of the reason)
CASES: dict[str, tuple[Any, str, str]] = {
    "function name of the wrong type": ({"functionName": 123}, "functionName", "string"),
    "missing alias": ({"alias": DROP}, "alias", "required"),
    "missing everything": ({"functionName": DROP, "alias": DROP}, "functionName", "required"),
    "huge function name": ({"functionName": "a" * 50_000}, "functionName", "function name"),
    "unicode function name": ({"functionName": "ördérs-api"}, "functionName", "function name"),
    "right-to-left override in the alias": ({"alias": "prod\u202e"}, "alias", "alias name"),
    "ARN of another account": ({"functionName": "arn:aws:lambda:us-east-1:999999999999:function:orders-api"},
                               "functionName", "999999999999"),
    "ARN of another region": ({"functionName": "arn:aws:lambda:eu-west-1:123456789012:function:orders-api"},
                              "functionName", "eu-west-1"),
    "qualified ARN": ({"functionName": "arn:aws:lambda:us-east-1:123456789012:function:orders-api:prod"},
                      "functionName", "alias"),
    "function outside the managed set": ({"functionName": "billing-api"}, "functionName", "not one of the functions"),
    "$LATEST as the version": ({"version": "$LATEST"}, "version", "$LATEST"),
    "version as a number": ({"version": 7}, "version", "string"),
    "version that does not exist": ({"version": "99"}, "version", "not a published version"),
    "negative weight": ({"strategy": {"steps": [-10, 100], "intervalSeconds": 1}}, "strategy.steps", "between 1"),
    "weight above 100": ({"strategy": {"steps": [10, 150], "intervalSeconds": 1}}, "strategy.steps", "between 1"),
    "non-monotonic steps": ({"strategy": {"steps": [50, 10, 100]}}, "strategy.steps", "strictly increasing"),
    "zero interval": ({"strategy": {"steps": [10, 100], "intervalSeconds": 0}}, "strategy.intervalSeconds",
                      "greater than or equal to 1"),
    "enormous interval": ({"strategy": {"steps": [10, 100], "intervalSeconds": 10**9}}, "strategy.intervalSeconds",
                          "less than or equal"),
    "zero linear percent": ({"strategy": {"linearPercent": 0, "intervalSeconds": 60}}, "strategy.linearPercent",
                            "greater than or equal to 1"),
    "strategy of the wrong type": ({"strategy": 42}, "strategy", "predefined name"),
    "unknown top-level key": ({"functon": "typo"}, "functon", "unknown field"),
    "unknown health key": ({"health": {"maxErrorrate": 0.1}}, "health.maxErrorrate", "unknown field"),
    "error rate as a string": ({"health": {"maxErrorRate": "1%"}}, "health.maxErrorRate", "number"),
    "check interval of zero": ({"health": {"checkIntervalSeconds": 0}}, "health.checkIntervalSeconds",
                               "greater than or equal to 1"),
    "101 alarms": ({"health": {"alarms": [f"a{i}" for i in range(101)]}}, "health.alarms", "at most 100"),
    "alarm name with a newline": ({"health": {"alarms": ["ok\nDROP TABLE"]}}, "health.alarms.0", "pattern"),
    "shell injection in the alias": ({"alias": "prod; rm -rf /"}, "alias", "alias name"),
    "SQL-style injection in the function name": ({"functionName": "orders-api' OR '1'='1"}, "functionName",
                                                 "function name"),
    "path traversal in the alias": ({"alias": "../../etc/passwd"}, "alias", "alias name"),
    "control characters in the trigger": ({"trigger": {"source": "cli", "requestedBy": "eve\u0000\u001b[2J"}},
                                          "trigger.requestedBy", "pattern"),
    "unknown approval": ({"approval": {"before": "never"}}, "approval.before", "promote"),
    "malformed codeSha256": ({"codeSha256": "not-a-sha"}, "codeSha256", "SHA-256"),
}
ENTRY_POINTS = ("console", "eventbridge", "codepipeline", "cli")


def hostile(changes: dict[str, Any]) -> dict[str, Any]:
    payload = dict(BASE)
    for key, value in changes.items():
        if value is DROP:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def _started(stack: LocalStack) -> list[Any]:
    return list(boto3.client("stepfunctions", region_name=REGION).list_executions(
        stateMachineArn=stack.state_machine_arn)["executions"])


def refuse(entry: str, payload: dict[str, Any], stack: LocalStack, tmp_path: Path) -> str:
    """Send ``payload`` through ``entry``; returns the error text a person would read."""
    if entry == "cli":
        path = tmp_path / "release.json"
        path.write_text(json.dumps(payload))
        cli = CliRunner().invoke(app, ["deploy", str(path), "--local"])
        # Malformed input is refused before anything starts; what needs AWS to judge (the account, the
        # managed set, a version's existence) is refused by the release's first state, changing nothing.
        assert cli.exit_code == 2, cli.output
        if _started(stack):
            assert "REJECTED" in cli.output and "InvalidInput" in cli.output
        return cli.output
    if entry == "eventbridge":
        session_as("ci-deployer").client("events").put_events(Entries=[{
            "Source": "bluegreen.release", "DetailType": "Release Requested", "Detail": json.dumps(payload),
            "EventBusName": "bluegreen-release-requests"}])
        deadline = time.monotonic() + 20
        while not (started := _started(stack)):
            assert time.monotonic() < deadline, "the release request started nothing"
            time.sleep(0.05)
        arn = started[0]["executionArn"]
    else:
        name = f"orders-pipeline-{uuid.uuid4()}" if entry == "codepipeline" else None
        arn = execution.start(stack, payload, name=name)
    result = execution.wait(arn, timeout=60)
    assert result.status == "FAILED" and result.error == "InvalidInput", (result.error, result.cause)
    return result.cause or ""


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_input_is_refused_and_changes_nothing(case: str, stack: LocalStack, sample: SampleFunction,
                                                      tmp_path: Path) -> None:
    changes, field, phrase = CASES[case]
    entry = ENTRY_POINTS[list(CASES).index(case) % len(ENTRY_POINTS)]
    before = get_alias()
    message = refuse(entry, hostile(changes), stack, tmp_path)
    assert f"{field}:" in message or f"{field} " in message, f"[{entry}] {message}"
    assert phrase in message, f"[{entry}] {message}"
    assert get_alias() == before  # byte for byte, RevisionId included
    assert lock_item(stack) is None
