"""Client-side pacing of Lambda control-plane calls, so that a release of many functions stays under
the account's rate limit (about 15 requests per second per region, shared with everything else
that manages Lambda) instead of being throttled into retries.

A release allows itself ``rate`` calls per second (its template parameter). A Map state runs
``share`` iterations at once (its MaxConcurrency, or fewer when it has fewer functions), so each
iteration keeps to ``rate / share``:

- When every function has its own slot (no more functions than MaxConcurrency), an iteration makes
  at most ``rate / share`` calls in any one second: a release of one function, whose tasks make two
  or three calls each, never waits.
- When iterations queue for the slots, the next one in a slot may start the moment the previous one
  made its last call, so each call waits ``share / rate`` after the previous one, the first counting
  from the iteration's start.
- The publish task (one block, ``share`` 1) hands over to the first Map only once its calls of the
  last second leave room for that Map's first calls (``settle``).

Throttling that gets through anyway is retried (the SDK's standard mode, then the task's Retry).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bluegreen.aws import settings

# MaxConcurrency of the state machine's Map states (statemachine/deployment.asl.json).
MAP_MAX_CONCURRENCY = 5
# Lambda control-plane calls one Map iteration makes at most (shift, promote, roll back: read, write).
CALLS_PER_ITERATION = 2

_current = threading.local()


def rate() -> float:
    """Lambda control-plane calls per second the orchestrator allows itself (its template parameter)."""
    return settings.current().control_plane_calls_per_second


def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


class Pacer:
    def __init__(self, calls_per_second: float, *, evenly: bool) -> None:
        self.calls_per_second = calls_per_second
        self.evenly = evenly
        self.started = time.monotonic()
        self.recent: deque[float] = deque()  # this block's calls of the last second

    @property
    def per_window(self) -> int:
        return max(1, int(self.calls_per_second))

    def _forget_before(self, moment: float) -> None:
        while self.recent and self.recent[0] <= moment:
            self.recent.popleft()

    def before_call(self) -> None:
        if self.evenly:
            _sleep_until((self.recent[-1] if self.recent else self.started) + 1 / self.calls_per_second)
        else:
            self._forget_before(time.monotonic() - 1.0)
            if len(self.recent) >= self.per_window:
                _sleep_until(self.recent[-self.per_window] + 1.0)
        now = time.monotonic()
        self._forget_before(now - 1.0)
        self.recent.append(now)

    def settle(self, room: int) -> None:
        """Return once this block's calls in the last second leave ``room`` calls under the rate."""
        keep = max(0, int(rate()) - room)
        self._forget_before(time.monotonic() - 1.0)
        if len(self.recent) > keep:
            _sleep_until(self.recent[len(self.recent) - keep - 1] + 1.0)


def map_share(items: int) -> int:
    """How many iterations of a Map over ``items`` run at once."""
    return max(1, min(items, MAP_MAX_CONCURRENCY))


def first_calls_of_a_map(items: int) -> int:
    """Calls a Map over ``items`` functions may make in its first second."""
    return map_share(items) * CALLS_PER_ITERATION if items <= MAP_MAX_CONCURRENCY else int(rate())


@contextmanager
def paced(share: int = 1, *, queued: bool = False) -> Iterator[Pacer]:
    """Lambda calls in the block paced at ``rate() / share`` per second (``share``: peers running at once;
    ``queued``: this block may follow another in its Map slot without a pause)."""
    pacer = Pacer(rate() / share, evenly=queued)
    previous = getattr(_current, "pacer", None)
    _current.pacer = pacer
    try:
        yield pacer
    finally:
        _current.pacer = previous


@contextmanager
def paced_iteration(items: int) -> Iterator[Pacer]:
    """One iteration of a Map over ``items`` functions."""
    with paced(map_share(items), queued=items > MAP_MAX_CONCURRENCY) as pacer:
        yield pacer


def on_lambda_call(**_: Any) -> None:
    """botocore ``before-call`` hook of the Lambda client: waits for this thread's pacer, if any."""
    pacer: Pacer | None = getattr(_current, "pacer", None)
    if pacer is not None:
        pacer.before_call()
