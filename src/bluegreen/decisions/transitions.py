"""How many state transitions a release makes, counted on the state machine's definition itself
(statemachine/deployment.asl.json): the path of a release whose every step passes on time, walked state by
state, each Map's iteration once per function. A state added to the definition is counted without a change here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from bluegreen.contracts import state_names as names

ENDS = {"Succeed", "Fail"}


@dataclass(frozen=True)
class Course:
    """The on-time path: how many functions each Map iterates over, whether the release verifies first, and how
    many checks each traffic step makes (none: no traffic step, straight to the promotion)."""

    functions: int
    verify_first: bool
    checks_per_step: tuple[int, ...]


def _branches(course: Course) -> Iterator[tuple[str, str]]:
    """Each Choice the path meets, in order, with the state it goes to."""
    if course.verify_first:
        yield names.ANY_TRAFFIC, names.VERIFY_MAP
    yield names.ANY_TRAFFIC, names.SHIFT_MAP if course.checks_per_step else names.PROMOTE_MAP
    for index, checks in enumerate(course.checks_per_step):
        for _ in range(checks - 1):
            yield names.DECIDE, names.BAKE
        last = index == len(course.checks_per_step) - 1
        yield names.DECIDE, names.PROMOTE_MAP if last else names.SHIFT_MAP


def _targets(state: Mapping[str, Any]) -> set[str]:
    return {rule["Next"] for rule in state.get("Choices", [])} | ({state["Default"]} if "Default" in state else set())


def _iteration(map_state: Mapping[str, Any]) -> int:
    """States one Map iteration enters (its processor's path to its end; it holds no Choice)."""
    processor = map_state.get("ItemProcessor") or map_state["Iterator"]
    return on_time_transitions(processor, Course(functions=1, verify_first=False, checks_per_step=()), inner=True)


def on_time_transitions(definition: Mapping[str, Any], course: Course, inner: bool = False) -> int:
    """States entered from StartAt to the end (Promoted). Raises ValueError when the definition cannot take the
    path (a Choice that does not lead where the path goes, a state missing)."""
    states: Mapping[str, Any] = definition["States"]
    branches = iter(() if inner else _branches(course))
    name, entered = definition["StartAt"], 0
    for _ in range(100_000):  # a definition whose path never ends is refused, not walked forever
        if name not in states:
            raise ValueError(f"the definition has no state {name!r}")
        state = states[name]
        entered += 1 + (course.functions * _iteration(state) if state["Type"] == "Map" else 0)
        if state["Type"] in ENDS or state.get("End"):
            return entered
        if state["Type"] == "Choice":
            at, target = next(branches, (name, None))
            if at != name or target is None or target not in _targets(state):
                raise ValueError(f"the definition's {name!r} does not lead to {target!r} on a release's path")
            name = target
        else:
            name = state["Next"]
    raise ValueError("the definition's path does not end")
