"""One deployment per function and alias: a lock item in the deployments table.

Taken with a conditional write before the first change, released at every end. A lock whose
execution is no longer running (stopped from the console, failed past its own rollback) is taken
over rather than left to block the alias forever.
"""

from __future__ import annotations

from datetime import UTC, datetime

from botocore.exceptions import ClientError

from bluegreen.clients import dynamodb_client, stepfunctions_client
from bluegreen.errors import AliasDrift, DeploymentInProgress
from bluegreen.settings import table_name


def lock_key(function_name: str, alias: str) -> dict[str, dict[str, str]]:
    return {"pk": {"S": f"LOCK#{function_name}:{alias}"}, "sk": {"S": "LOCK"}}


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def holder(function_name: str, alias: str) -> str | None:
    """The execution holding the alias, if any."""
    item = dynamodb_client().get_item(TableName=table_name(), Key=lock_key(function_name, alias),
                                      ConsistentRead=True).get("Item")
    return item["executionArn"]["S"] if item else None


def _is_running(execution_arn: str) -> bool:
    try:
        return stepfunctions_client().describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"ExecutionDoesNotExist", "InvalidArn"}:
            return False
        raise


def _put(function_name: str, alias: str, execution_arn: str, condition: str, values: dict[str, dict[str, str]]) -> None:
    item = {**lock_key(function_name, alias), "executionArn": {"S": execution_arn},
            "takenAt": {"S": datetime.now(UTC).isoformat()}}
    dynamodb_client().put_item(TableName=table_name(), Item=item, ConditionExpression=condition,
                               ExpressionAttributeValues=values)


def acquire(function_name: str, alias: str, execution_arn: str) -> None:
    """Hold the alias for ``execution_arn`` (again, if it already does), or say who holds it."""
    mine = {":me": {"S": execution_arn}}
    try:
        _put(function_name, alias, execution_arn, "attribute_not_exists(pk) OR executionArn = :me", mine)
        return
    except ClientError as exc:
        if not _conditional_failure(exc):
            raise
    current = holder(function_name, alias)
    if current and _is_running(current):
        raise DeploymentInProgress(
            f"alias {alias} of {function_name} is being released by execution {current}; "
            "wait for it to end (or stop it) and start again"
        )
    # The holder has ended without releasing: take over, unless someone else just did.
    try:
        _put(function_name, alias, execution_arn, "attribute_not_exists(pk) OR executionArn = :stale",
             {":stale": {"S": current or ""}})
    except ClientError as exc:
        if not _conditional_failure(exc):
            raise
        raise DeploymentInProgress(f"alias {alias} of {function_name} was just taken by another execution") from None


def release(function_name: str, alias: str, execution_arn: str) -> None:
    """Let the alias go, if this execution still holds it (a repeat is harmless)."""
    try:
        dynamodb_client().delete_item(TableName=table_name(), Key=lock_key(function_name, alias),
                                      ConditionExpression="attribute_not_exists(pk) OR executionArn = :me",
                                      ExpressionAttributeValues={":me": {"S": execution_arn}})
    except ClientError as exc:
        if not _conditional_failure(exc):
            raise


def ensure_held(function_name: str, alias: str, execution_arn: str) -> None:
    """Refuse to touch the alias unless this execution still holds it (an aborted execution whose task
    is still in flight must not undo what the guardian restored)."""
    current = holder(function_name, alias)
    if current != execution_arn:
        raise AliasDrift(f"this release ({execution_arn}) no longer holds alias {alias} of {function_name} "
                         f"({'held by ' + current if current else 'released'}): not touching it")
