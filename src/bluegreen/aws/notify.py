"""Deployment events on EventBridge, so teams wire Slack, pagers or dashboards without code.

Source ``bluegreen``; detail types: Deployment Started, Traffic Shifted, Health Checked, Promoted,
Rolled Back (and Operator Decision Needed, put by the state machine itself). Best effort: a
notification that cannot be sent is logged, never a reason to roll a release back.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from bluegreen.aws import settings
from bluegreen.aws.clients import events_client

if TYPE_CHECKING:
    from mypy_boto3_events.type_defs import PutEventsRequestEntryTypeDef

SOURCE = "bluegreen"


def _entry(detail_type: str, execution_arn: str, detail: dict[str, Any]) -> PutEventsRequestEntryTypeDef:
    return {"Source": SOURCE, "DetailType": detail_type, "EventBusName": settings.current().event_bus_name,
            "Detail": json.dumps({"executionArn": execution_arn, **detail}, default=str),
            "Resources": [execution_arn]}


def emit(detail_type: str, execution_arn: str, detail: dict[str, Any]) -> str | None:
    """Put one event; returns why it could not be sent, or None."""
    return next(iter(emit_many(detail_type, execution_arn, [detail])), None)


# PutEvents takes at most 10 entries a call.
MAX_ENTRIES_PER_CALL = 10


def emit_many(detail_type: str, execution_arn: str, details: list[dict[str, Any]]) -> list[str]:
    """Put one event per detail, ten to a call; returns why any could not be sent."""
    problems = []
    for first in range(0, len(details), MAX_ENTRIES_PER_CALL):
        entries = [_entry(detail_type, execution_arn, d) for d in details[first:first + MAX_ENTRIES_PER_CALL]]
        try:
            resp = events_client().put_events(Entries=entries)
        except (BotoCoreError, ClientError) as exc:
            what = f"{detail_type} event" if len(entries) == 1 else f"{len(entries)} {detail_type} events"
            problems.append(f"{what} not sent: {exc}")
            continue
        problems += [f"{detail_type} event not sent: {e.get('ErrorCode')} {e.get('ErrorMessage')}"
                     for e in resp.get("Entries", []) if e.get("ErrorCode")]
    return problems
