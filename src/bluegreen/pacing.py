"""Client-side pacing of Lambda control-plane calls, so that a release of many functions stays under
the account's rate limit (about 15 requests per second per region, shared with everything else
that manages Lambda) instead of being throttled into retries.

A pacer makes each call in its block (on this thread) wait until ``seconds_per_call`` after the
previous one, the first one counting from the block's start. So calls in one Map slot stay that far
apart from one iteration to the next, and a Map that starts right after another task (publish, a
previous step) does not add a burst on top of that task's last calls. A Map iteration paced at
``MAP_MAX_CONCURRENCY / rate`` makes at most ``rate / MAP_MAX_CONCURRENCY`` calls a second, and the
Map's bounded concurrency keeps the whole release at ``rate``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bluegreen import settings

# MaxConcurrency of the state machine's Map states (statemachine/deployment.asl.json).
MAP_MAX_CONCURRENCY = 5

_current = threading.local()


def rate() -> float:
    """Lambda control-plane calls per second the orchestrator allows itself (its template parameter)."""
    return settings.current().control_plane_calls_per_second


def _sleep_until(moment: float) -> None:
    delay = moment - time.monotonic()
    if delay > 0:
        time.sleep(delay)


class Pacer:
    def __init__(self, seconds_per_call: float) -> None:
        self.seconds_per_call = seconds_per_call
        self.started = time.monotonic()
        self.last_call: float | None = None

    def before_call(self) -> None:
        _sleep_until((self.last_call or self.started) + self.seconds_per_call)
        self.last_call = time.monotonic()

    def settle(self, seconds: float) -> None:
        """Return no sooner than ``seconds`` after the last call: a Map starting right after this task
        (whose slots all make their first call together) then does not land on this task's last calls."""
        if self.last_call is not None:
            _sleep_until(self.last_call + seconds)


@contextmanager
def paced(share: int = 1) -> Iterator[Pacer]:
    """Lambda calls in the block paced at ``rate() / share`` per second (``share``: concurrent peers)."""
    pacer = Pacer(share / rate())
    previous = getattr(_current, "pacer", None)
    _current.pacer = pacer
    try:
        yield pacer
    finally:
        _current.pacer = previous


def on_lambda_call(**_: Any) -> None:
    """botocore ``before-call`` hook of the Lambda client: waits for this thread's pacer, if any."""
    pacer: Pacer | None = getattr(_current, "pacer", None)
    if pacer is not None:
        pacer.before_call()
