"""``bluegreen plan``: what an input would do (steps, times, checks, AWS actions), changing nothing."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bluegreen.contracts.request import ReleaseRequest
from bluegreen.contracts.state import Plan, TargetPlan
from bluegreen.decisions.settled import first_check_seconds, metric_period
from bluegreen.decisions.strategy import StepPlan
from bluegreen.decisions.transitions import Course, on_time_transitions
from bluegreen.jobs.release import plan_checks

TRANSITION_PRICE = 0.025 / 1000  # Standard workflows, per state transition
DEFINITION = Path("statemachine") / "deployment.asl.json"


@dataclass
class DryRun:
    request: ReleaseRequest
    steps: StepPlan
    interval: int
    max_bake: int
    checks: int
    history_events_worst: int
    # "function:alias" -> the version the alias is on now (None: it does not exist); empty when offline.
    current: dict[str, str | None] = field(default_factory=dict)
    actions: dict[str, list[str]] = field(default_factory=dict)
    # How late the metrics are (the input's, or the stack's default).
    delay: int = 0
    # AWS/Lambda's resolution (the stack's: 60 s in AWS).
    resolution: int = 1
    first_check: int = 0
    # Each judged metric's (delay, resolution), AWS/Lambda's first (``decisions.cadence``).
    judged: tuple[tuple[int, int], ...] = ()

    # The state machine's definition the transitions are counted on (None: not found, so not counted).
    definition: Mapping[str, Any] | None = None

    @property
    def transitions(self) -> int | None:
        """States entered if every step passes on time, walked on the definition (``decisions.transitions``)."""
        if self.definition is None:
            return None
        steps = len(self.steps.weights)
        per_step = max(1, self.checks // steps) if steps else 0
        course = Course(functions=len(self.request.targets), checks_per_step=(per_step,) * steps,
                        verify_first=any(v["beforeTraffic"] or v["stages"] for v in self.verification()))
        return on_time_transitions(self.definition, course)

    def verification(self) -> list[dict[str, Any]]:
        """Each function's checks, where they run and their worst-case time (every check to its timeout)."""
        found = []
        for target in self.request.targets:
            verify = self.request.verify_of(target)
            timeout = verify.timeout_seconds if verify else 60

            def listed(checks: list[Any], where: str, timeout: int = timeout) -> list[dict[str, Any]]:
                return [{"where": where, "check": c.model_dump(mode="json", by_alias=True, exclude_none=True),
                         "worstCaseSeconds": timeout} for c in checks]

            stages = [listed(stage.verify, f"through {stage.alias}, moved 100% to the new version")
                      for stage in self.request.stages_of(target)]
            found.append({
                "functionName": target.function_name,
                "beforeTraffic": listed(verify.before_traffic if verify else [], "the new version by its qualifier"),
                "stages": [{"alias": stage.alias, "checks": checks}
                           for stage, checks in zip(self.request.stages_of(target), stages, strict=True)],
                "afterPromotion": listed(verify.after_promotion if verify else [], f"through {target.alias}"),
            })
        return found

    def _names(self) -> list[str]:
        return ["AWS/Lambda", *(m.name for m in self.request.health.metrics)]

    def reaction_seconds(self) -> dict[str, int]:
        """How soon after it starts a failure is seen, at most, per judged metric: a check interval, a period (never
        finer than the metric's resolution) and the metric's delay (AWS/Lambda's, and each application metric's)."""
        return {name: first_check_seconds(self.interval, delay, resolution)
                for name, (delay, resolution) in zip(self._names(), self.judged, strict=True)}

    def periods(self) -> dict[str, int]:
        """The period each judged metric is read in: the check interval's, never finer than its resolution."""
        return {name: metric_period(self.interval, resolution)
                for name, (_, resolution) in zip(self._names(), self.judged, strict=True)}

    def _targets(self) -> list[dict[str, Any]]:
        found = []
        for target in self.request.targets:
            key = f"{target.function_name}:{target.alias}"
            found.append({"functionName": target.function_name, "alias": target.alias,
                          "currentVersion": self.current.get(key),
                          "newVersion": target.version or "$LATEST, published at the start"})
        return found

    def as_json(self) -> dict[str, Any]:
        at = 0
        schedule = []
        for index, weight in enumerate(self.steps.weights):
            schedule.append({"step": index + 1, "weight": weight, "startsAtSeconds": at,
                             "bakeSeconds": self.steps.bake_seconds, "upToSeconds": self.max_bake,
                             "checks": math.ceil(self.steps.bake_seconds / self.interval)})
            at += self.steps.bake_seconds
        schedule.append({"step": len(self.steps.weights) + 1, "weight": 100, "startsAtSeconds": at})
        targets = self._targets()
        return {
            # A release of one function: its names at the top, as for every release under "targets".
            **(targets[0] if len(targets) == 1 else {}),
            "targets": targets,
            "strategy": self.steps.name, "schedule": schedule,
            "durationSeconds": {"ifHealthy": at, "atMost": len(self.steps.weights) * self.max_bake},
            "checkIntervalSeconds": self.interval, "checks": self.checks,
            "metricPeriodSeconds": self.periods(),
            "failureSeenWithinSeconds": self.reaction_seconds(),
            "stateTransitions": (transitions := self.transitions),
            "costUsd": None if transitions is None else round(transitions * TRANSITION_PRICE, 6),
            "historyEventsWorstCase": self.history_events_worst,
            "health": self.request.health.model_dump(mode="json", by_alias=True),
            "approval": self.request.approval.model_dump(mode="json", by_alias=True) if self.request.approval else None,
            "awsActions": self.actions,
            "verification": (verification := self.verification()),
            # Checks run one after another in each function's task; the functions' tasks run side by side.
            "verificationWorstCaseSeconds": max((sum(c["worstCaseSeconds"] for c in [
                *v["beforeTraffic"], *(c for s in v["stages"] for c in s["checks"]), *v["afterPromotion"]])
                for v in verification), default=0),
        }


