"""Whether Lambda can run a version yet: $LATEST's last update before it is published, then the new
version's State, waited for with boto3's waiters before any traffic moves.

A version is Pending while Lambda prepares it (minutes with SnapStart, which snapshots it at publish; a VPC
or a container image take time too) and refuses calls until Active (``SnapStartNotReadyException``), so a
canary routed to it would fail its callers without a single datapoint in its Errors.
https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import WaiterError

from bluegreen.aws.clients import lambda_client
from bluegreen.errors import InvalidInput, TransientAwsError, VersionNotReady, VersionStillPending

# The waiters' poll: boto3's own for published_version_active and function_updated.
POLL_SECONDS = 5
# What the publish task keeps of its time to plan and answer after waiting.
TASK_MARGIN_SECONDS = 15


@dataclass(frozen=True)
class Deadline:
    """How long the publish task may wait: ``final`` (monotonic) ends readyTimeoutSeconds after the release
    started; ``attempt`` ends this task's run a little before its timeout (a later attempt waits on)."""

    final: float
    attempt: float

    def left(self) -> float:
        return min(self.final, self.attempt) - time.monotonic()

    @classmethod
    def starting_now(cls, timeout_seconds: float) -> Deadline:
        now = time.monotonic()
        return cls(final=now + timeout_seconds, attempt=now + timeout_seconds)

    @classmethod
    def for_task(cls, started_at: datetime | None, timeout_seconds: float, remaining_ms: int) -> Deadline:
        """readyTimeoutSeconds from the release's start; this attempt until TASK_MARGIN_SECONDS before the
        Lambda's own timeout."""
        now = time.monotonic()
        elapsed = (datetime.now(UTC) - started_at).total_seconds() if started_at else 0.0
        return cls(final=now + timeout_seconds - max(0.0, elapsed),
                   attempt=now + remaining_ms / 1000 - TASK_MARGIN_SECONDS)


def _wait(waiter_name: str, deadline: Deadline, **params: Any) -> None:
    """The waiter, polling until the deadline; WaiterError as boto3 raises it for a failure, else
    VersionStillPending (this attempt's time is up) or VersionNotReady (readyTimeoutSeconds is)."""
    attempts = max(1, math.floor(deadline.left() / POLL_SECONDS) + 1)
    try:
        lambda_client().get_waiter(waiter_name).wait(  # type: ignore[call-overload]
            **params, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": attempts})
        return
    except WaiterError as exc:
        error = (exc.last_response or {}).get("Error")
        if error:  # the poll itself failed (throttled, say): the task's Retry runs it again
            raise TransientAwsError(f"{waiter_name}: {error.get('Code')}: {error.get('Message')}") from exc
        if "Max attempts exceeded" not in str(exc):
            raise
    if time.monotonic() < deadline.final:
        raise VersionStillPending(f"{params['FunctionName']} is not ready yet; waiting on")
    raise VersionNotReady(f"{params['FunctionName']} ({params.get('Qualifier', '$LATEST')}) was still not ready "
                          "after readyTimeoutSeconds; raise it (SnapStart snapshots take minutes) or try again")


def wait_for_update(name: str, config: Any, deadline: Deadline) -> None:
    """$LATEST's code or configuration update done before it is published (PublishVersion meets a conflict
    while one runs); a failed update refuses the release."""
    status = config.get("LastUpdateStatus", "Successful")
    if status == "InProgress":
        try:
            _wait("function_updated", deadline, FunctionName=name)
            return
        except WaiterError as exc:
            config = exc.last_response
            status = config.get("LastUpdateStatus", "Failed")
    if status == "Failed":
        raise InvalidInput(f"functionName: the last update of {name} failed "
                           f"({config.get('LastUpdateStatusReasonCode')}: {config.get('LastUpdateStatusReason')}); "
                           "fix it and release again")


def wait_until_active(name: str, version: str, config: Any, deadline: Deadline) -> None:
    """The new version Active (``config``: its configuration as last read, e.g. PublishVersion's answer)."""
    if config.get("State", "Active") == "Pending":
        try:
            _wait("published_version_active", deadline, FunctionName=name, Qualifier=version)
            return
        except WaiterError as exc:
            config = exc.last_response
    if config.get("State", "Active") != "Active":
        raise VersionNotReady(f"version {version} of {name} failed to become ready: State {config.get('State')} "
                              f"({config.get('StateReasonCode')}: {config.get('StateReason')}); nothing was changed")
