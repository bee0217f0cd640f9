"""Follow a deployment execution: its history, its checks, a pending operator question, how it ended.

Plain Step Functions reads, for AWS and the embedded local run alike."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3

from bluegreen.aws import execution_history
from bluegreen.contracts import state_names


def sfn_client() -> Any:
    """A Step Functions client in the configured region (``AWS_REGION`` / profile), or moto's when mocked."""
    return boto3.client("stepfunctions")




@dataclass
class ExecutionResult:
    arn: str
    status: str
    error: str | None
    cause: str | None
    output: dict[str, Any] | None
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def state_transitions(self) -> int:
        """States entered: what Step Functions bills a Standard workflow for."""
        return sum(1 for e in self.events if e["type"].endswith("StateEntered"))

    def task_outputs(self, state_name: str) -> list[dict[str, Any]]:
        """The payloads that ``state_name``'s Lambda returned, in order."""
        return [output for name, output in task_results(self.events) if name == state_name]

    def checks(self) -> list[dict[str, Any]]:
        """Every health check's progress (its ``health`` report and ``decision``), in order."""
        return self.task_outputs(state_names.CHECK)

    @property
    def outcome(self) -> str:
        """promoted, rejected (nothing changed), rolled_back, aborted, running or failed."""
        entered = set(self.entered())
        if self.status == "SUCCEEDED":
            return "promoted"
        if self.status == "RUNNING":
            return "running"
        if {state_names.REJECTED, state_names.REJECTED_AS_REPORTED} & entered:
            return "rejected"
        if state_names.ROLLED_BACK in entered:
            # AliasDrift: someone else changed the alias; it was left as they made it. Look at it.
            return "failed" if self.error == "AliasDrift" else "rolled_back"
        if self.status in {"ABORTED", "TIMED_OUT"}:
            return "aborted"
        return "failed"

    def entered(self) -> list[str]:
        return [e["stateEnteredEventDetails"]["name"] for e in self.events if "stateEnteredEventDetails" in e]


def task_results(events: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(state name, Lambda result) for every task that succeeded, from an execution history."""
    results: list[tuple[str, dict[str, Any]]] = []
    current = ""
    for event in events:
        if "stateEnteredEventDetails" in event:
            current = event["stateEnteredEventDetails"]["name"]
        details = event.get("lambdaFunctionSucceededEventDetails")
        if details and "output" in details:
            results.append((current, json.loads(details["output"])))
    return results


def pending_question(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The operator question an execution waits on (its EventBridge detail, with the task token), if any."""
    for event in reversed(events):
        if event["type"] in {"TaskSucceeded", "TaskFailed", "TaskTimedOut", "ExecutionAborted"}:
            return None
        details = event.get("taskScheduledEventDetails")
        if details and details.get("resource", "").endswith(".waitForTaskToken"):
            detail = json.loads(details["parameters"])["Entries"][0]["Detail"]
            return dict(json.loads(detail) if isinstance(detail, str) else detail)
    return None


def history(arn: str) -> list[dict[str, Any]]:
    return list(execution_history.events(sfn_client(), arn))


def wait(arn: str, timeout: float = 120.0, poll: float = 0.1,
         on_event: Callable[[dict[str, Any]], None] | None = None, stop_on_timeout: bool = False) -> ExecutionResult:
    """Poll until the execution ends, passing each new history event to ``on_event``; TimeoutError after
    ``timeout`` s (having stopped the execution only with ``stop_on_timeout``, as the local run does)."""
    sfn = sfn_client()
    deadline = time.monotonic() + timeout
    seen = 0
    while True:
        desc = sfn.describe_execution(executionArn=arn)
        if on_event is not None:
            events = history(arn)
            for event in events[seen:]:
                on_event(event)
            seen = len(events)
        if desc["status"] != "RUNNING":
            break
        if time.monotonic() > deadline:
            if stop_on_timeout:
                sfn.stop_execution(executionArn=arn, error="LocalTimeout", cause=f"still running after {timeout} s")
            raise TimeoutError(f"execution {arn} still running after {timeout} s")
        time.sleep(poll)
    output = json.loads(desc["output"]) if desc.get("output") else None
    return ExecutionResult(arn, desc["status"], desc.get("error"), desc.get("cause"), output, history(arn))


def ended(arn: str) -> ExecutionResult:
    """A finished execution's result, without waiting; LookupError while it still runs."""
    desc = sfn_client().describe_execution(executionArn=arn)
    if desc["status"] == "RUNNING":
        raise LookupError(f"execution {arn} is still running")
    output = json.loads(desc["output"]) if desc.get("output") else None
    return ExecutionResult(arn, desc["status"], desc.get("error"), desc.get("cause"), output, history(arn))