def aws_actions(request: ReleaseRequest, steps: StepPlan) -> dict[str, list[str]]:
    """The AWS actions each task would call for this input, in the order it calls them (per function, where
    a task acts on each function)."""
    alarms = ["cloudwatch:DescribeAlarms"] if request.health.alarms else []
    publish = ["lambda:PublishVersion"] if any(t.version is None for t in request.targets) else []
    # Provisioned concurrency follows the release: looked for once per function; the rest only where there is some.
    follow = ["lambda:ListProvisionedConcurrencyConfigs (the alias's or its version's, if any)",
              "dynamodb:GetItem and dynamodb:UpdateItem (the lease says what the release puts, before it does), "
              "lambda:PutProvisionedConcurrencyConfig, then lambda:GetProvisionedConcurrencyConfig every 1-5 s until "
              "READY (where there is some: Lambda allocates in a minute or two, up to readyTimeoutSeconds; "
              "lambda:DeleteProvisionedConcurrencyConfig if the release is refused)"] \
        if request.follow_provisioned_concurrency else []
    handed_over = ["lambda:GetProvisionedConcurrencyConfig and lambda:DeleteProvisionedConcurrencyConfig (where there "
                   "is provisioned concurrency: the old version's, or the release's own once the alias's is READY on "
                   "the new version, up to 180 s), dynamodb:GetItem (the lease says what the release put), "
                   "lambda:PutProvisionedConcurrencyConfig (the old version's back, if the release was stopped "
                   "meanwhile)"] if request.follow_provisioned_concurrency else []
    given_back = ["dynamodb:GetItem (the lease says what the release put), lambda:GetAlias, "
                  "lambda:DeleteProvisionedConcurrencyConfig (the release's own, where there is provisioned "
                  "concurrency), lambda:GetProvisionedConcurrencyConfig and, if a promotion had moved it, "
                  "lambda:PutProvisionedConcurrencyConfig (the old version's back)"] \
        if request.follow_provisioned_concurrency else []
    actions = {
        "validate and publish": ["dynamodb:PutItem (lease)", "lambda:GetFunctionConfiguration", "lambda:GetAlias",
                                 *alarms, *(["cloudwatch:GetMetricData (the aliases' last hour)"] if steps.weights
                                            else []),
                                 *(["cloudwatch:ListMetrics (each application metric exists)"]
                                   if request.health.metrics else []),
                                 *publish, "lambda:GetFunctionConfiguration (every 5 s while a new version is Pending, "
                                 "e.g. a SnapStart snapshot: up to readyTimeoutSeconds)", *follow,
                                 "dynamodb:PutItem (history)", "events:PutEvents"],
        "each shift": ["dynamodb:GetItem (lease held?)", "lambda:GetAlias", "dynamodb:UpdateItem (write announced)",
                       "lambda:UpdateAlias", "dynamodb:UpdateItem (write recorded)", "events:PutEvents"],
        "each check": ["lambda:GetAlias (where the release left it?)", "dynamodb:GetItem (promote now?)",
                       "cloudwatch:GetMetricData", *alarms, "events:PutEvents"],
        "promote": ["dynamodb:GetItem (lease held?)", "lambda:GetAlias", "dynamodb:UpdateItem (write announced)",
                    "lambda:UpdateAlias or lambda:CreateAlias", "dynamodb:UpdateItem (write recorded)", *handed_over,
                    "dynamodb:UpdateItem (lease ended)", "dynamodb:UpdateItem (history)", "events:PutEvents"],
        "on failure: roll back": ["dynamodb:GetItem (lease held?)", "lambda:GetAlias",
                                  "dynamodb:UpdateItem (write announced)", "lambda:UpdateAlias",
                                  "dynamodb:UpdateItem (write recorded)", *given_back,
                                  "dynamodb:UpdateItem (lease ended)",
                                  "dynamodb:UpdateItem (history)", "events:PutEvents"],
    }
    if any(request.verify_of(t) or request.stages_of(t) for t in request.targets):
        actions["verify (before traffic, after promotion)"] = [
            "lambda:InvokeFunction (the version, a stage alias, or a hook)",
            "dynamodb:GetItem and dynamodb:UpdateItem (each stage's lease)",
            "lambda:GetAlias and lambda:UpdateAlias (each stage)", "dynamodb:UpdateItem (history)", "events:PutEvents"]
    if not steps.weights:
        del actions["each shift"], actions["each check"]
    if request.approval or request.health.on_inconclusive == "wait-for-operator":
        actions["asking an operator (the state machine)"] = ["events:PutEvents (with a task token)"]
    return actions


