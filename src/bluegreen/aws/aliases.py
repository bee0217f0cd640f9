"""The one home of alias reads and writes.

A release changes an alias only from a state it wrote itself: its lease (``locks``) holds the alias's
``RevisionId`` after the release's last write, and the routing of a write in flight. Every write sets an
absolute routing (this version, this weight), so a retried task is harmless, and is conditional on the
revision just read (``RevisionId``): when someone else writes in between (a person at the console, the abort
guardian), AWS refuses ours (``PreconditionFailedException``) and the alias is read again. Anything that is
not this release's (a person's change, another release's) is left as it is, and the release says so
(``AliasDrift``).

A write is announced in the lease before it is made (``intend``) and recorded after (``record``). A release
stopped meanwhile has lost its lease: the write is then undone, back to where the release found the alias,
if nobody wrote after it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from bluegreen.aws import locks
from bluegreen.aws.clients import lambda_client
from bluegreen.aws.locks import Lease, LeaseLost, Routing
from bluegreen.errors import AliasDrift

# Reads and writes in a row that meet someone else's write before giving up (AliasDrift).
CONDITIONAL_WRITE_ATTEMPTS = 3


@dataclass(frozen=True)
class AliasState:
    function_version: str
    # Extra versions' share of traffic, as AWS stores it: {"8": 0.1}.
    additional_weights: dict[str, float] = field(default_factory=dict)
    revision_id: str | None = None

    @property
    def is_split(self) -> bool:
        return bool(self.additional_weights)

    @property
    def routing(self) -> Routing:
        return self.function_version, self.additional_weights

    def describe(self) -> str:
        return describe(self.routing)


def describe(routing: Routing) -> str:
    version, weights = routing
    if not weights:
        return f"100% on version {version}"
    extra = ", ".join(f"version {v} {w:.0%}" for v, w in weights.items())
    return f"version {version} with {extra}"


def whole(version: str) -> Routing:
    """100% on ``version``."""
    return version, {}


def read_alias(function_name: str, alias: str) -> AliasState | None:
    """The alias as it is now, or None when it does not exist."""
    try:
        resp = lambda_client().get_alias(FunctionName=function_name, Name=alias)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return None
        raise
    weights = (resp.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return AliasState(resp["FunctionVersion"], dict(weights), resp.get("RevisionId"))


def weights_at(new_version: str, weight: int) -> dict[str, float]:
    """The routing config of a traffic step, as AWS stores it."""
    return {new_version: round(weight / 100, 4)} if weight else {}


def step(old_version: str, new_version: str, weight: int) -> Routing:
    """The alias at a traffic step: the old version with ``weight`` percent on the new one."""
    return old_version, weights_at(new_version, weight)


def owned(lease: Lease, current: AliasState | None, start: Routing | None) -> bool:
    """Whether the alias as it is now is a state the lease's release wrote (its last recorded revision, or the
    routing of its write in flight), or, before it wrote anything, the state it started from."""
    if current is None:
        return start is None
    if lease.revision is not None and current.revision_id == lease.revision:
        return True
    if lease.pending is not None and current.routing == lease.pending:
        return True
    return lease.revision is None and current.routing == start


def not_ours(function_name: str, alias: str, current: AliasState | None) -> AliasDrift:
    if current is None:
        return AliasDrift(f"alias {alias} of {function_name} no longer exists; it was deleted during the deployment")
    return AliasDrift(f"alias {alias} of {function_name} is {current.describe()}, not a state this release wrote: "
                      "someone changed it; left as it is")


def expect(function_name: str, alias: str, states: list[Routing]) -> AliasState:
    """The alias, if it is in one of ``states``; AliasDrift otherwise (someone changed it)."""
    current = read_alias(function_name, alias)
    if current is None:
        raise not_ours(function_name, alias, current)
    if current.routing not in states:
        expected = " or ".join(describe(s) for s in states)
        raise AliasDrift(f"alias {alias} of {function_name} is {current.describe()}, not {expected} as this "
                         "release left it: someone changed it; stopping without overwriting")
    return current


def _update(function_name: str, alias: str, routing: Routing, revision_id: str | None) -> AliasState:
    version, weights = routing
    kwargs = {"RevisionId": revision_id} if revision_id else {}
    resp = lambda_client().update_alias(FunctionName=function_name, Name=alias, FunctionVersion=version,
                                        RoutingConfig={"AdditionalVersionWeights": weights}, **kwargs)
    return AliasState(version, dict(weights), resp.get("RevisionId"))


def _undo(function_name: str, alias: str, written: AliasState, start: Routing | None) -> None:
    """Put back where the release found the alias, if nobody wrote after ``written`` (a created alias stays)."""
    if start is None:
        return
    try:
        _update(function_name, alias, start, written.revision_id)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "PreconditionFailedException":
            raise


def write_owned(function_name: str, alias: str, execution_arn: str, routing: Routing, *, start: Routing | None,
                from_states: list[Routing] | None = None, create: bool = False) -> AliasState:
    """The alias at ``routing``, written by the release holding its lease, only from a state that release
    wrote (``start``: where it found the alias; None for an alias it creates, with ``create``). ``from_states``
    narrows where it may write from (a traffic step goes on from the previous one only).

    AliasDrift (LeaseLost) when the release no longer holds the alias; AliasDrift when the alias is not in a
    state it wrote, or changes under every attempt.
    """
    for _ in range(CONDITIONAL_WRITE_ATTEMPTS):
        lease = locks.read(function_name, alias)
        if lease is None or not lease.writable_by(execution_arn):
            locks.ensure_held(function_name, alias, execution_arn)  # raises LeaseLost, saying who holds it
        assert lease is not None
        current = read_alias(function_name, alias)
        if not owned(lease, current, start):
            raise not_ours(function_name, alias, current)
        if current is not None and from_states is not None and current.routing not in [*from_states, routing]:
            expect(function_name, alias, [*from_states, routing])  # says where it is, and where it should be
        if current is not None and current.routing == routing:
            if current.revision_id and current.revision_id != lease.revision:
                locks.record(function_name, alias, execution_arn, current.revision_id, routing)  # an earlier try's
            return current
        locks.intend(function_name, alias, execution_arn, routing)
        creating = current is None and create
        try:
            written = _create(function_name, alias, routing) if creating else \
                _update(function_name, alias, routing, current.revision_id if current else None)
        except ClientError as exc:
            # Someone wrote in between (or created the alias first): read again. (ResourceConflictException on
            # an update is an update in progress: transient, for the task's Retry.)
            code = exc.response["Error"]["Code"]
            if code == "PreconditionFailedException" or (creating and code == "ResourceConflictException"):
                continue
            raise
        try:
            locks.record(function_name, alias, execution_arn, written.revision_id or "", routing)
        except LeaseLost:
            _undo(function_name, alias, written, start)
            raise
        return written
    raise AliasDrift(f"alias {alias} of {function_name} changed under every one of {CONDITIONAL_WRITE_ATTEMPTS} "
                     "conditional writes: someone else is changing it; stopping without overwriting")


def _create(function_name: str, alias: str, routing: Routing) -> AliasState:
    version, _ = routing
    resp = lambda_client().create_alias(FunctionName=function_name, Name=alias, FunctionVersion=version)
    return AliasState(version, {}, resp.get("RevisionId"))


def restore(function_name: str, alias: str, lease: Lease, start: Routing) -> tuple[str, AliasState | None]:
    """The abort guardian's write, its lease already ended: the alias back at ``start`` if it is in a state the
    lease's release wrote. Returns what it did ("restored", "nothing to do", "left alone") and the alias."""
    current = read_alias(function_name, alias)
    for _ in range(CONDITIONAL_WRITE_ATTEMPTS):
        if current is not None and current.routing == start:
            return "nothing to do", current
        if not owned(lease, current, start):
            return "left alone", current
        assert current is not None  # owned() refuses a missing alias that had a start
        try:
            _update(function_name, alias, start, current.revision_id)
            return "restored", current
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "PreconditionFailedException":
                raise
        current = read_alias(function_name, alias)
    return "left alone", current
