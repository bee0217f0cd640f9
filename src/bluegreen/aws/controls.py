"""Operators' requests to a running release that it picks up at its next check ("promote now").

A request is an item in the deployments table keyed by the execution, expiring after a day; the
check task reads it (one GetItem) and acts on it, recording who asked and why.
"""

from __future__ import annotations

import time

from bluegreen.aws.clients import dynamodb_client
from bluegreen.aws.settings import table_name
from bluegreen.contracts.state import EarlyPromotion

EXPIRES_AFTER_SECONDS = 24 * 3600


def control_key(execution_arn: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"CONTROL#{execution_arn}"}, "sk": {"S": "PROMOTE_NOW"}}


def request_promote_now(execution_arn: str, request: EarlyPromotion) -> None:
    item = {**control_key(execution_arn), "reason": {"S": request.reason}, "by": {"S": request.by or "-"},
            "expiresAt": {"N": str(int(time.time()) + EXPIRES_AFTER_SECONDS)}}
    dynamodb_client().put_item(TableName=table_name(), Item=item)


def pending_promotion(execution_arn: str) -> EarlyPromotion | None:
    item = dynamodb_client().get_item(TableName=table_name(), Key=control_key(execution_arn),
                                      ConsistentRead=True).get("Item")
    if not item:
        return None
    by = item.get("by", {}).get("S")
    return EarlyPromotion(reason=item["reason"]["S"], by=None if by == "-" else by)
