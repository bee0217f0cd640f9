"""Local stand-in: Lambda's provisioned concurrency, which moto does not implement at all.

The API (Put/Get/Delete/ListProvisionedConcurrencyConfig{s}) answers as the Lambda API reference says, with the
rules a release must live within:

- A configuration belongs to a published version or an alias, never ``$LATEST``
  (``InvalidParameterValueException``); a qualifier that does not exist: ``ResourceNotFoundException``.
  https://docs.aws.amazon.com/lambda/latest/api/API_PutProvisionedConcurrencyConfig.html
- An alias with a routing config takes no new configuration: ``InvalidParameterValueException`` "Alias with
  weights can not be used with Provisioned Concurrency" (the error hashicorp/terraform#24957 and the SAM issues
  report when a tool changes one mid-deployment).
- One owner per version: a configuration on a version and one on an alias pointing at that version exclude each
  other (``ResourceConflictException``). Which version a weighted alias "points at" is modelled as its primary
  version only; an additional version with its own configuration is allowed (AWS documents no rule for it).
- The account's concurrency: provisioned (and reserved) concurrency may not take the unreserved pool below its
  floor of 100 (``InvalidParameterValueException`` "... below its minimum value of [100]").
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html
- Allocation takes time: ``IN_PROGRESS`` (nothing allocated) for ``ready_seconds``, then ``READY``, or ``FAILED``
  with a ``StatusReason`` for a function whose environments fail to start. An alias's configuration follows the
  alias: when UpdateAlias moves it, Lambda allocates again (``IN_PROGRESS`` for a while), split between its
  versions by weight (the guide: "configure a higher number of provisioned concurrency instances during the
  time that alias routing is active" to avoid spillover).
  https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html

The configurations live on moto's Lambda backend (gone with it on reset); ``warm`` tells the traffic simulator
whether a call to a version ran on provisioned environments.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from moto.core.exceptions import JsonRESTError

# Paths moto's Lambda does not route: added to its URL map while the rules are enforced.
URL_PATHS = {r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency/?$"}
ACTIONS = frozenset({"PutProvisionedConcurrencyConfig", "GetProvisionedConcurrencyConfig",
                     "DeleteProvisionedConcurrencyConfig", "ListProvisionedConcurrencyConfigs"})
UNRESERVED_FLOOR = 100


class ProvisionedError(JsonRESTError):
    def __init__(self, code: int, error: str, message: str) -> None:
        self.code = code
        super().__init__(error, message)


def _invalid(message: str) -> ProvisionedError:
    return ProvisionedError(400, "InvalidParameterValueException", message)


@dataclass
class Allocation:
    """One configuration: on a version or an alias (``qualifier``), allocated from ``ready_at`` on."""

    function: str
    qualifier: str
    requested: int
    ready_at: float
    failure: str | None = None
    # An alias's: the versions whose environments keep serving while it is allocated again after a move.
    still_warm: set[str] = field(default_factory=set)
    modified: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def status(self) -> str:
        if time.monotonic() < self.ready_at:
            return "IN_PROGRESS"
        return "FAILED" if self.failure else "READY"

    def answer(self, arn: str) -> dict[str, Any]:
        status = self.status()
        allocated = self.requested if status == "READY" else 0
        return {"FunctionArn": arn, "RequestedProvisionedConcurrentExecutions": self.requested,
                "AvailableProvisionedConcurrentExecutions": allocated,
                "AllocatedProvisionedConcurrentExecutions": allocated, "Status": status,
                **({"StatusReason": self.failure} if status == "FAILED" and self.failure else {}),
                "LastModified": self.modified}


@dataclass
class ProvisionedConcurrency:
    """The settings a test may change: how long allocation takes, which functions fail it, the account's limit."""

    ready_seconds: float = 1.0
    failing: dict[str, str] = field(default_factory=dict)  # function -> StatusReason
    account_limit: int = 1000
    puts: int = 0  # PutProvisionedConcurrencyConfig calls answered, for the benchmark

    def answer(self, response: Any, action: str, function: str) -> tuple[int, dict[str, str], str]:
        backend, query = response.backend, response.querystring
        qualifier = (query.get("Qualifier") or [None])[0]
        found = allocations(backend)
        if action == "ListProvisionedConcurrencyConfigs":
            configs = [a.answer(_arn(backend, function, a.qualifier)) for (f, _), a in sorted(found.items())
                       if f == function]
            return 200, {}, json.dumps({"ProvisionedConcurrencyConfigs": configs})
        _check_qualifier(backend, function, qualifier)
        assert qualifier is not None
        key = (function, qualifier)
        if action == "GetProvisionedConcurrencyConfig":
            if key not in found:
                raise ProvisionedError(404, "ProvisionedConcurrencyConfigNotFoundException",
                                       "No Provisioned Concurrency Config found for this function")
            return 200, {}, json.dumps(found[key].answer(_arn(backend, function, qualifier)))
        if action == "DeleteProvisionedConcurrencyConfig":
            if found.pop(key, None) is None:
                raise ProvisionedError(404, "ResourceNotFoundException",
                                       "No Provisioned Concurrency Config found for this function")
            return 204, {}, ""
        amount = json.loads(response.body or "{}").get("ProvisionedConcurrentExecutions")
        if not isinstance(amount, int) or amount < 1:
            raise ProvisionedError(400, "ValidationException", "1 validation error detected: Value at "
                                   "'provisionedConcurrentExecutions' failed to satisfy constraint: Member must "
                                   "have value greater than or equal to 1")
        self._check_put(backend, function, qualifier, amount)
        found[key] = Allocation(function, qualifier, amount, time.monotonic() + self.ready_seconds,
                                self.failing.get(function))
        self.puts += 1
        return 202, {}, json.dumps(found[key].answer(_arn(backend, function, qualifier)))

    def _check_put(self, backend: Any, function: str, qualifier: str, amount: int) -> None:
        found = allocations(backend)
        if not qualifier.isdigit():
            alias = backend.get_alias(qualifier, function)
            if (alias.routing_config or {}).get("AdditionalVersionWeights"):
                raise _invalid("Alias with weights can not be used with Provisioned Concurrency")
            if (function, str(alias.function_version)) in found:
                raise ProvisionedError(409, "ResourceConflictException", f"Version {alias.function_version} of "
                                       f"{function}, which alias {qualifier} points to, already has provisioned "
                                       "concurrency")
        else:
            for (owner_function, owner), allocation in found.items():
                if owner_function == function and not owner.isdigit() and owner != qualifier and \
                        str(backend.get_alias(owner, function).function_version) == qualifier:
                    raise ProvisionedError(409, "ResourceConflictException", f"Alias {owner} of {function}, which "
                                           f"points to version {qualifier}, already has provisioned concurrency "
                                           f"({allocation.requested})")
        others = sum(a.requested for key, a in found.items() if key != (function, qualifier))
        if others + amount > self.account_limit - UNRESERVED_FLOOR:
            raise _invalid("Specified ConcurrentExecutions for function decreases account's "
                           f"UnreservedConcurrentExecution below its minimum value of [{UNRESERVED_FLOOR}].")

    def alias_moving(self, backend: Any, function: str, alias: str) -> None:
        """UpdateAlias is about to move an alias: its configuration is allocated again, to where it will point; the
        environments of the versions it serves now keep serving meanwhile."""
        allocation = allocations(backend).get((function, alias))
        if allocation is not None:
            if allocation.status() == "READY":
                allocation.still_warm = _routed(backend, function, alias)
            allocation.ready_at = max(allocation.ready_at, time.monotonic() + self.ready_seconds)


