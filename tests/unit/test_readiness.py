"""Waiting for a new version to be ready (aws/readiness.py), against answers as Lambda gives them (botocore's
Stubber: no AWS, no moto), the waiters' 5 s polls made 10 ms."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from bluegreen.aws import readiness
from bluegreen.errors import InvalidInput, VersionNotReady, VersionStillPending

FUNCTION = "orders-api"


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    client = boto3.client("lambda", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    monkeypatch.setattr(readiness, "lambda_client", lambda: client)
    monkeypatch.setattr(readiness, "POLL_SECONDS", 0.01)
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def config(**fields: Any) -> dict[str, Any]:
    return {"FunctionName": FUNCTION, "Version": "2", **fields}


def polled(stubber: Stubber, *answers: dict[str, Any]) -> None:
    for answer in answers:
        stubber.add_response("get_function_configuration", answer, {"FunctionName": FUNCTION, "Qualifier": "2"})


def in_seconds(final: float, attempt: float | None = None) -> readiness.Deadline:
    now = time.monotonic()
    return readiness.Deadline(final=now + final, attempt=now + (final if attempt is None else attempt))


def wait(deadline: readiness.Deadline, **first: Any) -> None:
    readiness.wait_until_active([(FUNCTION, "2", config(**first))], deadline)


def test_an_active_version_costs_no_call(stubbed: Stubber) -> None:
    wait(in_seconds(600), State="Active")


def test_a_pending_version_is_waited_for_until_active(stubbed: Stubber) -> None:
    polled(stubbed, config(State="Pending"), config(State="Active"))
    wait(in_seconds(600), State="Pending")


def test_pending_versions_are_polled_together_each_until_active(stubbed: Stubber) -> None:
    stubbed.add_response("get_function_configuration", config(State="Pending"), {"FunctionName": FUNCTION,
                                                                                   "Qualifier": "2"})
    stubbed.add_response("get_function_configuration", {"FunctionName": "payments-api", "State": "Active"},
                         {"FunctionName": "payments-api", "Qualifier": "7"})
    stubbed.add_response("get_function_configuration", config(State="Active"), {"FunctionName": FUNCTION,
                                                                                  "Qualifier": "2"})
    readiness.wait_until_active([(FUNCTION, "2", config(State="Pending")),
                                 ("payments-api", "7", {"State": "Pending"})], in_seconds(600))


def test_a_version_that_fails_is_refused_with_its_reason(stubbed: Stubber) -> None:
    polled(stubbed, config(State="Pending"),
           config(State="Failed", StateReasonCode="FunctionError", StateReason="init failed"))
    with pytest.raises(VersionNotReady, match=r"State Failed \(FunctionError: init failed\)"):
        wait(in_seconds(600), State="Pending")


def test_an_inactive_version_is_refused_saying_how_to_wake_it(stubbed: Stubber) -> None:
    with pytest.raises(VersionNotReady, match=r"Inactive .*invoke it once to wake it"):
        wait(in_seconds(600), State="Inactive")


def test_still_pending_when_the_attempt_ends_waits_on_in_the_next_one(stubbed: Stubber) -> None:
    with pytest.raises(VersionStillPending, match="version 2 of orders-api: not ready yet"):
        wait(in_seconds(600, attempt=0), State="Pending")


def test_still_pending_when_ready_timeout_seconds_ends_the_wait_is_refused(stubbed: Stubber) -> None:
    polled(stubbed, config(State="Pending"))  # the last poll, at the deadline itself
    with pytest.raises(VersionNotReady, match="still not ready after readyTimeoutSeconds"):
        wait(in_seconds(0.005, attempt=100), State="Pending")


def test_a_failed_poll_goes_to_the_handler_which_tells_transient_from_not(stubbed: Stubber) -> None:
    stubbed.add_client_error("get_function_configuration", "TooManyRequestsException", http_status_code=429)
    with pytest.raises(ClientError, match="TooManyRequestsException"):
        wait(in_seconds(600), State="Pending")


def test_a_failed_code_update_refuses_the_release(stubbed: Stubber) -> None:
    stubbed.add_response("get_function_configuration",
                         {"FunctionName": FUNCTION, "LastUpdateStatus": "Failed",
                          "LastUpdateStatusReasonCode": "InvalidZipFileException", "LastUpdateStatusReason": "bad zip"},
                         {"FunctionName": FUNCTION})
    with pytest.raises(InvalidInput, match=r"last update of orders-api failed \(InvalidZipFileException: bad zip\)"):
        readiness.wait_for_update(FUNCTION, {"LastUpdateStatus": "InProgress"}, in_seconds(600))


def test_the_deadline_counts_from_the_release_start_and_ends_the_attempt_before_the_lambda() -> None:
    started = datetime.now(UTC) - timedelta(seconds=100)
    deadline = readiness.Deadline.for_task(started, 600, remaining_ms=120_000)
    now = time.monotonic()
    assert deadline.final - now == pytest.approx(500, abs=1)
    assert deadline.attempt - now == pytest.approx(120 - readiness.TASK_MARGIN_SECONDS, abs=1)
