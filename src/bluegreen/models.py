"""The typed data that flows through the state machine.

``DeploymentInput`` is the public execution-input contract (camelCase keys, unknown keys
rejected). ``Plan``, ``Progress``, ``HealthReport`` and ``Outcome`` are what the Lambdas hand
each other through the state machine's JSON.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from bluegreen import strategy as strategies
from bluegreen.errors import InvalidInput

FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:(?P<name>[A-Za-z0-9_-]{1,64})$"
)
ALIAS_NAME = re.compile(r"^(?!\d+$)[A-Za-z0-9_-]{1,128}$")
VERSION = re.compile(r"^[1-9]\d{0,9}$")
CODE_SHA256 = re.compile(r"^[A-Za-z0-9+/]{43}=$")
ALARM_NAME = re.compile(r"^[^\x00-\x1f]{1,255}$")


class _Model(BaseModel):
    # defer_build: a validator is built when a model is first used, so a cold start pays only for its own.
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              defer_build=True)


def _function_name(value: str) -> str:
    if FUNCTION_NAME.match(value) or FUNCTION_ARN.match(value):
        return value
    if ":function:" in value and value.count(":") > 6:
        raise ValueError("give the unqualified function name or ARN; put the alias in the 'alias' field")
    raise ValueError("must be a function name (letters, digits, '-' or '_', at most 64) or an unqualified function ARN")


def _alias_name(value: str) -> str:
    if value == "$LATEST" or not ALIAS_NAME.match(value):
        raise ValueError("must be an alias name: 1-128 letters, digits, '-' or '_', not only digits, not $LATEST")
    return value


def _version(value: str) -> str:
    if value == "$LATEST":
        raise ValueError("$LATEST cannot be released: a weighted alias needs a published version "
                         "(leave 'version' out to publish $LATEST now)")
    if not VERSION.match(value):
        raise ValueError("must be a published version number such as \"7\"")
    return value


def _code_sha256(value: str) -> str:
    if not CODE_SHA256.match(value):
        raise ValueError("must be the base64 SHA-256 of the code, as GetFunction's CodeSha256 reports it")
    return value


class HealthConfig(_Model):
    """When a traffic step counts as healthy: the new version (canary) judged against the old (baseline)."""

    # Ceiling on the canary's error rate, applied when it is confidently above it, waived when the
    # baseline is above it too and the canary is no worse (a fix released during an incident).
    max_error_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    # The canary fails when its error rate is above the baseline's with statistical confidence AND
    # by at least this much (absolute: 0.005 = half a percentage point).
    error_rate_margin: float = Field(default=0.005, ge=0.0, le=1.0)
    # Confidence for the whole release: each of its checks' tests gets its share of (1 - confidence).
    confidence: float = Field(default=0.99, ge=0.5, le=0.999999)
    # The canary fails when its p99 duration (mean where percentiles are missing) exceeds the
    # baseline's by this ratio AND by latencyMarginMs.
    max_latency_ratio: float = Field(default=1.5, ge=1.0, le=1000.0)
    latency_margin_ms: float = Field(default=10.0, ge=0.0, le=900_000.0)
    # Share of the canary's requests that may be throttled.
    max_throttle_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    # Fewer invocations of the new version in the step than this is not enough evidence: never healthy.
    min_invocations: int = Field(default=20, ge=1, le=10_000_000)
    alarms: list[Annotated[str, Field(pattern=ALARM_NAME.pattern)]] = Field(default_factory=list, max_length=100)
    # Judge only the alarms that were OK when the release started (one already firing is not its fault).
    only_alarms_ok_at_start: bool = False
    # How often the step is checked while it bakes; default: AWS/Lambda's one-minute granularity.
    check_interval_seconds: int = Field(default=60, ge=1, le=3600)
    # Longest a step may bake while the evidence is inconclusive (default: twice the step's bake).
    max_bake_seconds: int | None = Field(default=None, ge=1, le=strategies.MAX_INTERVAL_SECONDS * 2)
    # Still inconclusive at maxBakeSeconds: roll back, or ask an operator (an EventBridge event
    # carrying a task token) and roll back if nobody answers within operatorTimeoutSeconds.
    on_inconclusive: Literal["rollback", "wait-for-operator"] = "rollback"
    operator_timeout_seconds: int = Field(default=3600, ge=1, le=7 * 24 * 3600)


class CustomSteps(_Model):
    steps: list[int] = Field(min_length=1, max_length=100)
    interval_seconds: int = Field(ge=1, le=strategies.MAX_INTERVAL_SECONDS)

    @field_validator("steps")
    @classmethod
    def _check_steps(cls, steps: list[int]) -> list[int]:
        strategies.plan_steps(steps, 1)
        return steps


class CustomLinear(_Model):
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


class Trigger(_Model):
    """Who or what asked for the release, for the deployment history."""

    source: Literal["console", "cli", "eventbridge", "codepipeline", "code-update", "unspecified"] = "unspecified"
    # A person's or a pipeline's identity: an IAM ARN, a pipeline execution id, a user name.
    requested_by: str | None = Field(default=None, max_length=512, pattern=r"^[^\x00-\x1f]*$")


class Approval(_Model):
    """An operator approves before the release goes on: before promoting, or before every traffic increase."""

    before: Literal["promote", "each-step"] = "promote"
    timeout_seconds: int = Field(default=3600, ge=1, le=7 * 24 * 3600)


class _ReleaseRequest(_Model):
    """What every release input shares: how traffic moves, how health is judged, who asked."""

    strategy: StrategyInput = strategies.DEFAULT_STRATEGY
    health: HealthConfig = Field(default_factory=HealthConfig)
    trigger: Trigger = Field(default_factory=Trigger)
    approval: Approval | None = None

    def step_plan(self) -> strategies.StepPlan:
        if isinstance(self.strategy, CustomSteps):
            return strategies.plan_steps(self.strategy.steps, self.strategy.interval_seconds)
        if isinstance(self.strategy, CustomLinear):
            return strategies.plan_linear(self.strategy.linear_percent, self.strategy.interval_seconds)
        return strategies.plan_predefined(self.strategy)


class TargetInput(_Model):
    """One function of a multi-function release: its alias and the version to release (or $LATEST published)."""

    function_name: Annotated[str, AfterValidator(_function_name)]
    alias: Annotated[str, AfterValidator(_alias_name)]
    version: Annotated[str, AfterValidator(_version)] | None = None
    code_sha256: Annotated[str, AfterValidator(_code_sha256)] | None = None


class DeploymentInput(TargetInput, _ReleaseRequest):
    """The execution input: what operators, pipelines and tests start a deployment with."""

    def target(self) -> TargetInput:
        return TargetInput(function_name=self.function_name, alias=self.alias, version=self.version,
                           code_sha256=self.code_sha256)


# A release of many functions is one Step Functions execution; its Map states and the history
# budget are sized for this many.
MAX_TARGETS = 50


class MultiDeploymentInput(_ReleaseRequest):
    """The execution input of a release of several functions at once: all promoted or all rolled back."""

    targets: list[TargetInput] = Field(min_length=1, max_length=MAX_TARGETS)

    @field_validator("targets")
    @classmethod
    def _distinct(cls, targets: list[TargetInput]) -> list[TargetInput]:
        seen: set[tuple[str, str]] = set()
        for target in targets:
            key = (target.function_name.rsplit(":", 1)[-1], target.alias)
            if key in seen:
                raise ValueError(f"alias {key[1]} of {key[0]} is listed twice: each alias is released once")
            seen.add(key)
        return targets


class _PlanShape(_Model):
    """What a release's plan holds besides the aliases: the steps, the health block, the cadence."""

    strategy: str
    weights: list[int]
    step_count: int
    bake_seconds: int
    health: HealthConfig
    # Effective check cadence and bake bound: the health block's, fitted to this plan's steps.
    check_interval_seconds: int = 60
    max_bake_seconds: int = 0
    # Checks the release makes if every step passes on time: shares out the confidence.
    checks_planned: int = 0
    alarms_in_alarm_at_start: list[str] = Field(default_factory=list)
    # When the release started and who asked: the key and the first facts of its history record.
    started_at: str | None = None
    trigger: Trigger = Field(default_factory=Trigger)
    approval: Approval | None = None


