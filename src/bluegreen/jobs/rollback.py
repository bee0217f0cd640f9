"""Return one function's alias to its old version and say why the release did not promote."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from bluegreen.aws import provisioned
from bluegreen.aws.aliases import read_alias, whole, write_owned
from bluegreen.aws.pacing import paced_iteration
from bluegreen.contracts.payload import compact
from bluegreen.contracts.state import Outcome, Plan, Progress, TargetPlan
from bluegreen.contracts.tasks import RollbackTask, step_progress
from bluegreen.errors import AliasDrift
from bluegreen.jobs import lifecycle
from bluegreen.jobs.verification import restore_stages

logger = logging.getLogger(__name__)


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
        return own_name(name, cause)
    if health is not None:
        if health.verdict == "fail":
            return "HealthCheckFailed", evidence
        return "InsufficientEvidence", evidence + (f"; {health.needs}" if health.needs else "")
    return "DeploymentFailed", "the deployment stopped before promotion"


# Step Functions' own errors, as the Fail state may raise them: the States Language reserves the "States." prefix
# (a Fail state raising one fails the execution with States.Runtime instead), so the Cause keeps the original.
TIMED_OUT = ("TaskTimedOut", "a task ran past its TimeoutSeconds, its retries included")
STATES_ERRORS = {"States.Timeout": TIMED_OUT, "States.HeartbeatTimeout": TIMED_OUT}


def own_name(name: str, cause: str) -> tuple[str, str]:
    """(Error, Cause) a Fail state can raise: Step Functions' errors renamed, their name kept in the Cause."""
    if not name.startswith("States."):
        return name, cause
    own, meaning = STATES_ERRORS.get(name, ("TaskFailed", "a task failed after its retries"))
    return own, f"{name} ({meaning})" + (f": {cause}" if cause else "")


# Functions a rollback's cause names one by one (the rest are counted).
NAMED_IN_CAUSE = 5


def every_function(plan: Plan) -> str:
    """What the rollback of a release of several functions does, for each function's Cause."""
    each = ", ".join(f"{t.function_name} to version {t.old_version}" if t.old_version
                     else f"{t.function_name} (a new alias, kept)" for t in plan.targets[:NAMED_IN_CAUSE])
    more = len(plan.targets) - NAMED_IN_CAUSE
    return f"every function of the release ({each}{f' and {more} more' if more > 0 else ''})"


def roll_back(plan: Plan, target: TargetPlan, execution_arn: str, error: dict[str, str] | None,
              progress: Progress | None, *, operator: Any = None) -> Outcome:
    """``target``'s alias, and its stage aliases, back 100% on the versions they had, with the reason the
    release stopped; an alias in a state this release did not write (a person's change) is left as it is."""
    name, cause = explain(error, progress, operator)
    # Stage aliases first: they go back whatever happened to the main one.
    stages = restore_stages(target, execution_arn)
    back = f" ({'; '.join(stages)})" if stages else ""
    if target.old_version is None:
        # The alias did not exist before this release: there is nothing to return to.
        state = read_alias(target.function_name, target.alias)
        version = state.function_version if state else None
    else:
        try:
            version = write_owned(target.function_name, target.alias, execution_arn, whole(target.old_version),
                                  start=whole(target.old_version)).function_version
        except AliasDrift as drift:
            # Someone else moved the alias: their change stands; say so rather than clobber it.
            provisioned.settle_unpromoted(target, provisioned.given(target))
            return Outcome(outcome="left_alone", function_name=target.function_name, alias=target.alias,
                           function_version=None, error="AliasDrift",
                           cause=f"{drift}{back}; the release stopped: {cause}")
    # The alias is back on the old version (or was new): nothing keeps the new version's allocation.
    provisioned.after_rollback(target, provisioned.given(target))
    undone = every_function(plan) if plan.several else f"to version {version}"
    return Outcome(outcome="rolled_back", function_name=target.function_name, alias=target.alias,
                   function_version=version, error=name, cause=f"rolled back {undone}{back}: {cause}")


def run(task: RollbackTask) -> Outcome:
    """The rollback task: one function of the release put back and its release ended; with no function
    (the input was rejected before a plan existed), only the explanation."""
    state = task.state
    progress = step_progress(state.plan, state.progress) if state.plan and state.progress else state.progress
    if state.plan is None or task.target is None:
        name, cause = explain(state.error, progress, state.operator)
        return Outcome(outcome="rejected", function_name=None, alias=None, function_version=None,
                       error=name, cause=f"nothing was changed: {cause}")
    with paced_iteration(len(state.plan.targets)):
        outcome = roll_back(state.plan, task.target, task.execution_arn, state.error, progress,
                            operator=state.operator)
    logger.warning("rolled back", extra={"functionName": task.target.function_name, "error": outcome.error,
                                         "cause": outcome.cause})
    for problem in lifecycle.ended(state.plan, task.target, task.execution_arn, outcome, progress):
        logger.warning(problem)
    # The Fail state quotes the first function's cause; the history and the events have every one whole.
    return compact(outcome, keep_cause=task.target == state.plan.targets[0])
