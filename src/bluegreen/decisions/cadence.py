"""How often a release's steps are checked, how long a step may bake, and whether its worst case fits Step
Functions' execution history."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bluegreen.contracts.health_config import AppMetric, HealthConfig
from bluegreen.decisions.settled import first_check_seconds
from bluegreen.decisions.strategy import StepPlan
from bluegreen.errors import InvalidInput

# Step Functions' hard limit on a Standard execution's history, and the share a release may plan to use in its
# worst case (every step extended to maxBakeSeconds, then rolled back): the rest is margin for retries (a failed
# attempt adds 3 to 5 events) and operator waits.
HISTORY_EVENTS_LIMIT = 25_000
HISTORY_EVENTS_BUDGET = 20_000
# Events per state visit in the definition: a check is Wait (2) + Lambda task (5) + Choice (2);
# a Map state (shift, verify, promote, roll back) is about 4 events, and 7 per function; start,
# publish and the end take about 20.
HISTORY_EVENTS_PER_CHECK = 9
HISTORY_EVENTS_FIXED = 20
HISTORY_EVENTS_PER_MAP = 4
HISTORY_EVENTS_PER_MAP_ITEM = 7


@dataclass(frozen=True)
class Cadence:
    interval: int  # seconds between checks
    max_bake: int  # longest a step bakes while evidence is inconclusive
    planned: int  # checks if every step passes when its bake ends
    history_events: int  # worst case: every step baked to max_bake
    delay: int = 0  # how late the metrics are: each step waits this much more for its data to settle
    # How late the soonest judged metric is (an application metric may be readable sooner than AWS/Lambda's):
    # a step's first check comes once it has settled, and may fail the step on it.
    soonest: int = 0
    # The resolution of AWS/Lambda's and standard-resolution metrics (the stack's; see ``settled.metric_period``).
    resolution: int = 1
    # When a step's first check comes: once the soonest judged metric has settled over an interval.
    first_check: int = 0
    # Each judged metric's (delay, resolution): AWS/Lambda's first, then health.metrics' in order.
    judged: tuple[tuple[int, int], ...] = ()


def cadence_of(health: HealthConfig, steps: StepPlan, functions: int, default_delay: int,
               standard_resolution: int = 1) -> Cadence:
    """How often the steps are checked, and whether the worst case fits the execution history."""
    bake = steps.bake_seconds
    max_bake = health.max_bake_seconds if health.max_bake_seconds is not None else 2 * bake
    if steps.weights and max_bake < bake:
        raise InvalidInput(f"health.maxBakeSeconds: {max_bake} is shorter than the step's bake of {bake} s")
    interval = min(health.check_interval_seconds, bake) if bake else health.check_interval_seconds
    planned = len(steps.weights) * math.ceil(bake / interval) if bake else 0
    worst = len(steps.weights) * math.ceil(max_bake / interval) if bake else 0
    per_map = HISTORY_EVENTS_PER_MAP + functions * HISTORY_EVENTS_PER_MAP_ITEM
    # A Map per step, then verify (at most once), promote and roll back.
    maps = len(steps.weights) + 3
    events = HISTORY_EVENTS_FIXED + maps * per_map + worst * HISTORY_EVENTS_PER_CHECK
    if events > HISTORY_EVENTS_BUDGET:
        raise InvalidInput(
            f"health.checkIntervalSeconds: {len(steps.weights)} step(s) of {functions} function(s) checked every "
            f"{interval} s for up to {max_bake} s each would take up to {events} execution history events; the "
            f"budget is {HISTORY_EVENTS_BUDGET} (Step Functions stops an execution at {HISTORY_EVENTS_LIMIT}): "
            "check less often, bake shorter, or release fewer functions at once"
        )
    delay = default_delay if health.metric_delay_seconds is None else health.metric_delay_seconds
    own = [m.metric_delay_seconds for m in health.metrics if m.metric_delay_seconds is not None]
    # A step passes once every metric it reads has settled over its bake: the latest of them sets that pace (and is
    # the delay of an application metric that names none, as the check reads it).
    latest = max([delay, *own])
    judged = ((delay, standard_resolution), *((latest if m.metric_delay_seconds is None else m.metric_delay_seconds,
                                               resolution_of(m, standard_resolution)) for m in health.metrics))
    first = min(first_check_seconds(interval, d, r) for d, r in judged)
    return Cadence(interval, max_bake, planned, events, latest, min([delay, *own]), standard_resolution, first,
                   judged)


def resolution_of(metric: AppMetric, standard_resolution: int) -> int:
    """The finest period an application metric can be read in: a second when stored at high resolution, else the
    standard resolution (whole minutes in AWS)."""
    return 1 if metric.storage_resolution == 1 else standard_resolution