class TargetPlan(_Model):
    """Which alias moves from which version to which."""

    function_name: str
    alias: str
    old_version: str | None
    new_version: str
    action: Literal["shift", "create", "noop"]


class Plan(TargetPlan, _PlanShape):
    """A validated release of one function: which alias moves from which version to which, in which steps."""


class GroupPlan(_PlanShape):
    """A validated release of several functions, shifted in step: ``targets`` are the aliases that change
    (``shift``: weighted steps; ``create``: a new alias, made when the release promotes)."""

    targets: list[TargetPlan]
    # Aliases already 100% on the version asked for: nothing to do, not locked.
    unchanged: list[str] = Field(default_factory=list)
    action: Literal["shift", "create", "noop"]

    def plan_for(self, target: TargetPlan) -> Plan:
        """The one-function plan of ``target``: what the one-function tasks work from."""
        shared = {name: getattr(self, name) for name in _PlanShape.model_fields}
        plan = Plan(**shared, **{name: getattr(target, name) for name in TargetPlan.model_fields})
        if target.action != "shift":
            plan = plan.model_copy(update={"weights": [], "step_count": 0})
        return plan

    @property
    def shifting(self) -> list[TargetPlan]:
        return [t for t in self.targets if t.action == "shift"]


class VersionStats(_Model):
    """One version's numbers over a window."""

    version: str
    invocations: int
    errors: int
    throttles: int
    error_rate: float | None
    throttle_rate: float | None
    p50_ms: float | None
    p99_ms: float | None
    average_ms: float | None