def dry_run(request: ReleaseRequest, current: dict[str, str | None] | None = None,
            definition: Mapping[str, Any] | None = None) -> DryRun:
    steps = request.step_plan()
    cadence = plan_checks(request.health, steps, functions=len(request.targets))
    return DryRun(request, steps, cadence.interval, cadence.max_bake, cadence.planned, cadence.history_events,
                  dict(current or {}), aws_actions(request, steps), cadence.delay, resolution=cadence.resolution,
                  first_check=cadence.first_check, judged=cadence.judged, definition=definition)


def shipped_definition() -> dict[str, Any] | None:
    """The definition this CLI ships with (statemachine/ in its checkout: $BLUEGREEN_PROJECT_DIR, the working
    directory, or the package's own); None when the CLI was installed without it."""
    for root in (os.environ.get("BLUEGREEN_PROJECT_DIR"), os.getcwd(), str(Path(__file__).resolve().parents[3])):
        path = Path(root) / DEFINITION if root else None
        if path is not None and path.is_file():
            loaded: dict[str, Any] = json.loads(path.read_text())
            return loaded
    return None


def simulated(run: DryRun) -> Plan:
    """The plan the release would carry, for simulated releases of its first function."""
    target = TargetPlan(function_name="simulated", alias="live", old_version="1", new_version="2", action="shift")
    return Plan(targets=[target], action="shift", strategy=run.steps.name, weights=list(run.steps.weights),
                step_count=len(run.steps.weights), bake_seconds=run.steps.bake_seconds, health=run.request.health,
                check_interval_seconds=run.interval, max_bake_seconds=run.max_bake, checks_planned=run.checks,
                metric_delay_seconds=run.delay, first_check_seconds=run.first_check,
                standard_resolution_seconds=run.resolution)
