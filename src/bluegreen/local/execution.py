"""Start an execution of the local state machine and, where moto lacks it, announce how it ended.

Following an execution is the same as in AWS: see ``bluegreen.cli.executions``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3

from bluegreen.cli.executions import ExecutionResult, history, pending_question, task_results
from bluegreen.cli.executions import wait as follow
from bluegreen.local.stack import REGION, LocalStack

__all__ = ["ExecutionResult", "announce_status_change", "history", "pending_question", "reached", "run", "start",
           "task_results", "wait"]


def start(stack: LocalStack, execution_input: Any, name: str | None = None) -> str:
    sfn = boto3.client("stepfunctions", region_name=REGION)
    # moto needs an explicit, unique name.
    return sfn.start_execution(stateMachineArn=stack.state_machine_arn, name=name or f"release-{uuid.uuid4().hex[:12]}",
                               input=json.dumps(execution_input))["executionArn"]


def wait(arn: str, timeout: float = 120.0, poll: float = 0.1,
         on_event: Callable[[dict[str, Any]], None] | None = None) -> ExecutionResult:
    """Follow until it ends; a local execution still running after ``timeout`` is stopped (tests must end)."""
    return follow(arn, timeout=timeout, poll=poll, on_event=on_event, stop_on_timeout=True)


def run(stack: LocalStack, execution_input: Any, timeout: float = 120.0,
        on_event: Callable[[dict[str, Any]], None] | None = None) -> ExecutionResult:
    return wait(start(stack, execution_input), timeout=timeout, on_event=on_event)


def reached(arn: str, state: str, timeout: float = 30.0, *, times: int = 1) -> list[dict[str, Any]]:
    """The execution's history once it has entered ``state`` (``times`` times); TimeoutError otherwise.

    What a test waits on: the execution's own events, not how fast this machine runs (or an alias polled
    against the control plane's rate limit)."""
    deadline = time.monotonic() + timeout
    while True:
        events = history(arn)
        entered = [e for e in events if e.get("stateEnteredEventDetails", {}).get("name") == state]
        if len(entered) >= times:
            return events
        ended = events[-1]["type"] in _ENDED if events else False
        if ended or time.monotonic() > deadline:
            # Where it was: a test failing here says which state held it (or how it ended), not only how long.
            last = next((e["stateEnteredEventDetails"]["name"] for e in reversed(events)
                         if "stateEnteredEventDetails" in e), None)
            why = f"it ended ({events[-1]['type']})" if ended else f"not within {timeout} s"
            raise TimeoutError(f"execution {arn} did not enter {state!r} {times} time(s): {why}; "
                               f"last state entered {last!r}, {len(events)} events")
        time.sleep(0.05)


_ENDED = frozenset({"ExecutionSucceeded", "ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"})


def announce_status_change(arn: str) -> None:
    """Put the "Step Functions Execution Status Change" event AWS emits when an execution ends (moto
    emits none), so the template's abort guardian rule reacts to a local stop as it would in AWS."""
    sfn = boto3.client("stepfunctions", region_name=REGION)
    deadline = time.monotonic() + 30
    # moto settles a stopped execution's status a moment after StopExecution returns.
    while (desc := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        if time.monotonic() > deadline:
            raise TimeoutError(f"execution {arn} is still running: it has no status change to announce")
        time.sleep(0.05)
    detail = {"executionArn": arn, "stateMachineArn": desc["stateMachineArn"], "name": desc["name"],
              "status": desc["status"], "startDate": int(desc["startDate"].timestamp() * 1000),
              "stopDate": int(desc["stopDate"].timestamp() * 1000) if desc.get("stopDate") else None,
              "input": desc.get("input"), "output": desc.get("output")}
    boto3.client("events", region_name=REGION).put_events(Entries=[{
        "Source": "aws.states", "DetailType": "Step Functions Execution Status Change",
        "Resources": [arn], "Detail": json.dumps(detail)}])
