"""Local stand-in: a published version is not ready at once, as in AWS; moto makes every version Active.

- After PublishVersion a version is ``Pending`` while Lambda prepares it, and then ``Active`` or ``Failed``
  (with ``StateReasonCode`` and ``StateReason``). With SnapStart (``SnapStart.ApplyOn: PublishedVersions``)
  the snapshot is taken at publish, which takes minutes in AWS (``ready_seconds`` here); a test can make
  any function's versions slow, or fail to get ready.
  https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
  https://docs.aws.amazon.com/lambda/latest/dg/snapstart-activate.html
- A version that is not Active takes no calls: Invoke answers ``SnapStartNotReadyException`` (409) for a
  SnapStart function, ``ResourceConflictException`` (409) otherwise, and the call reaches none of the
  version's metrics. The traffic simulator counts the calls its alias routed to such a version. (An Invoke
  through a weighted alias is not refused here: which version it would run is drawn by the invoker.)
  https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html

The states change when Lambda is next asked anything (``refresh``), so a test follows them without a clock
of its own.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from moto.awslambda.exceptions import UnknownFunctionException
from moto.core.exceptions import JsonRESTError

SNAP_START_ON = {"ApplyOn": "PublishedVersions", "OptimizationStatus": "On"}


class SnapStartNotReady(JsonRESTError):
    code = 409

    def __init__(self) -> None:
        super().__init__("SnapStartNotReadyException", "Lambda is initializing your function. It will be ready to "
                                                       "invoke once your function state becomes ACTIVE.")


class VersionNotActive(JsonRESTError):
    code = 409

    def __init__(self, state: str) -> None:
        super().__init__("ResourceConflictException", "The operation cannot be performed at this time. "
                                                      f"The function is currently in the following state: {state}")


@dataclass
class VersionReadiness:
    # How long a new version of a SnapStart (or slow) function stays Pending.
    ready_seconds: float = 2.0
    snap_start: set[str] = field(default_factory=set)  # functions with SnapStart on published versions
    slow: set[str] = field(default_factory=set)  # other functions whose new versions start Pending
    # Functions whose new versions end Failed: (StateReasonCode, StateReason).
    failing: dict[str, tuple[str, str]] = field(default_factory=dict)
    refused: Counter[str] = field(default_factory=Counter)  # "name:version" -> calls refused while not Active
    _pending: dict[tuple[str, str], float] = field(default_factory=dict)  # -> when it ends
    _reasons: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    _seen: set[tuple[str, str]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configured(self, name: str, body: dict[str, Any]) -> None:
        """CreateFunction or UpdateFunctionConfiguration asked for (or against) SnapStart."""
        if "SnapStart" in body:
            if (body["SnapStart"] or {}).get("ApplyOn") == "PublishedVersions":
                self.snap_start.add(name)
            else:
                self.snap_start.discard(name)

    def published(self, backend: Any, name: str, version: str) -> None:
        """A version PublishVersion gave back: a new one of a slow function starts Pending."""
        with self._lock:
            if (name, version) in self._seen:
                return  # unchanged code gives back the existing version, whatever its state
            self._seen.add((name, version))
            if name in self.snap_start or name in self.slow or name in self.failing:
                self._pending[(name, version)] = time.monotonic() + self.ready_seconds
                self._reasons[(name, version)] = ("Creating", "Lambda is creating the function's snapshot"
                                                  if name in self.snap_start else "The function is being created")
                backend.get_function(name, version).state = "Pending"

    def refresh(self, backend: Any) -> None:
        """Versions whose preparation has ended by now: Active, or Failed with its reason."""
        now = time.monotonic()
        with self._lock:
            for key, until in list(self._pending.items()):
                if until > now:
                    continue
                del self._pending[key]
                name, version = key
                failure = self.failing.get(name)
                try:
                    backend.get_function(name, version).state = "Failed" if failure else "Active"
                except UnknownFunctionException:  # deleted meanwhile: nothing to change
                    continue
                if failure:
                    self._reasons[key] = failure
                else:
                    self._reasons.pop(key, None)

    def state(self, backend: Any, name: str, version: str) -> str:
        return str(backend.get_function(name, version).state)

    def describe(self, config: dict[str, Any]) -> None:
        """A version's configuration as Lambda reports it: its state's reason, SnapStart as set."""
        name, version = config.get("FunctionName", ""), config.get("Version", "")
        if name in self.snap_start:
            config["SnapStart"] = SNAP_START_ON if version != "$LATEST" else {**SNAP_START_ON,
                                                                              "OptimizationStatus": "Off"}
        reason = self._reasons.get((name, version))
        if reason is not None and config.get("State") != "Active":
            config["StateReasonCode"], config["StateReason"] = reason

    def check_invoke(self, backend: Any, name: str, version: str) -> None:
        """Invoke of a version that is not Active: refused, as Lambda does."""
        if version == "$LATEST":
            return
        state = self.state(backend, name, version)
        if state != "Active":
            with self._lock:
                self.refused[f"{name}:{version}"] += 1
            raise SnapStartNotReady() if name in self.snap_start else VersionNotActive(state)



__all__ = ["SnapStartNotReady", "VersionNotActive", "VersionReadiness"]
