"""One release per function alias, and what that release wrote to it: a lease item in the deployments table.

The lease (``LOCK#function:alias`` / ``LOCK``) is taken with a conditional write before the first change and
holds, while the release runs, the alias's ``RevisionId`` after the release's last write (``revision``) and
the state a write in flight is about to set (``pending``). A release may change the alias only while it holds
the lease, and only from a state it wrote itself (that revision, or the pending state when its write landed
unrecorded): a person's change, or another release's, is never overwritten.

When the release ends, the lease is ended (``ended``: PROMOTED, ROLLED_BACK, LEFT_ALONE), not deleted: it
is then free for the next release, and still says who wrote the alias last. The abort guardian ends the lease
of a stopped execution first (a fence): a task of it still in flight then finds its lease gone before it
writes, or after (it undoes its own write). A lease whose holder is no longer running is taken over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bluegreen.aws.clients import dynamodb_client, stepfunctions_client
from bluegreen.aws.settings import table_name
from bluegreen.contracts.state import ProvisionedMove
from bluegreen.errors import AliasDrift, DeploymentInProgress

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef

# The one end after which the same release may still write the alias: a release of several functions whose
# promotion of another function fails rolls this one back too (all or nothing).
PROMOTED = "PROMOTED"

# (version, {extra version: weight}): an alias's routing, as AWS stores it.
Routing = tuple[str, dict[str, float]]


class LeaseLost(AliasDrift):
    """This release no longer holds the alias (ended by the guardian, or taken by another release)."""


@dataclass(frozen=True)
class Lease:
    function_name: str
    alias: str
    holder: str
    # The alias's RevisionId after the holder's last recorded write, and the routing it set.
    revision: str | None = None
    state: Routing | None = None
    # A write begun and not yet recorded: the routing it sets.
    pending: Routing | None = None
    # How the holder's release ended for this alias (None while it runs).
    ended: str | None = None
    # The provisioned concurrency the holder put on its new version (said before the put: the guardian removes it
    # whenever the release ends unpromoted, its plan made or not).
    provisioned: ProvisionedMove | None = None

    def writable_by(self, execution_arn: str) -> bool:
        return self.holder == execution_arn and self.ended in (None, PROMOTED)


def lock_key(function_name: str, alias: str) -> dict[str, AttributeValueTypeDef]:
    return {"pk": {"S": f"LOCK#{function_name}:{alias}"}, "sk": {"S": "LOCK"}}


def _routing(value: Any) -> Routing | None:
    if not value:
        return None
    version, weights = json.loads(value["S"])
    return str(version), {str(k): float(w) for k, w in weights.items()}


def _as_attribute(routing: Routing) -> AttributeValueTypeDef:
    return {"S": json.dumps(list(routing), sort_keys=True)}


def _conditional_failure(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


def read(function_name: str, alias: str) -> Lease | None:
    """The alias's lease as it is now (consistent read), or None when no release ever held it."""
    item = dynamodb_client().get_item(TableName=table_name(), Key=lock_key(function_name, alias),
                                      ConsistentRead=True).get("Item")
    if not item:
        return None
    return Lease(function_name, alias, item["executionArn"]["S"], item.get("revision", {}).get("S"),
                 _routing(item.get("state")), _routing(item.get("pending")), item.get("ended", {}).get("S"),
                 ProvisionedMove.model_validate_json(item["provisioned"]["S"]) if "provisioned" in item else None)


def holder(function_name: str, alias: str) -> str | None:
    """The execution releasing the alias now, if any (an ended lease holds nothing)."""
    lease = read(function_name, alias)
    return lease.holder if lease and lease.ended is None else None


def _is_running(execution_arn: str) -> bool:
    try:
        return stepfunctions_client().describe_execution(executionArn=execution_arn)["status"] == "RUNNING"
    except ClientError as exc:
        if exc.response["Error"]["Code"] in {"ExecutionDoesNotExist", "InvalidArn"}:
            return False
        raise


# An ended lease is free for the next release.
_FREE = "attribute_exists(#ended)"


def _put(function_name: str, alias: str, execution_arn: str, condition: str,
         values: dict[str, AttributeValueTypeDef]) -> None:
    item: dict[str, AttributeValueTypeDef] = {
        **lock_key(function_name, alias), "executionArn": {"S": execution_arn},
        "takenAt": {"S": datetime.now(UTC).isoformat()}}
    dynamodb_client().put_item(TableName=table_name(), Item=item, ConditionExpression=condition,
                               ExpressionAttributeNames={"#ended": "ended"}, ExpressionAttributeValues=values)


