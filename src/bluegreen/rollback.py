"""Return the alias to the old version and say why the deployment did not promote."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from bluegreen.aliases import point_alias, read_alias
from bluegreen.errors import AliasDrift
from bluegreen.models import GroupPlan, Outcome, Plan, Progress


def explain(error: dict[str, str] | None, progress: Progress | None, operator: Any = None) -> tuple[str, str]:
    """(Error, Cause) for the Fail state: the failed task's error, the operator's answer, else the verdict."""
    health = progress.health if progress else None
    evidence = f"at {health.weight}% traffic: {health.reason}" if health else "no health verdict"
    asked = progress is not None and progress.decision == "ask-operator"
    if asked and error and error.get("Error") == "States.Timeout":
        return "OperatorTimeout", f"no operator decided in time; {evidence}"
    if asked and error is None:
        answer = operator if isinstance(operator, dict) else {"decision": operator}
        said = f"'{answer.get('decision')}'" + (f" ({answer['reason']})" if answer.get("reason") else "")
        return "RolledBackByOperator", f"the operator answered {said}; {evidence}"
    if error:
        name = error.get("Error", "States.TaskFailed")
        cause = error.get("Cause", "")
        # A Lambda error's Cause is the runtime's JSON; people want its message.
        with contextlib.suppress(ValueError, AttributeError):
            cause = json.loads(cause).get("errorMessage", cause)
        return name, cause
    if health is not None:
        name = "HealthCheckFailed" if health.verdict == "fail" else "InsufficientEvidence"
        return name, evidence
    return "DeploymentFailed", "the deployment stopped before promotion"


def roll_back(plan: Plan | None, error: dict[str, str] | None, progress: Progress | None,
              operator: Any = None, *, release: str | None = None) -> Outcome:
    """The alias back 100% on the old version; with no plan (input rejected), only the explanation.

    ``release``: what the whole release rolled back, when the alias is one of several functions'."""
    name, cause = explain(error, progress, operator)
    if plan is None:
        return Outcome(outcome="rejected", function_name=None, alias=None, function_version=None,
                       error=name, cause=f"nothing was changed: {cause}")
    if plan.old_version is None:
        # The alias did not exist before this deployment: there is nothing to return to.
        state = read_alias(plan.function_name, plan.alias)
        version = state.function_version if state else None
    else:
        try:
            version = point_alias(plan.function_name, plan.alias, plan.old_version,
                                  ours={plan.old_version, plan.new_version}).function_version
        except AliasDrift as drift:
            # Someone else moved the alias: their change stands; say so rather than clobber it.
            return Outcome(outcome="left_alone", function_name=plan.function_name, alias=plan.alias,
                           function_version=None, error="AliasDrift", cause=f"{drift}; the release stopped: {cause}")
    return Outcome(outcome="rolled_back", function_name=plan.function_name, alias=plan.alias,
                   function_version=version, error=name,
                   cause=f"rolled back {release or f'to version {version}'}: {cause}")


def every_function(group: GroupPlan) -> str:
    """What a multi-function release's rollback does, for each function's Cause."""
    each = ", ".join(f"{t.function_name} to version {t.old_version}" if t.old_version
                     else f"{t.function_name} (a new alias, kept)" for t in group.targets)
    return f"every function of the release ({each})"
