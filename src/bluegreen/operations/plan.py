"""``bluegreen plan``: what an input would do (steps, times, checks, AWS actions), changing nothing."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from bluegreen.models import DeploymentInput
from bluegreen.release import plan_checks
from bluegreen.strategy import StepPlan

TRANSITION_PRICE = 0.025 / 1000  # Standard workflows, per state transition


@dataclass
class DryRun:
    request: DeploymentInput
    steps: StepPlan
    interval: int
    max_bake: int
    checks: int
    history_events_worst: int
    current_version: str | None = None
    actions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def transitions(self) -> int:
        """States entered if every step passes on time: start, publish, choice, per step a shift and per
        check a wait, a check and a decision, then promote and the end."""
        return 4 + len(self.steps.weights) + 3 * self.checks

    def as_json(self) -> dict[str, Any]:
        at = 0
        schedule = []
        for index, weight in enumerate(self.steps.weights):
            schedule.append({"step": index + 1, "weight": weight, "startsAtSeconds": at,
                             "bakeSeconds": self.steps.bake_seconds, "upToSeconds": self.max_bake,
                             "checks": math.ceil(self.steps.bake_seconds / self.interval)})
            at += self.steps.bake_seconds
        schedule.append({"step": len(self.steps.weights) + 1, "weight": 100, "startsAtSeconds": at})
        return {
            "functionName": self.request.function_name, "alias": self.request.alias,
            "currentVersion": self.current_version,
            "newVersion": self.request.version or "$LATEST, published at the start",
            "strategy": self.steps.name, "schedule": schedule,
            "durationSeconds": {"ifHealthy": at, "atMost": len(self.steps.weights) * self.max_bake},
            "checkIntervalSeconds": self.interval, "checks": self.checks,
            "stateTransitions": self.transitions, "costUsd": round(self.transitions * TRANSITION_PRICE, 6),
            "historyEventsWorstCase": self.history_events_worst,
            "health": self.request.health.model_dump(mode="json", by_alias=True),
            "approval": self.request.approval.model_dump(mode="json", by_alias=True) if self.request.approval else None,
            "awsActions": self.actions,
        }


def aws_actions(request: DeploymentInput, steps: StepPlan) -> dict[str, list[str]]:
    """The AWS actions each task would call for this input, in the order it calls them."""
    alarms = ["cloudwatch:DescribeAlarms"] if request.health.alarms else []
    publish = ["lambda:PublishVersion"] if request.version is None else []
    actions = {
        "validate and publish": ["dynamodb:PutItem (lock)", "lambda:GetFunctionConfiguration", "lambda:GetAlias",
                                 *alarms, *publish, "dynamodb:PutItem (history)", "events:PutEvents"],
        "each shift": ["dynamodb:GetItem (lock held?)", "lambda:GetAlias", "lambda:UpdateAlias", "events:PutEvents"],
        "each check": ["cloudwatch:GetMetricData", *alarms, "dynamodb:GetItem (promote now?)", "events:PutEvents"],
        "promote": ["dynamodb:GetItem (lock held?)", "lambda:GetAlias", "lambda:UpdateAlias or lambda:CreateAlias",
                    "dynamodb:DeleteItem (lock)", "dynamodb:UpdateItem (history)", "events:PutEvents"],
        "on failure: roll back": ["lambda:GetAlias", "lambda:UpdateAlias", "dynamodb:DeleteItem (lock)",
                                  "dynamodb:UpdateItem (history)", "events:PutEvents"],
    }
    if not steps.weights:
        del actions["each shift"], actions["each check"]
    if request.approval or request.health.on_inconclusive == "wait-for-operator":
        actions["asking an operator (the state machine)"] = ["events:PutEvents (with a task token)"]
    return actions


def dry_run(request: DeploymentInput, current_version: str | None = None) -> DryRun:
    steps = request.step_plan()
    cadence = plan_checks(request.health, steps)
    return DryRun(request, steps, cadence.interval, cadence.max_bake, cadence.planned, cadence.history_events,
                  current_version, aws_actions(request, steps))
