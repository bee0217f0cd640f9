"""What each Lambda task receives from the state machine (see statemachine/deployment.asl.json).

Every task but publish works on the plan publish made; shift, promote and roll back act on one of
its targets at a time (one iteration of a Map state over ``plan.targets``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field

from bluegreen.contracts.json_model import JsonModel
from bluegreen.contracts.state import Plan, Progress, TargetPlan


class PublishTask(JsonModel):
    execution_arn: str
    # When the execution started ($$.Execution.StartTime): readyTimeoutSeconds counts from it across the
    # task's attempts.
    started_at: datetime | None = None
    # The operator's execution input, validated separately so its errors name its own fields.
    input: dict[str, Any]


class TargetTask(JsonModel):
    """One function's iteration of a Map state: the release's plan and the function to act on."""

    execution_arn: str
    plan: Plan
    target: TargetPlan


class VerifyTask(TargetTask):
    """One function's checks before traffic (by its version, and through its stage aliases)."""


class ShiftTask(JsonModel):
    """One function's traffic step (an iteration of the shift Map): only what the step needs, so that the Map's
    inputs stay small however many functions and checks the release has."""

    execution_arn: str
    target: TargetPlan
    step_index: int = Field(ge=0)
    weight: int = Field(ge=1, le=99)
    # The weight the release last wrote (0: the old version alone), the steps, and the Map's items (pacing).
    previous_weight: int = Field(ge=0, le=99)
    step_count: int = Field(ge=1)
    functions: int = Field(ge=1)


def step_progress(plan: Plan, progress: Progress) -> Progress:
    """The release's progress, once in the step its shift Map has just made (if it has: its results are
    there): the step's clock starts when the last function shifted."""
    if progress.shifted is None:
        return progress
    index = progress.next_step_index
    shifted = [s.shifted_at for s in progress.shifted]
    return progress.model_copy(update={
        "step_index": index, "weight": plan.weights[index], "next_step_index": index + 1,
        "is_last_step": index + 1 >= plan.step_count, "shifted_at": max(shifted, default=None),
        "wait_seconds": min(plan.check_interval_seconds, plan.bake_seconds), "shifted": None})


class CheckTask(JsonModel):
    """A check of every function of the release."""

    execution_arn: str
    plan: Plan
    # On the step's first check, with the shift Map's results (``shifted``).
    progress: Progress


class PromoteTask(TargetTask):
    # The checks that led here, for the history record.
    progress: Progress | None = None


class ReleaseState(JsonModel):
    """The state machine's whole state when it decides to roll back (or to explain a rejection)."""

    model_config = ConfigDict(extra="ignore")

    # Absent when the input was rejected before a plan existed.
    plan: Plan | None = None
    # Set when a task failed (a Catch's ResultPath) ...
    error: dict[str, str] | None = None
    # ... else the last health check (``progress.health``) decided against the release.
    progress: Progress | None = None
    # ... or an operator answered the question (anything but "approve"): not trusted to be well formed.
    operator: Any = None


class RollbackTask(JsonModel):
    execution_arn: str
    # The function to put back (one iteration of the rollback Map); none when explaining a rejection.
    target: TargetPlan | None = None
    state: ReleaseState


class StatusChangeDetail(JsonModel):
    model_config = ConfigDict(extra="ignore")

    execution_arn: str
    status: Literal["ABORTED", "TIMED_OUT", "FAILED", "SUCCEEDED", "RUNNING", "PENDING_REDRIVE"]


class ExecutionStatusChange(JsonModel):
    """EventBridge's "Step Functions Execution Status Change" event: what the abort guardian reacts to."""

    model_config = ConfigDict(extra="ignore", alias_generator=None, populate_by_name=True)

    detail: StatusChangeDetail
