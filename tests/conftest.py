"""Shared fixtures: the project's template deployed into moto, a sample target function, traffic."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from bluegreen.contracts import state_names
from bluegreen.contracts.state import Plan
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack, running_stack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator

FUNCTION = "orders-api"
ALIAS = "prod"

logging.getLogger("moto").setLevel(logging.CRITICAL)
# A local AWS someone left running (`bluegreen local up`) is not the tests' to use: --local commands here find none
# (set before any thread starts; tests that start one give it a state file of their own).
os.environ["BLUEGREEN_LOCAL_STATE"] = str(Path(tempfile.gettempdir()) / f"bluegreen-tests-{os.getpid()}" / "none.json")


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    """template.yaml in moto, managing orders-* and payments-api, handlers served in process."""
    with running_stack({"ManagedFunctions": "orders-*,payments-api"}) as deployed:
        yield deployed


@pytest.fixture
def sample(stack: LocalStack) -> SampleFunction:
    """orders-api with version 1 published and alias prod on it."""
    fn = SampleFunction(FUNCTION, ALIAS, stack.role_arn)
    fn.create()
    return fn


@pytest.fixture
def traffic(sample: SampleFunction) -> Iterator[TrafficSimulator]:
    sim = TrafficSimulator(FUNCTION, ALIAS)
    sim.start()
    yield sim
    sim.stop()


def get_alias(name: str = ALIAS, function: str = FUNCTION) -> dict[str, Any]:
    """The alias as AWS reports it, without the response metadata."""
    resp = dict(boto3.client("lambda", region_name=REGION).get_alias(FunctionName=function, Name=name))
    resp.pop("ResponseMetadata", None)
    return resp


def weights_of(alias: dict[str, Any]) -> dict[str, float]:
    return (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}


def release(stack: LocalStack, **fields: Any) -> execution.ExecutionResult:
    """Run one execution of the real state machine with a fast strategy unless one is given."""
    payload: dict[str, Any] = {"functionName": FUNCTION, "alias": ALIAS,
                               "strategy": {"steps": [10, 50, 100], "intervalSeconds": 1}}
    payload.update(fields)
    return execution.run(stack, {k: v for k, v in payload.items() if v is not None}, timeout=90)


def largest_state(result: execution.ExecutionResult) -> int:
    """The largest input, output or parameters any state of the execution had, in bytes of JSON (what Step
    Functions holds to 256 KiB)."""
    sizes = [len(str(details[key]).encode()) for event in result.events for name, details in event.items()
             if name.endswith("EventDetails") and isinstance(details, dict)
             for key in ("input", "output", "parameters") if key in details]
    return max(sizes, default=0)


def plan_of(result: execution.ExecutionResult) -> Plan:
    """The plan the execution's publish task made."""
    (published,) = result.task_outputs(state_names.PUBLISH)
    return Plan.model_validate(published["plan"])


class BusListener:
    """An SQS queue behind a rule on the default bus: the events a release sent, as a subscriber gets them."""

    def __init__(self, name: str, pattern: dict[str, Any]) -> None:
        self.sqs = boto3.client("sqs", region_name=REGION)
        self.queue = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events = boto3.client("events", region_name=REGION)
        events.put_rule(Name=name, EventPattern=json.dumps(pattern))
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])

    def received(self) -> list[dict[str, Any]]:
        """Every event delivered so far, in order (and taken off the queue)."""
        found: list[dict[str, Any]] = []
        while messages := self.sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages"):
            found += [json.loads(m["Body"]) for m in messages]
            self.sqs.delete_message_batch(QueueUrl=self.queue, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)])
        return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first (stable otherwise): started last, one of them keeps a worker busy for a minute
    after the others have finished (measured on 2 workers: the whole run 447 s, 550 s with them last)."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


# --- The guarantees' summary: cases per category, printed at the end of the run -------------------------
GUARANTEE_CATEGORIES: dict[str, tuple[str, ...]] = {
    "fault matrix (task x fault x attempts)": ("test_fault_matrix[",),
    "abort at every state + guardian": ("test_stopping_at_any_point",),
    "guardian on ended releases": ("test_guardian_after_a_finished_release",),
    "concurrent starts": ("test_two_concurrent_starts",),
    "alias changed by hand (noticed at the next check)": ("mid_release",),
    "races under AWS's rules (a write between read and write, guardian in flight, publish after an update, a task "
    "past its timeout)": (
        "test_a_write_between_a_tasks_read", "test_the_guardian_and_a_shift_still_in_flight",
        "test_a_publish_right_after_a_code_update", "test_a_task_past_its_timeout",
        "test_a_publish_past_its_timeout"),
    "AWS's Lambda rules kept by the embedded AWS": ("test_embedded_aws_rules.py::",),
    "ready before traffic (a SnapStart version Pending, or Failed: no call reaches it)": (
        "test_version_readiness.py::",),
    "each function's calls held to its IAM policy in template.yaml": ("test_iam_policies.py::",),
    "verification failed: every alias the release moved back, stages included": (
        "test_a_smoke_check_failing", "test_before_traffic_failing", "test_after_promotion_failing",
        "test_a_hook_that_hangs", "test_a_hook_answering_garbage", "test_one_targets_smoke_failing",
        "test_a_health_failure_after_the_stages"),
    "publish of unchanged code": ("test_publishing_unchanged_code",),
    "hostile inputs (console, EventBridge, CodePipeline, CLI)": ("test_hostile_input",),
    "bad inputs (console, a downgrade included)": ("test_bad_input_is_rejected",),
    "only the named requesters start a release": ("test_only_the_named_requesters",),
    "property: random faults and operator actions": ("test_random_faults_and_operator_actions",),
    "several functions: all promoted or all rolled back (50 under the rate limit)": (
        "test_multi_function_release.py::",),
    "only the release's own writes undone (a later release, a person, a write in flight after an abort)": (
        "test_own_writes_only.py::",),
    "provisioned concurrency follows the release (READY before traffic; only the user's left after a rollback, a "
    "refusal or an abort at any state)": ("test_provisioned_concurrency.py::",),
}
_GUARANTEES: dict[str, list[int]] = {name: [0, 0] for name in GUARANTEE_CATEGORIES}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    for name, markers in GUARANTEE_CATEGORIES.items():
        if any(marker in report.nodeid for marker in markers):
            _GUARANTEES[name][0] += 1
            _GUARANTEES[name][1] += int(report.passed)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not any(cases for cases, _ in _GUARANTEES.values()):
        return
    terminalreporter.section("guarantees: the alias ends whole")
    width = max(len(name) for name in _GUARANTEES)
    terminalreporter.write_line(f"{'category':<{width}}  cases  passed")
    for name, (cases, passed) in _GUARANTEES.items():
        if cases:
            terminalreporter.write_line(f"{name:<{width}}  {cases:>5}  {passed:>6}")
    total, ok = (sum(v[i] for v in _GUARANTEES.values()) for i in (0, 1))
    terminalreporter.write_line(f"{'total':<{width}}  {total:>5}  {ok:>6}")
