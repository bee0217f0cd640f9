"""Return the alias to the old version and say why the deployment did not promote."""

from __future__ import annotations

import contextlib
import json

from bluegreen.aliases import point_alias, read_alias
from bluegreen.models import HealthReport, Outcome, Plan


def explain(error: dict[str, str] | None, health: HealthReport | None) -> tuple[str, str]:
    """(Error, Cause) for the Fail state: the failed task's error, else the health verdict."""
    if error:
        name = error.get("Error", "States.TaskFailed")
        cause = error.get("Cause", "")
        # A Lambda error's Cause is the runtime's JSON; people want its message.
        with contextlib.suppress(ValueError, AttributeError):
            cause = json.loads(cause).get("errorMessage", cause)
        return name, cause
    if health is not None:
        name = "HealthCheckFailed" if health.verdict == "fail" else "InsufficientEvidence"
        return name, f"at {health.weight}% traffic: {health.reason}"
    return "DeploymentFailed", "the deployment stopped before promotion"


def roll_back(plan: Plan | None, error: dict[str, str] | None, health: HealthReport | None) -> Outcome:
    """The alias back 100% on the old version; with no plan (input rejected), only the explanation."""
    name, cause = explain(error, health)
    if plan is None:
        return Outcome(outcome="rejected", function_name=None, alias=None, function_version=None,
                       error=name, cause=f"nothing was changed: {cause}")
    if plan.old_version is None:
        # The alias did not exist before this deployment: there is nothing to return to.
        state = read_alias(plan.function_name, plan.alias)
        version = state.function_version if state else None
    else:
        version = point_alias(plan.function_name, plan.alias, plan.old_version).function_version
    return Outcome(outcome="rolled_back", function_name=plan.function_name, alias=plan.alias,
                   function_version=version, error=name, cause=f"rolled back to version {version}: {cause}")