def acquire(function_name: str, alias: str, execution_arn: str) -> None:
    """Hold the alias for ``execution_arn`` (again, if it already does), or say who holds it."""
    mine: dict[str, AttributeValueTypeDef] = {":me": {"S": execution_arn}}
    # Held already (a retried publish): kept as it is, with what it says this release did (provisioned concurrency).
    if _update_if(function_name, alias, execution_arn, expression="SET takenAt = :now",
                  condition="executionArn = :me AND attribute_not_exists(#ended)",
                  values={":now": {"S": datetime.now(UTC).isoformat()}}):
        return
    try:
        _put(function_name, alias, execution_arn, f"attribute_not_exists(pk) OR executionArn = :me OR {_FREE}", mine)
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
    # The holder has ended without ending its lease: take over, unless someone else just did.
    try:
        _put(function_name, alias, execution_arn, f"attribute_not_exists(pk) OR executionArn = :stale OR {_FREE}",
             {":stale": {"S": current or ""}})
    except ClientError as exc:
        if not _conditional_failure(exc):
            raise
        raise DeploymentInProgress(f"alias {alias} of {function_name} was just taken by another execution") from None


# Still this release's to write: held by it, and not ended (or ended promoted: see PROMOTED).
_WRITABLE = "executionArn = :me AND (attribute_not_exists(#ended) OR #ended = :promoted)"
# Attribute names DynamoDB reserves, or might: always said through placeholders.
_NAMES = ("#ended", "#state", "#pending", "#revision")


def _update_if(function_name: str, alias: str, execution_arn: str, *, expression: str, condition: str,
               values: dict[str, AttributeValueTypeDef]) -> bool:
    """Update the lease under ``condition`` (which, like ``expression``, may use ``:me`` for the execution,
    ``:promoted``, ``#ended`` and ``#state``); whether the condition held."""
    said = expression + " " + condition
    # DynamoDB refuses names and values an expression does not use.
    names = {n: n[1:] for n in _NAMES if n in said}
    given: dict[str, AttributeValueTypeDef] = {":me": {"S": execution_arn}, ":promoted": {"S": PROMOTED}, **values}
    used = {k: v for k, v in given.items() if k in said}
    try:
        dynamodb_client().update_item(
            TableName=table_name(), Key=lock_key(function_name, alias), UpdateExpression=expression,
            ConditionExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=used)
    except ClientError as exc:
        if not _conditional_failure(exc):
            raise
        return False
    return True


def _lost(function_name: str, alias: str, execution_arn: str) -> LeaseLost:
    lease = read(function_name, alias)
    if lease is None or lease.holder != execution_arn:
        now = f"held by {lease.holder}" if lease and lease.ended is None else "released"
    else:
        now = f"ended {lease.ended}"
    return LeaseLost(f"this release ({execution_arn}) no longer holds alias {alias} of {function_name} ({now}): "
                     "not touching it")


def intend(function_name: str, alias: str, execution_arn: str, routing: Routing) -> None:
    """Say which routing the write about to be made sets (LeaseLost if the lease is no longer this release's)."""
    if not _update_if(function_name, alias, execution_arn, expression="SET #pending = :pending", condition=_WRITABLE,
                      values={":pending": _as_attribute(routing)}):
        raise _lost(function_name, alias, execution_arn)


def record(function_name: str, alias: str, execution_arn: str, revision: str, routing: Routing) -> None:
    """The write landed: the alias's revision and routing are this release's (LeaseLost if it was stopped
    meanwhile: the caller undoes its write)."""
    if not _update_if(function_name, alias, execution_arn,
                      expression="SET #revision = :revision, #state = :state REMOVE #pending", condition=_WRITABLE,
                      values={":revision": {"S": revision}, ":state": _as_attribute(routing)}):
        raise _lost(function_name, alias, execution_arn)


def note_provisioned(function_name: str, alias: str, execution_arn: str, move: ProvisionedMove) -> None:
    """Say, before putting it, what provisioned concurrency this release puts on its new version (LeaseLost if the
    lease is no longer this release's)."""
    if not _update_if(function_name, alias, execution_arn, expression="SET provisioned = :move",
                      condition=_WRITABLE, values={":move": {"S": move.model_dump_json(by_alias=True)}}):
        raise _lost(function_name, alias, execution_arn)


def ensure_held(function_name: str, alias: str, execution_arn: str) -> None:
    """Refuse to touch the alias unless this execution still holds it (an aborted execution whose task
    is still in flight must not undo what the guardian restored)."""
    lease = read(function_name, alias)
    if lease is None or not lease.writable_by(execution_arn):
        raise _lost(function_name, alias, execution_arn)


def end(function_name: str, alias: str, execution_arn: str, status: str, *, only_open: bool = False) -> bool:
    """End this release's lease with ``status`` (the alias is then free for the next release); a repeat is
    harmless. ``only_open``: only if the release has not ended it itself (the guardian's fence leaves a clean
    end as it is, a promotion excepted). Returns whether this call ended it."""
    return _update_if(function_name, alias, execution_arn,
                      expression="SET #ended = :status, endedAt = :now REMOVE #pending",
                      condition=_WRITABLE if only_open else "executionArn = :me",
                      values={":status": {"S": status}, ":now": {"S": datetime.now(UTC).isoformat()}})


def release(function_name: str, alias: str, execution_arn: str) -> None:
    """Let go of an alias this release never wrote (a rejected or unchanged target): the lease ends."""
    end(function_name, alias, execution_arn, "RELEASED")