def allocations(backend: Any) -> dict[tuple[str, str], Allocation]:
    """The configurations on moto's Lambda backend, by (function, qualifier)."""
    found: dict[tuple[str, str], Allocation] = backend.__dict__.setdefault("_bluegreen_provisioned", {})
    return found


def warm(backend: Any, function: str, version: str) -> bool | None:
    """Whether a call to ``version`` ran on provisioned environments; None when the function has none anywhere
    (every call is on demand, as its owner chose)."""
    mine = {q: a for (f, q), a in allocations(backend).items() if f == function}
    if not mine:
        return None
    for qualifier, allocation in mine.items():
        status = allocation.status()
        if status == "IN_PROGRESS" and version in allocation.still_warm:
            return True
        if status != "READY":
            continue
        if qualifier == version or (not qualifier.isdigit() and version in _routed(backend, function, qualifier)):
            return True
    return False


def _routed(backend: Any, function: str, alias: str) -> set[str]:
    found = backend.get_alias(alias, function)
    return {str(found.function_version), *((found.routing_config or {}).get("AdditionalVersionWeights") or {})}




def _arn(backend: Any, function: str, qualifier: str) -> str:
    return f"arn:aws:lambda:{backend.region_name}:{backend.account_id}:function:{function}:{qualifier}"


def _check_qualifier(backend: Any, function: str, qualifier: str | None) -> None:
    if not qualifier or qualifier == "$LATEST":
        raise _invalid("Provisioned Concurrency Configs cannot be applied to unpublished function versions.")
    try:
        if qualifier.isdigit():
            backend.get_function(function, qualifier)
        else:
            backend.get_alias(qualifier, function)
    except Exception:
        raise ProvisionedError(404, "ResourceNotFoundException",
                               f"Function not found: {_arn(backend, function, qualifier)}") from None


__all__ = ["ACTIONS", "URL_PATHS", "Allocation", "ProvisionedConcurrency", "ProvisionedError", "allocations", "warm"]
