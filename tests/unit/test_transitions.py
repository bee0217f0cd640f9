"""`plan`'s state transitions are counted on the definition itself, not on a model of it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bluegreen.contracts import state_names as names
from bluegreen.decisions.transitions import Course, on_time_transitions

DEFINITION: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "statemachine" / "deployment.asl.json").read_text())


@pytest.mark.parametrize(("course", "expected"), [
    # publish and its choice; a step (a Map and its task) and five checks (wait, check, decision); the
    # promotion Map and its task; the end.
    (Course(1, False, (5,)), 2 + 2 + 5 * 3 + 2 + 1),
    # verified first: the verify Map, its task and the choice again.
    (Course(1, True, (5,)), 2 + 3 + 2 + 5 * 3 + 2 + 1),
    # two functions: each Map runs a task per function.
    (Course(2, False, (5,)), 2 + 3 + 5 * 3 + 3 + 1),
    (Course(1, False, (10,) * 9), 2 + 9 * 2 + 3 * 90 + 2 + 1),
    # no traffic step: straight to the promotion.
    (Course(3, False, ()), 2 + 4 + 1),
])
def test_the_path_of_a_release_on_time_is_counted_state_by_state(course: Course, expected: int) -> None:
    assert on_time_transitions(DEFINITION, course) == expected


def test_a_state_added_to_the_definition_is_counted_without_a_change_in_the_code() -> None:
    changed = copy.deepcopy(DEFINITION)
    changed["States"]["Record the check"] = {"Type": "Pass", "Next": names.DECIDE}
    changed["States"][names.CHECK]["Next"] = "Record the check"
    course = Course(1, False, (2, 3))
    assert on_time_transitions(changed, course) == on_time_transitions(DEFINITION, course) + 5


def test_a_definition_that_cannot_take_the_path_is_refused() -> None:
    changed = copy.deepcopy(DEFINITION)
    decide = changed["States"][names.DECIDE]
    decide["Choices"] = [c for c in decide["Choices"] if c["Next"] != names.PROMOTE_MAP]
    with pytest.raises(ValueError, match="does not lead to 'Promote the new version'"):
        on_time_transitions(changed, Course(1, False, (1,)))