class RuleResult(_Model):
    """One rule's verdict over one window ("step": since the shift, "recent": since the last check)."""

    rule: Literal["alarms", "evidence", "error-rate", "error-ceiling", "latency", "throttles"]
    window: Literal["step", "recent"]
    verdict: Literal["pass", "fail", "inconclusive"]
    reason: str


class HealthReport(_Model):
    """One health check's verdict, with the numbers it was made from and every rule's reason."""

    verdict: Literal["pass", "fail", "inconclusive"]
    reason: str
    weight: int
    step_index: int
    # Backward-compatible headline numbers: the canary over the whole step.
    invocations: int
    errors: int
    error_rate: float | None
    canary: VersionStats
    baseline: VersionStats | None
    recent: VersionStats | None
    rules: list[RuleResult]
    alarms_in_alarm: list[str]
    window_start: str
    window_end: str


class CheckSummary(_Model):
    """A check in a line, kept for the whole release in the execution's output."""

    at: str
    step_index: int
    weight: int
    verdict: Literal["pass", "fail", "inconclusive"]
    decision: Literal["bake", "next-step", "promote", "rollback", "ask-operator"]
    invocations: int
    errors: int
    baseline_invocations: int | None
    baseline_errors: int | None
    p99_ms: float | None
    baseline_p99_ms: float | None
    # A multi-function release: the function whose verdict decided (the worst).
    function_name: str | None = None


class Question(_Model):
    """What the release asks an operator, and where it goes on an approval."""

    kind: Literal["approval", "inconclusive"]
    text: str
    if_approved: Literal["next-step", "promote"]
    timeout_seconds: int


class EarlyPromotion(_Model):
    """An operator's "promote now", taken at a check."""

    reason: str = Field(max_length=1000)
    by: str | None = Field(default=None, max_length=512)


class Progress(_Model):
    """Where the release is: set by the shift task, advanced by each check, read by the Choice states."""

    step_index: int = -1
    weight: int = 0
    next_step_index: int = 0
    is_last_step: bool = False
    shifted_at: str | None = None
    # What the state machine does next, and how long it waits before the next check.
    decision: Literal["bake", "next-step", "promote", "rollback", "ask-operator"] | None = None
    wait_seconds: int = 0
    last_check_at: str | None = None
    health: HealthReport | None = None
    checks: list[CheckSummary] = Field(default_factory=list)
    question: Question | None = None
    promoted_early: EarlyPromotion | None = None


class Outcome(_Model):
    """How a deployment ended, for the last state and for people."""

    # left_alone: someone else changed the alias during the release; it was not touched.
    outcome: Literal["promoted", "rolled_back", "rejected", "left_alone"]
    function_name: str | None
    alias: str | None
    function_version: str | None
    error: str | None = None
    cause: str | None = None


_UNION_TAGS = {"named-strategy", "steps-strategy", "linear-strategy"}


def describe_validation_error(exc: ValidationError) -> str:
    """One line per problem, each naming the input field (by its JSON path) and what is wrong."""
    problems = []
    for err in exc.errors():
        # Union members add their type name to the location; people want the field path.
        loc = ".".join(str(p) for p in err["loc"] if p not in _UNION_TAGS)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not part of the input contract)"
        problems.append(f"{loc or 'input'}: {msg}")
    return "; ".join(dict.fromkeys(problems))


def parse_input(event: object) -> DeploymentInput | MultiDeploymentInput:
    """The execution input as a model (one function, or ``targets``), or InvalidInput naming every bad field."""
    if isinstance(event, dict) and "targets" in event:
        both = [k for k in ("functionName", "alias", "version", "codeSha256") if k in event]
        if both:
            raise InvalidInput(f"{', '.join(both)}: give each function in 'targets', or one function without "
                               "'targets', not both")
        model: type[DeploymentInput | MultiDeploymentInput] = MultiDeploymentInput
    else:
        model = DeploymentInput
    try:
        return model.model_validate(event)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from None
