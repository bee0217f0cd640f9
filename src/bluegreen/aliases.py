"""The one home of alias reads and writes.

Every write sets an absolute state (this version, this weight), so a retried task is harmless,
and every write is conditional on the revision just read (``RevisionId``). When someone else
writes in between (a person at the console, the abort guardian), AWS refuses ours
(``PreconditionFailedException``): the alias is read again and the same check decides on what is
there now, so a change made in between is never overwritten unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from botocore.exceptions import ClientError

from bluegreen.clients import lambda_client
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

    def describe(self) -> str:
        if not self.is_split:
            return f"100% on version {self.function_version}"
        extra = ", ".join(f"version {v} {w:.0%}" for v, w in self.additional_weights.items())
        return f"version {self.function_version} with {extra}"


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


# A check of the alias found before a write: raises AliasDrift when it is not in a state the caller may change.
Check = Callable[[str, str, AliasState | None], None]


def in_states(states: list[tuple[str, dict[str, float]]]) -> Check:
    """The alias must be in one of ``states`` (version, extra weights): the states this release last wrote
    (or is about to write again, on a retry). Anything else is someone else's change."""

    def check(function_name: str, alias: str, current: AliasState | None) -> None:
        if current is None:
            raise AliasDrift(f"alias {alias} of {function_name} no longer exists; it was deleted during the deployment")
        if (current.function_version, current.additional_weights) not in states:
            expected = " or ".join(AliasState(v, w).describe() for v, w in states)
            raise AliasDrift(f"alias {alias} of {function_name} is {current.describe()}, not {expected} as this "
                             "release left it: someone changed it; stopping without overwriting")

    return check


def on_versions(versions: set[str]) -> Check:
    """The alias may route only to ``versions`` (a release's old and new): any other version is someone
    else's, and the alias is left as they made it."""

    def check(function_name: str, alias: str, current: AliasState | None) -> None:
        if current is None:
            raise AliasDrift(f"alias {alias} of {function_name} no longer exists")
        if not {current.function_version, *current.additional_weights} <= versions:
            raise AliasDrift(f"alias {alias} of {function_name} is {current.describe()}, not a state this release "
                             f"(versions {', '.join(sorted(versions))}) made: someone changed it; left as it is")

    return check


def expect(function_name: str, alias: str, states: list[tuple[str, dict[str, float]]]) -> AliasState:
    """The alias, if it is in one of ``states``; AliasDrift otherwise (see ``in_states``)."""
    current = read_alias(function_name, alias)
    in_states(states)(function_name, alias, current)
    assert current is not None  # in_states refuses a missing alias
    return current


def _conditionally(function_name: str, alias: str, write: Callable[[AliasState | None], AliasState],
                   known: AliasState | None) -> AliasState:
    """``write`` from the alias as read (``known`` the first time); again from a fresh read when someone
    else wrote in between."""
    current = known if known is not None else read_alias(function_name, alias)
    for _ in range(CONDITIONAL_WRITE_ATTEMPTS):
        try:
            return write(current)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "PreconditionFailedException":
                raise
        current = read_alias(function_name, alias)
    raise AliasDrift(f"alias {alias} of {function_name} changed under every one of {CONDITIONAL_WRITE_ATTEMPTS} "
                     "conditional writes: someone else is changing it; stopping without overwriting")


def _update(function_name: str, alias: str, version: str, weights: dict[str, float], current: AliasState) -> None:
    kwargs = {"RevisionId": current.revision_id} if current.revision_id else {}
    lambda_client().update_alias(FunctionName=function_name, Name=alias, FunctionVersion=version,
                                 RoutingConfig={"AdditionalVersionWeights": weights}, **kwargs)


def shift_traffic(function_name: str, alias: str, old_version: str, new_version: str, weight: int, *,
                  previous_weight: int = 0) -> AliasState:
    """Alias on ``old_version`` with ``weight`` percent on ``new_version``.

    Allowed only from the state this release last wrote (``previous_weight`` on the new version; 0: the
    old version alone), or from this very step (an earlier attempt of this task wrote it).
    """
    if not 1 <= weight <= 99:
        raise ValueError(f"a traffic step's weight must be 1..99 percent, got {weight}")
    if old_version == new_version or "$LATEST" in (old_version, new_version):
        raise ValueError("a weighted alias needs two different published versions")
    target = weights_at(new_version, weight)
    check = in_states([(old_version, weights_at(new_version, previous_weight)), (old_version, target)])

    def write(current: AliasState | None) -> AliasState:
        check(function_name, alias, current)
        assert current is not None  # the check refuses a missing alias
        if current.additional_weights != target:
            _update(function_name, alias, old_version, target, current)
        return AliasState(old_version, target)

    return _conditionally(function_name, alias, write, known=None)


def point_alias(function_name: str, alias: str, version: str, *, create: bool = False,
                check: Check | None = None, known: AliasState | None = None) -> AliasState:
    """Alias 100% on ``version`` with an empty routing config (promote, or roll back).

    With ``create``, a missing alias is created at ``version``; a write already in place is skipped.
    ``check`` decides whether the alias found may be changed (``in_states``, ``on_versions``), on the
    first read and on every read after someone else's write. ``known``: the alias as the caller has just
    read it (saves a second GetAlias).
    """

    def write(current: AliasState | None) -> AliasState:
        if current is None and create:
            lambda_client().create_alias(FunctionName=function_name, Name=alias, FunctionVersion=version)
            return AliasState(version)
        if check is not None:
            check(function_name, alias, current)
        if current is None:
            raise AliasDrift(f"alias {alias} of {function_name} no longer exists")
        if current.function_version != version or current.is_split:
            _update(function_name, alias, version, {}, current)
        return AliasState(version)

    return _conditionally(function_name, alias, write, known=known)
