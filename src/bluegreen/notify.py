"""Deployment events on EventBridge, so teams wire Slack, pagers or dashboards without code.

Source ``bluegreen``; detail types: Deployment Started, Traffic Shifted, Health Checked, Promoted,
Rolled Back (and Operator Decision Needed, put by the state machine itself). Best effort: a
notification that cannot be sent is logged, never a reason to roll a release back.
"""

from __future__ import annotations

import json
import os
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bluegreen.clients import events_client

SOURCE = "bluegreen"
BUS_ENV = "EVENT_BUS_NAME"


def emit(detail_type: str, execution_arn: str, detail: dict[str, Any]) -> str | None:
    """Put one event; returns why it could not be sent, or None."""
    entry = {"Source": SOURCE, "DetailType": detail_type, "EventBusName": os.environ.get(BUS_ENV, "default"),
             "Detail": json.dumps({"executionArn": execution_arn, **detail}, default=str),
             "Resources": [execution_arn]}
    try:
        resp = events_client().put_events(Entries=[entry])  # type: ignore[list-item]
    except (BotoCoreError, ClientError) as exc:
        return f"{detail_type} event not sent: {exc}"
    if resp.get("FailedEntryCount"):
        failed = resp["Entries"][0]
        return f"{detail_type} event not sent: {failed.get('ErrorCode')} {failed.get('ErrorMessage')}"
    return None
