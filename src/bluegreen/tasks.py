"""The inputs each Lambda task receives from the state machine (see statemachine/deployment.asl.json)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from bluegreen.models import Plan, Progress, _Model


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


class FinalizeTask(_Model):
    execution_id: str
    plan: Plan
    # The checks that led here, for the history record.
    progress: Progress | None = None


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


class StatusChangeDetail(_Model):
    model_config = ConfigDict(extra="ignore")

    execution_arn: str
    status: Literal["ABORTED", "TIMED_OUT", "FAILED", "SUCCEEDED", "RUNNING", "PENDING_REDRIVE"]


class ExecutionStatusChange(_Model):
    """EventBridge's "Step Functions Execution Status Change" event: what the abort guardian reacts to."""

    model_config = ConfigDict(extra="ignore", alias_generator=None, populate_by_name=True)

    detail: StatusChangeDetail
