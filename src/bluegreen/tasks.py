"""The inputs each Lambda task receives from the state machine (see statemachine/deployment.asl.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from bluegreen.models import GroupPlan, Plan, Progress, TargetPlan, _Model


class PublishTask(_Model):
    execution_id: str
    # The operator's execution input, validated separately so its errors name its own fields.
    input: dict[str, Any]


class ShiftTask(_Model):
    execution_id: str
    plan: Plan
    # The checks so far carry on into the next step.
    progress: Progress
    step_index: int = Field(ge=0)
    weight: int = Field(ge=1, le=99)


class CheckHealthTask(_Model):
    execution_id: str
    plan: Plan
    progress: Progress


def step_progress(progress: Progress | list[Progress]) -> Progress:
    """The release's progress; after a shift Map, from its iterations' (one per function, all at the
    same step): the step's clock starts when the last function shifted."""
    if isinstance(progress, Progress):
        return progress
    shifted = [p.shifted_at for p in progress if p.shifted_at]
    return progress[0].model_copy(update={"shifted_at": max(shifted, default=None)})


class GroupCheckHealthTask(_Model):
    """A check of every function of a multi-function release."""

    execution_id: str
    plan: GroupPlan
    # A list on the step's first check: each function's progress from the shift Map.
    progress: Progress | list[Progress] = Field(union_mode="left_to_right")


class _TargetTask(_Model):
    """One function's iteration of a Map state: the release's plan and the function to act on."""

    execution_id: str
    group: GroupPlan
    target: TargetPlan

    def plan(self) -> Plan:
        return self.group.plan_for(self.target)


class TargetShiftTask(_TargetTask):
    progress: Progress
    step_index: int = Field(ge=0)
    weight: int = Field(ge=1, le=99)

    def single(self) -> ShiftTask:
        return ShiftTask(execution_id=self.execution_id, plan=self.plan(), progress=self.progress,
                         step_index=self.step_index, weight=self.weight)


class FinalizeTask(_Model):
    execution_id: str
    plan: Plan
    # The checks that led here, for the history record.
    progress: Progress | None = None


class TargetFinalizeTask(_TargetTask):
    progress: Progress | None = None

    def single(self) -> FinalizeTask:
        return FinalizeTask(execution_id=self.execution_id, plan=self.plan(), progress=self.progress)


class DeploymentState(_Model):
    """The state machine's whole state when it decides to roll back."""

    model_config = ConfigDict(extra="ignore")

    # Absent when the input was rejected before a plan existed.
    plan: Plan | None = None
    # Set when a task failed (a Catch's ResultPath) ...
    error: dict[str, str] | None = None
    # ... else the last health check (``progress.health``) decided against the release.
    progress: Progress | None = None
    # ... or an operator answered the question of an inconclusive step (anything but "promote").
    # Whatever the operator sent: not trusted to be well formed (a bad answer still rolls back).
    operator: Any = None


class RollbackTask(_Model):
    execution_id: str
    state: DeploymentState


class GroupDeploymentState(_Model):
    """The state machine's whole state when a multi-function release rolls back (see DeploymentState)."""

    model_config = ConfigDict(extra="ignore")

    plan: GroupPlan
    error: dict[str, str] | None = None
    progress: Progress | list[Progress] | None = Field(default=None, union_mode="left_to_right")
    operator: Any = None


class TargetRollbackTask(_Model):
    execution_id: str
    target: TargetPlan
    state: GroupDeploymentState

    def single(self) -> RollbackTask:
        state = self.state
        return RollbackTask(execution_id=self.execution_id, state=DeploymentState(
            plan=state.plan.plan_for(self.target), error=state.error,
            progress=step_progress(state.progress) if state.progress is not None else None,
            operator=state.operator))


class StatusChangeDetail(_Model):
    model_config = ConfigDict(extra="ignore")

    execution_arn: str
    status: Literal["ABORTED", "TIMED_OUT", "FAILED", "SUCCEEDED", "RUNNING", "PENDING_REDRIVE"]


class ExecutionStatusChange(_Model):
    """EventBridge's "Step Functions Execution Status Change" event: what the abort guardian reacts to."""

    model_config = ConfigDict(extra="ignore", alias_generator=None, populate_by_name=True)

    detail: StatusChangeDetail
