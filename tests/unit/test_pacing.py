"""Client-side pacing of Lambda control-plane calls: the spacing a Map iteration keeps, and the ASL
concurrency it is computed for."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from moto import mock_aws

from bluegreen import pacing, settings
from bluegreen.clients import lambda_client

ASL = Path(__file__).resolve().parents[2] / "statemachine" / "deployment.asl.json"


def test_every_map_state_runs_at_the_concurrency_the_pacing_assumes() -> None:
    states = json.loads(ASL.read_text())["States"]
    maps = {name: s["MaxConcurrency"] for name, s in states.items() if s["Type"] == "Map"}
    assert set(maps) == {"Shift every function", "Promote every function", "Roll back every function"}
    assert set(maps.values()) == {pacing.MAP_MAX_CONCURRENCY}


def test_concurrent_paced_blocks_stay_under_the_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.CONTROL_PLANE_CALLS_PER_SECOND, "20")  # no other thread runs yet
    calls: list[float] = []
    lock = threading.Lock()

    def iteration() -> None:
        # One Map iteration: two Lambda calls (read the alias, write it), paced for its share.
        with pacing.paced(pacing.MAP_MAX_CONCURRENCY):
            for _ in range(2):
                with lock:
                    calls.append(time.monotonic())
                pacing.on_lambda_call()

    def slot() -> None:
        for _ in range(4):  # iterations back to back in one of the Map's slots
            iteration()

    slots = [threading.Thread(target=slot) for _ in range(pacing.MAP_MAX_CONCURRENCY)]
    for t in slots:
        t.start()
    for t in slots:
        t.join()
    calls.sort()
    # 40 calls at 20 per second: never more than 20 within any one second.
    busiest = max(sum(1 for t in calls if start <= t < start + 1.0) for start in calls)
    assert len(calls) == 40 and busiest <= 20


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
