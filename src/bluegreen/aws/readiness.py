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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from botocore.exceptions import ClientError, WaiterError

from bluegreen.aws.clients import lambda_client
from bluegreen.errors import InvalidInput, VersionNotReady, VersionStillPending

T = TypeVar("T")
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
    def for_task(cls, started_at: datetime | None, timeout_seconds: float, remaining_ms: int) -> Deadline:
        """readyTimeoutSeconds from the release's start; this attempt until TASK_MARGIN_SECONDS before the
        Lambda's own timeout."""
        now = time.monotonic()
        elapsed = (datetime.now(UTC) - started_at).total_seconds() if started_at else 0.0
        return cls(final=now + timeout_seconds - max(0.0, elapsed),
                   attempt=now + remaining_ms / 1000 - TASK_MARGIN_SECONDS)


def out_of_time(deadline: Deadline, what: str) -> NoReturn:
    """VersionNotReady when readyTimeoutSeconds is what ends the wait, else VersionStillPending: this attempt's
    time is up, and the publish task's next attempt waits on (holding the leases)."""
    if deadline.final <= deadline.attempt:
        raise VersionNotReady(f"{what} still not ready after readyTimeoutSeconds; raise it (a SnapStart snapshot "
                              "takes minutes) or release again later")
    raise VersionStillPending(f"{what} not ready yet: the next attempt waits on")


def wait_for_update(name: str, config: Any, deadline: Deadline) -> None:
    """$LATEST's code or configuration update done before it is published (PublishVersion meets a conflict
    while one runs), with boto3's waiter; a failed update refuses the release."""
    status = config.get("LastUpdateStatus", "Successful")
    if status == "InProgress":
        attempts = max(1, math.floor(deadline.left() / POLL_SECONDS) + 1)
        try:
            lambda_client().get_waiter("function_updated").wait(
                FunctionName=name, WaiterConfig={"Delay": POLL_SECONDS, "MaxAttempts": attempts})
            return
        except WaiterError as exc:
            config = exc.last_response or {}
            if "Error" in config:  # the poll itself failed: the handler tells transient from not
                raise ClientError(config, "GetFunctionConfiguration") from exc
            status = config.get("LastUpdateStatus", "Failed")
            if status == "InProgress":
                out_of_time(deadline, f"the update of {name} in progress:")
    if status == "Failed":
        raise InvalidInput(f"functionName: the last update of {name} failed "
                           f"({config.get('LastUpdateStatusReasonCode')}: {config.get('LastUpdateStatusReason')}); "
                           "fix it and release again")


def _ready(name: str, version: str, config: Any) -> bool:
    """Whether the version takes calls now; a version that will not is refused, saying why."""
    state = config.get("State", "Active")
    if state in ("Active", "Pending"):
        return bool(state == "Active")
    if state == "Inactive":
        raise VersionNotReady(f"version {version} of {name} is Inactive (Lambda reclaims a version left idle for "
                              "weeks): invoke it once to wake it, then release again")
    raise VersionNotReady(f"version {version} of {name} failed to become ready: State {state} "
                          f"({config.get('StateReasonCode')}: {config.get('StateReason')})")


def wait_until_active(versions: list[tuple[str, str, Any]], deadline: Deadline) -> None:
    """Every (function, version, its configuration as last read: PublishVersion's answer, say) Active. The
    Pending ones are polled together, every POLL_SECONDS as boto3's published_version_active waiter does (one
    waiter per version would wait for them one after another, and past the attempt's end)."""
    poll_together([(name, version) for name, version, config in versions if not _ready(name, version, config)],
                  lambda found: _ready(*found, lambda_client().get_function_configuration(
                      FunctionName=found[0], Qualifier=found[1])),
                  deadline, lambda found: f"version {found[1]} of {found[0]}")


def poll_together(pending: list[T], ready: Callable[[T], bool], deadline: Deadline, named: Callable[[T], str],
                  first_polls: Sequence[float] = ()) -> None:
    """Until ``ready`` holds for each of ``pending``, polled together: ``first_polls`` seconds apart at first, then
    every POLL_SECONDS, the last poll at the deadline itself; out of time there, naming what still waits."""
    polls = iter(first_polls)
    while pending:
        left = deadline.left()
        if left <= 0:
            shown = ", ".join(named(item) for item in pending[:3])
            out_of_time(deadline, shown + (f" and {len(pending) - 3} more" if len(pending) > 3 else "") + ":")
        time.sleep(min(next(polls, POLL_SECONDS), left))
        pending = [item for item in pending if not ready(item)]
