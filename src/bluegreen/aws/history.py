"""The deployment history, in the deployments table next to the locks.

One item per execution: key ``DEPLOY#function:alias`` / ``<startedAt>#<execution name>``, so a
function's releases read newest first with one Query. Written when the release starts (RUNNING)
and completed when it ends: outcome, every check with its weight and verdict, timings.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from bluegreen.aws.clients import dynamodb_client
from bluegreen.aws.settings import table_name
from bluegreen.contracts.health_report import CheckSummary
from bluegreen.contracts.state import CheckResult, Plan, TargetPlan


def history_key(plan: Plan, target: TargetPlan, execution_arn: str) -> dict[str, dict[str, str]]:
    name = execution_arn.rsplit(":", 1)[-1]
    return {"pk": {"S": f"DEPLOY#{target.function_name}:{target.alias}"}, "sk": {"S": f"{plan.started_at}#{name}"}}


def record_start(plan: Plan, target: TargetPlan, execution_arn: str) -> None:
    item: dict[str, Any] = {
        **history_key(plan, target, execution_arn),
        "executionArn": {"S": execution_arn},
        "status": {"S": "RUNNING"},
        "functionName": {"S": target.function_name},
        "alias": {"S": target.alias},
        "oldVersion": {"S": target.old_version or "-"},
        "newVersion": {"S": target.new_version},
        "strategy": {"S": plan.strategy},
        "weights": {"S": json.dumps(plan.weights)},
        "trigger": {"S": json.dumps(plan.trigger.record())},
        # Nothing verifies who started an execution: requestedBy is what the request said (the CLI fills it
        # from the caller's STS identity; a pipeline or a console user may write anything).
        "requestedByIs": {"S": "declared by the request"},
        "startedAt": {"S": plan.started_at or datetime.now(UTC).isoformat()},
    }
    dynamodb_client().put_item(TableName=table_name(), Item=item)


def record_end(plan: Plan, target: TargetPlan, execution_arn: str, status: str, checks: list[CheckSummary], *,
               error: str | None = None, cause: str | None = None) -> None:
    ended = datetime.now(UTC)
    started = datetime.fromisoformat(plan.started_at) if plan.started_at else ended
    values: dict[str, Any] = {
        ":status": {"S": status},
        ":ended": {"S": ended.isoformat()},
        ":duration": {"N": f"{(ended - started).total_seconds():.1f}"},
        ":checks": {"S": json.dumps([c.model_dump(mode="json", by_alias=True) for c in checks])},
        ":error": {"S": error or ""},
        ":cause": {"S": (cause or "")[:4000]},
    }
    dynamodb_client().update_item(
        TableName=table_name(), Key=history_key(plan, target, execution_arn),
        UpdateExpression="SET #status = :status, endedAt = :ended, durationSeconds = :duration, "
                         "checks = :checks, #error = :error, #cause = :cause",
        ExpressionAttributeNames={"#status": "status", "#error": "error", "#cause": "cause"},
        ExpressionAttributeValues=values,
    )


def record_verification(plan: Plan, target: TargetPlan, execution_arn: str, results: list[CheckResult]) -> None:
    """Each verification check's verdict, reason and duration appended to the release's record."""
    checks = [r.model_dump(mode="json", by_alias=True) for r in results]
    dynamodb_client().update_item(
        TableName=table_name(), Key=history_key(plan, target, execution_arn),
        UpdateExpression="SET verification = list_append(if_not_exists(verification, :none), :checks)",
        ExpressionAttributeValues={":none": {"L": []}, ":checks": {"L": [{"S": json.dumps(c)} for c in checks]}})


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, typed in item.items():
        (kind, value), = typed.items()
        out[key] = float(value) if kind == "N" else value
        if kind == "L":  # verification: one JSON string per check
            out[key] = [json.loads(v["S"]) for v in value]
    for key in ("weights", "checks", "trigger"):
        if key in out:
            out[key] = json.loads(out[key])
    return out


def list_deployments(function_name: str, alias: str, limit: int = 20) -> list[dict[str, Any]]:
    """A function alias's releases, newest first, as plain JSON values (pages followed up to ``limit``)."""
    pages = dynamodb_client().get_paginator("query").paginate(
        TableName=table_name(), KeyConditionExpression="pk = :pk", ScanIndexForward=False,
        ExpressionAttributeValues={":pk": {"S": f"DEPLOY#{function_name}:{alias}"}},
        PaginationConfig={"MaxItems": limit, "PageSize": limit})
    return [_plain(item) for page in pages for item in page["Items"]][:limit]


def close(plan: Plan, target: TargetPlan, execution_arn: str, status: str, *, error: str, cause: str) -> bool:
    """Complete the record of a release that ended without its own end (the guardian's case), or whose
    promotion the guardian undid; a record already complete otherwise is left as it is. Returns whether it
    completed it."""
    try:
        dynamodb_client().update_item(
            TableName=table_name(), Key=history_key(plan, target, execution_arn),
            UpdateExpression="SET #status = :status, endedAt = :ended, #error = :error, #cause = :cause",
            ConditionExpression="#status IN (:running, :promoted)",
            ExpressionAttributeNames={"#status": "status", "#error": "error", "#cause": "cause"},
            ExpressionAttributeValues={":status": {"S": status}, ":running": {"S": "RUNNING"},
                                       ":promoted": {"S": "PROMOTED"}, ":ended": {"S": datetime.now(UTC).isoformat()},
                                       ":error": {"S": error}, ":cause": {"S": cause[:4000]}})
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return False
    return True
