"""Every sample input in events/ runs as shipped against the embedded run (`bluegreen deploy FILE --local`):
nothing it names is missing there, and the release gets to its first traffic step (or its end)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bluegreen.contracts import state_names
from bluegreen.local import execution
from bluegreen.local.sample_world import world_for

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "events").glob("*.json"))


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_the_sample_runs_as_shipped(path: Path) -> None:
    request = json.loads(path.read_text())
    with world_for(request) as stack:
        arn = execution.start(stack, request)
        events = execution.reached(arn, state_names.STEP_BEGINS, timeout=60) if "AllAtOnce" not in path.read_text() \
            else execution.wait(arn, timeout=60).events
        entered = [e["stateEnteredEventDetails"]["name"] for e in events if "stateEnteredEventDetails" in e]
        assert state_names.REJECTED not in entered, execution.history(arn)[-1]
        assert state_names.ROLLED_BACK not in entered, execution.history(arn)[-1]
        assert state_names.SHIFT in entered or state_names.PROMOTE in entered
