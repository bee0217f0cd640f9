"""The execution input: the public contract that operators, pipelines and tests start a release with.

A release is a list of targets (function, alias, version) moved together under one strategy, health
block, approval and trigger. The one-function input (``functionName``, ``alias``, ``version``,
``codeSha256`` at the top) is a release of one target, turned into one as it is parsed. camelCase
keys; unknown keys are rejected, not ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from bluegreen.contracts.health_config import HealthConfig
from bluegreen.contracts.json_model import JsonModel
from bluegreen.contracts.names import (
    short_name,
    valid_alias_name,
    valid_code_sha256,
    valid_function_name,
    valid_version,
)
from bluegreen.contracts.verify_request import Stage, Stages, Verify
from bluegreen.decisions import strategy as strategies
from bluegreen.errors import InvalidInput


class CustomSteps(JsonModel):
    steps: list[int] = Field(min_length=1, max_length=100)
    interval_seconds: int = Field(ge=1, le=strategies.MAX_INTERVAL_SECONDS)

    @field_validator("steps")
    @classmethod
    def _check_steps(cls, steps: list[int]) -> list[int]:
        strategies.plan_steps(steps, 1)
        return steps


class CustomLinear(JsonModel):
    linear_percent: int = Field(ge=1, le=100)
    interval_seconds: int = Field(ge=1, le=strategies.MAX_INTERVAL_SECONDS)


def _predefined(name: str) -> str:
    strategies.plan_predefined(name)
    return name


def _strategy_kind(value: object) -> str | None:
    if isinstance(value, str):
        return "named-strategy"
    if isinstance(value, dict | CustomSteps) and (isinstance(value, CustomSteps) or "steps" in value):
        return "steps-strategy"
    linear_keys = {"linearPercent", "linear_percent"}
    if isinstance(value, CustomLinear) or (isinstance(value, dict) and linear_keys & set(value)):
        return "linear-strategy"
    return None


# Tagged so that an error names only the branch the operator meant, not every alternative.
StrategyInput = Annotated[
    Annotated[Annotated[str, AfterValidator(_predefined)], Tag("named-strategy")]
    | Annotated[CustomSteps, Tag("steps-strategy")]
    | Annotated[CustomLinear, Tag("linear-strategy")],
    Discriminator(
        _strategy_kind,
        custom_error_type="strategy",
        custom_error_message='must be a predefined name, {"steps": [...], "intervalSeconds": N} '
        'or {"linearPercent": P, "intervalSeconds": N}',
    ),
]


class Trigger(JsonModel):
    """Who or what asked for the release, for the deployment history."""

    # rollback: `bluegreen rollback` putting an alias back on the version it had before its last release.
    source: Literal["console", "cli", "eventbridge", "codepipeline", "code-update", "rollback",
                    "unspecified"] = "unspecified"
    # A person's or a pipeline's identity: an IAM ARN, a pipeline execution id, a user name.
    requested_by: str | None = Field(default=None, max_length=512, pattern=r"^[^\x00-\x1f]*$")
    # Why, in the requester's words (a rollback says why it rolls back).
    reason: str | None = Field(default=None, max_length=1000, pattern=r"^[^\x00-\x1f]*$")

    def record(self) -> dict[str, Any]:
        """The trigger as history and events carry it; `reason` only when given (older readers never saw it)."""
        return self.model_dump(by_alias=True, exclude={"reason"} if self.reason is None else None)


class Approval(JsonModel):
    """An operator approves before the release goes on: before promoting, or before every traffic increase."""

    before: Literal["promote", "each-step"] = "promote"
    timeout_seconds: int = Field(default=3600, ge=1, le=7 * 24 * 3600)


class TargetRequest(JsonModel):
    """One function of a release: its alias and the version to release (or $LATEST, published now)."""

    function_name: Annotated[str, AfterValidator(valid_function_name)]
    alias: Annotated[str, AfterValidator(valid_alias_name)]
    version: Annotated[str, AfterValidator(valid_version)] | None = None
    code_sha256: Annotated[str, AfterValidator(valid_code_sha256)] | None = None
    # This function's own stages and checks, instead of the release's.
    stages: Stages | None = None
    verify: Verify | None = None


# boto3's published_version_active waiter polls 312 times 5 s apart (26 minutes); the publish task's Retry
# (statemachine/deployment.asl.json) allows its attempts that long.
MAX_READY_TIMEOUT_SECONDS = 1500

# A release is one Step Functions execution: its Map states, its history budget and its 256 KiB state are sized
# for this many (the longest predefined strategy, every step extended to maxBakeSeconds, fits both).
MAX_TARGETS = 200


class ReleaseRequest(JsonModel):
    """Which aliases move to which versions, how traffic moves, how health is judged, who asked."""

    targets: list[TargetRequest] = Field(min_length=1, max_length=MAX_TARGETS)
    strategy: StrategyInput = strategies.DEFAULT_STRATEGY
    health: HealthConfig = Field(default_factory=HealthConfig)
    trigger: Trigger = Field(default_factory=Trigger)
    approval: Approval | None = None
    # Releasing a version older than the one an alias is on is a rollback: refused unless asked for.
    allow_downgrade: bool = False
    # Every function's stages and checks, unless a target gives its own.
    stages: Stages = Field(default_factory=list)
    verify: Verify | None = None
    # How long a new version may take to become ready (State Active) before the release is refused: a
    # SnapStart snapshot takes minutes. Counted from the release's start; at most the waiter's own bound.
    ready_timeout_seconds: int = Field(default=600, ge=0, le=MAX_READY_TIMEOUT_SECONDS)
    # Provisioned concurrency on the alias or its version is given to the new version, READY before its first
    # traffic, and left where the user had it (aws/provisioned.py); false leaves every configuration alone.
    follow_provisioned_concurrency: bool = True

    @field_validator("targets")
    @classmethod
    def _distinct(cls, targets: list[TargetRequest]) -> list[TargetRequest]:
        seen: set[tuple[str, str]] = set()
        for target in targets:
            key = (short_name(target.function_name), target.alias)
            if key in seen:
                raise ValueError(f"alias {key[1]} of {key[0]} is listed twice: each alias is released once")
            seen.add(key)
        return targets

    @model_validator(mode="after")
    def _stages_are_other_aliases(self) -> ReleaseRequest:
        # Each alias of a function is moved by one part of the release only: a main alias by traffic steps,
        # a stage alias once, for one target.
        mains = {(short_name(t.function_name), t.alias) for t in self.targets}
        staged: set[tuple[str, str]] = set()
        for index, target in enumerate(self.targets):
            aliases = [stage.alias for stage in self.stages_of(target)]
            where = f"targets.{index}.stages" if target.stages is not None else "stages"
            name = short_name(target.function_name)
            if target.alias in aliases:
                raise ValueError(f"{where}: alias {target.alias} is the alias the release moves by traffic steps; "
                                 "a stage is another alias (test, say) moved before it")
            if len(set(aliases)) != len(aliases):
                raise ValueError(f"{where}: an alias is listed twice")
            for alias in aliases:
                if (name, alias) in mains:
                    raise ValueError(f"{where}: alias {alias} of {name} is a target's main alias in this release; a "
                                     "stage is an alias the release moves nowhere else")
                if (name, alias) in staged:
                    raise ValueError(f"{where}: alias {alias} of {name} is already a stage of another target of "
                                     "this release; each alias is moved once")
                staged.add((name, alias))
        if self.health.metrics and len({short_name(t.function_name) for t in self.targets}) > 1:
            # Their dimensions name the executed version, not the function: one function's version 2 would be
            # read as another's.
            raise ValueError("health.metrics: application metrics are judged in a release of one function; release "
                             "these functions one at a time to judge them")
        return self

    def stages_of(self, target: TargetRequest) -> list[Stage]:
        return self.stages if target.stages is None else target.stages

    def verify_of(self, target: TargetRequest) -> Verify | None:
        return self.verify if target.verify is None else target.verify

    def step_plan(self) -> strategies.StepPlan:
        if isinstance(self.strategy, CustomSteps):
            return strategies.plan_steps(self.strategy.steps, self.strategy.interval_seconds)
        if isinstance(self.strategy, CustomLinear):
            return strategies.plan_linear(self.strategy.linear_percent, self.strategy.interval_seconds)
        return strategies.plan_predefined(self.strategy)


_UNION_TAGS = {"named-strategy", "steps-strategy", "linear-strategy", "invoke-check", "hook-check"}
# The one-function input's fields, which become its one target (snake_case accepted as for every field).
ONE_FUNCTION_FIELDS = ("functionName", "function_name", "alias", "version", "codeSha256", "code_sha256")
# ... and the fields of a release that a one-function input keeps for itself: stages and verify stay release-wide.


def describe_validation_error(exc: ValidationError, *, one_function: bool = False) -> str:
    """One line per problem, each naming the input field (by its JSON path) and what is wrong; for a
    one-function input, by the field's own name (``version``, not ``targets.0.version``)."""
    problems = []
    for err in exc.errors():
        path = list(err["loc"])
        if one_function and path[:2] == ["targets", 0]:
            path = path[2:]
        # Union members add their type name to the location; people want the field path.
        loc = ".".join(str(p) for p in path if p not in _UNION_TAGS)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not part of the input contract)"
        # A rule across fields (a model validator) names its fields in its own message.
        problems.append(f"{loc}: {msg}" if loc else msg if err["type"] == "value_error" else f"input: {msg}")
    return "; ".join(dict.fromkeys(problems))


def parse_request(event: object) -> ReleaseRequest:
    """The execution input as a release (one function becomes a release of one target), or InvalidInput
    naming every bad field."""
    one_function = isinstance(event, dict) and "targets" not in event
    if isinstance(event, dict) and not one_function:
        both = [k for k in ONE_FUNCTION_FIELDS if k in event]
        if both:
            raise InvalidInput(f"{', '.join(both)}: give each function in 'targets', or one function without "
                               "'targets', not both")
    if isinstance(event, dict) and one_function:
        target = {k: v for k, v in event.items() if k in ONE_FUNCTION_FIELDS}
        event = {**{k: v for k, v in event.items() if k not in ONE_FUNCTION_FIELDS}, "targets": [target]}
    try:
        return ReleaseRequest.model_validate(event)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc, one_function=one_function)) from None
