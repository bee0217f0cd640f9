"""The execution input: the public contract that operators, pipelines and tests start a release with.

A release is a list of targets (function, alias, version) moved together under one strategy, health
block, approval and trigger. The one-function input (``functionName``, ``alias``, ``version``,
``codeSha256`` at the top) is a release of one target, turned into one as it is parsed. camelCase
keys; unknown keys are rejected, not ignored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Discriminator, Field, Tag, ValidationError, field_validator, model_validator

from bluegreen import strategy as strategies
from bluegreen.errors import InvalidInput
from bluegreen.json_model import JsonModel

FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:(?P<name>[A-Za-z0-9_-]{1,64})$"
)
ALIAS_NAME = re.compile(r"^(?!\d+$)[A-Za-z0-9_-]{1,128}$")
VERSION = re.compile(r"^[1-9]\d{0,9}$")
CODE_SHA256 = re.compile(r"^[A-Za-z0-9+/]{43}=$")
ALARM_NAME = re.compile(r"^[^\x00-\x1f]{1,255}$")


def short_name(function: str) -> str:
    """A function's name, from its name or its (unqualified) ARN."""
    match = FUNCTION_ARN.match(function)
    return match["name"] if match else function


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


class MustRuleOut(JsonModel):
    """What a step must rule out, with ``health.confidence``, before it counts as healthy: the tolerance.

    A pass needs evidence that the new version is no worse than this; without it the step bakes on.
    Looser tolerances pass sooner on little traffic; tighter ones need more calls (``bluegreen plan``
    says how many your traffic gives).
    """

    # Error rate: at most this many times the old version's ...
    error_rate_ratio: float = Field(default=5.0, ge=1.0, le=1000.0)
    # ... or at most this much above it (absolute: 0.01 = one percentage point), whichever is looser;
    # the margin is what lets a function whose versions both rarely fail pass at all.
    error_rate_margin: float = Field(default=0.01, ge=0.0, le=1.0)
    # Duration (p99 from 2,000 calls, the mean below): at most this many times the old version's.
    latency_ratio: float = Field(default=2.0, ge=1.0, le=1000.0)
    # Share of the new version's requests throttled: at most this.
    throttle_rate: float = Field(default=0.05, ge=0.0, le=1.0)
    # Share of the new version's calls that never come back (no datapoint: hanging, or still running): at most
    # this. Its share of the alias's calls is noisy at low weights (binomial), hence the width.
    missing_share: float = Field(default=0.19, ge=0.0, le=1.0)


class HealthConfig(JsonModel):
    """When a traffic step counts as healthy: the new version (canary) judged against the old (baseline)."""

    # Ceiling on the canary's error rate, applied when it is confidently above it, waived when the
    # baseline is above it too and the canary is no worse (a fix released during an incident).
    max_error_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    # The canary fails when its error rate is above the baseline's with statistical confidence AND
    # by at least this much (absolute: 0.0025 = a quarter of a percentage point).
    error_rate_margin: float = Field(default=0.0025, ge=0.0, le=1.0)
    # Confidence for the whole release: its checks spend (1 - confidence) as the chance of rolling back a
    # healthy release (spending.py), and a pass must rule out mustRuleOut at this confidence.
    confidence: float = Field(default=0.99, ge=0.5, le=0.999999)
    # The canary fails when its p99 duration (mean where percentiles are missing) exceeds the
    # baseline's by this ratio AND by latencyMarginMs.
    max_latency_ratio: float = Field(default=1.5, ge=1.0, le=1000.0)
    latency_margin_ms: float = Field(default=10.0, ge=0.0, le=900_000.0)
    # Share of the canary's requests that may be throttled.
    max_throttle_rate: float = Field(default=0.01, ge=0.0, le=1.0)
    # Share of the new version's calls that may be missing from its settled metrics (compared with the share its
    # weight routed to it): confidently above this fails the step.
    max_missing_share: float = Field(default=0.05, ge=0.0, le=1.0)
    # How late AWS/Lambda's metrics are readable (a datapoint is stamped with its call's start and delivered
    # after the call ends): each check judges only the periods settled by then. Default: the stack's
    # MetricDelaySeconds (180 s).
    metric_delay_seconds: int | None = Field(default=None, ge=0, le=3600)
    # Fewer invocations of the new version in the step than this is not enough evidence: never healthy.
    min_invocations: int = Field(default=20, ge=1, le=10_000_000)
    # A step passes only when its evidence rules these out (see MustRuleOut); else it bakes on.
    must_rule_out: MustRuleOut = Field(default_factory=MustRuleOut)
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


# --- Verification: checks of the new version before it takes traffic, and after it is promoted ---------------

MAX_CHECKS = 20
MAX_STAGES = 5
MAX_CHECK_TIMEOUT_SECONDS = 900


class Invocation(JsonModel):
    # Any JSON value, as the function receives it.
    payload: Any = Field(default_factory=dict)


class InvokeCheck(JsonModel):
    """Invoke the version (or the stage alias) with ``payload``; it passes without a function error and, with
    ``expect``, when the response contains ``expect`` (a JSON subset: {"statusCode": 200})."""

    invoke: Invocation
    expect: dict[str, Any] | None = None


class HookCheck(JsonModel):
    """Invoke the team's own test Lambda with the release's facts; it answers {"status": "passed" | "failed",
    "reason": "..."}. Only functions in the stack's VerificationHooks parameter."""

    hook: Annotated[str, AfterValidator(_function_name)]


def _check_kind(value: object) -> str | None:
    if isinstance(value, InvokeCheck) or (isinstance(value, dict) and "invoke" in value):
        return "invoke-check"
    if isinstance(value, HookCheck) or (isinstance(value, dict) and "hook" in value):
        return "hook-check"
    return None


Check = Annotated[
    Annotated[InvokeCheck, Tag("invoke-check")] | Annotated[HookCheck, Tag("hook-check")],
    Discriminator(_check_kind, custom_error_type="check",
                  custom_error_message='a check is {"invoke": {"payload": ...}, "expect": {...}} '
                                       'or {"hook": "FUNCTION"}'),
]
Checks = Annotated[list[Check], Field(max_length=MAX_CHECKS)]


class Verify(JsonModel):
    """Checks of the new version by its qualifier before the first traffic step (no caller sees it yet), and
    through the alias after the promotion (a failure puts the alias back on the old version)."""

    before_traffic: Checks = Field(default_factory=list)
    after_promotion: Checks = Field(default_factory=list)
    # Each check's bound: a timeout, a function error or an answer of the wrong shape is a failure.
    timeout_seconds: int = Field(default=60, ge=1, le=MAX_CHECK_TIMEOUT_SECONDS)


class Stage(JsonModel):
    """An alias moved 100% to the new version, and checked through it, before the main alias takes traffic."""

    alias: Annotated[str, AfterValidator(_alias_name)]
    verify: Checks = Field(default_factory=list)


Stages = Annotated[list[Stage], Field(max_length=MAX_STAGES)]


class TargetRequest(JsonModel):
    """One function of a release: its alias and the version to release (or $LATEST, published now)."""

    function_name: Annotated[str, AfterValidator(_function_name)]
    alias: Annotated[str, AfterValidator(_alias_name)]
    version: Annotated[str, AfterValidator(_version)] | None = None
    code_sha256: Annotated[str, AfterValidator(_code_sha256)] | None = None
    # This function's own stages and checks, instead of the release's.
    stages: Stages | None = None
    verify: Verify | None = None


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
