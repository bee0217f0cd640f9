"""Client-side pacing of Lambda control-plane calls: the spacing a Map iteration keeps, and the ASL
concurrency it is computed for."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from moto import mock_aws

from bluegreen.aws import pacing, settings
from bluegreen.aws.clients import lambda_client
from bluegreen.contracts import state_names

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "deployment.asl.json"


def test_every_map_state_runs_at_the_concurrency_the_pacing_assumes() -> None:
    definition = json.loads(ASL.read_text())["States"]
    maps = {name: s["MaxConcurrency"] for name, s in definition.items() if s["Type"] == "Map"}
    assert set(maps) == {state_names.VERIFY_MAP, state_names.SHIFT_MAP, state_names.PROMOTE_MAP,
                         state_names.ROLLBACK_MAP}
    assert set(maps.values()) == {pacing.MAP_MAX_CONCURRENCY}


class Calls:
    """When each Lambda call went out (after its pacer's wait), from any thread."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._lock = threading.Lock()

    def call(self) -> None:
        pacing.on_lambda_call()
        with self._lock:
            self.times.append(time.monotonic())

    def in_threads(self, work: Callable[[], None], threads: int) -> None:
        running = [threading.Thread(target=work) for _ in range(threads)]
        for thread in running:
            thread.start()
        for thread in running:
            thread.join()

    def busiest_second(self) -> int:
        ordered = sorted(self.times)
        return max(sum(1 for t in ordered if start <= t < start + 1.0) for start in ordered)


def test_concurrent_paced_blocks_stay_under_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.CONTROL_PLANE_CALLS_PER_SECOND, "20")  # no other thread runs yet
    calls = Calls()

    def slot() -> None:
        for _ in range(4):  # iterations of a Map over 20 functions, back to back in one of its slots
            with pacing.paced_iteration(20):
                for _ in range(pacing.CALLS_PER_ITERATION):  # read the alias, write it
                    calls.call()

    calls.in_threads(slot, pacing.MAP_MAX_CONCURRENCY)
    # 40 calls at 20 per second: never more than 20 within any one second.
    assert len(calls.times) == 40 and calls.busiest_second() <= 20


def test_the_lambda_client_waits_for_the_threads_pacer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    seen: list[int] = []
    monkeypatch.setattr(pacing.Pacer, "before_call", lambda self: seen.append(1))
    with mock_aws():
        lambda_client.cache_clear()
        try:
            with pacing.paced():
                lambda_client().list_functions()
            lambda_client().list_functions()  # outside a paced block: not paced
        finally:
            lambda_client.cache_clear()
    assert seen == [1]


def test_a_release_of_one_function_is_never_held_back(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.CONTROL_PLANE_CALLS_PER_SECOND, "10")  # no other thread runs yet
    # Every wait the pacer asks for, in seconds from when it asks (a slow machine only makes them shorter).
    waits: list[float] = []
    monkeypatch.setattr(pacing, "_sleep_until", lambda moment: waits.append(moment - time.monotonic()))
    # The publish task (two configurations, the alias, the publish), then the shift of its one function.
    with pacing.paced() as publish:
        for _ in range(4):
            pacing.on_lambda_call()
        publish.settle(pacing.first_calls_of_a_map(1))
    with pacing.paced_iteration(1):
        for _ in range(pacing.CALLS_PER_ITERATION):
            pacing.on_lambda_call()
    assert all(wait <= 0 for wait in waits), waits


def test_functions_with_a_slot_each_stay_under_the_rate_after_a_busy_publish(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.CONTROL_PLANE_CALLS_PER_SECOND, "10")  # no other thread runs yet
    calls = Calls()
    # A publish of five functions (20 calls), then the first Map over them, all five slots at once.
    with pacing.paced() as publish:
        for _ in range(20):
            calls.call()
        publish.settle(pacing.first_calls_of_a_map(5))

    def iteration() -> None:
        with pacing.paced_iteration(5):
            for _ in range(pacing.CALLS_PER_ITERATION):
                calls.call()

    calls.in_threads(iteration, 5)
    assert len(calls.times) == 30 and calls.busiest_second() <= 10
