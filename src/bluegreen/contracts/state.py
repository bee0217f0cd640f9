"""The release's state as it flows through the state machine: the plan the publish task made, the
progress each shift and check advance, the health reports, and how the release ended."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bluegreen.contracts.health_config import HealthConfig
from bluegreen.contracts.health_report import CheckSummary, Decision, HealthReport, Onward
from bluegreen.contracts.json_model import JsonModel
from bluegreen.contracts.request import Approval, Trigger
from bluegreen.contracts.verify_request import Check, Verify


class StagePlan(JsonModel):
    """A stage alias of a function: moved 100% to the new version before the main alias takes traffic,
    checked through it, and put back on ``old_version`` if the release does not promote."""

    alias: str
    old_version: str
    checks: list[Check] = Field(default_factory=list)


class ProvisionedMove(JsonModel):
    """The provisioned concurrency a release put on the new version ``on``: the amount the user has for the alias,
    on the alias or on its old version (``owner``). Kept in the alias's lease, written before the put
    (``aws.provisioned``)."""

    on: str
    owner: Literal["alias", "version"]
    amount: int


class TargetPlan(JsonModel):
    """Which alias moves from which version to which (``shift``: in weighted steps; ``create``: a new
    alias, made at the new version when the release promotes), and how the new version is verified."""

    function_name: str
    alias: str
    old_version: str | None
    new_version: str
    action: Literal["shift", "create"]
    stages: list[StagePlan] = Field(default_factory=list)
    verify: Verify | None = None
    # True when the release gave the new version provisioned concurrency (what it put: the alias's lease says).
    provisioned: bool | None = None

    @property
    def verifies_first(self) -> bool:
        """Checks or stages before the first traffic step."""
        return bool(self.stages) or bool(self.verify and self.verify.before_traffic)

    @property
    def moved_aliases(self) -> list[str]:
        """Every alias of this function the release moves: the main one and its stages."""
        return [self.alias, *(stage.alias for stage in self.stages)]


def _kind_of(check: dict[str, Any]) -> str:
    return f"hook {check['hook']}" if "hook" in check else "invoke"


class Plan(JsonModel):
    """A validated release: the aliases that change, the steps they take together, how each is judged."""

    def for_logs(self) -> dict[str, Any]:
        """The plan as logged: each verification check by its kind and what it invokes, never its payload or
        what it expects (they may hold customer data)."""
        logged = self.model_dump(mode="json", by_alias=True)
        for target in logged["targets"]:
            verify = target.get("verify") or {}
            for phase in ("beforeTraffic", "afterPromotion"):
                if phase in verify:
                    verify[phase] = [_kind_of(check) for check in verify[phase]]
            for stage in target.get("stages") or []:
                stage["checks"] = [_kind_of(check) for check in stage["checks"]]
        return logged

    targets: list[TargetPlan]
    # Aliases already 100% on the version asked for ("function:alias"): nothing to do, not locked.
    unchanged: list[str] = Field(default_factory=list)
    # shift: traffic steps; create: only new aliases (straight to promote); noop: nothing changes.
    action: Literal["shift", "create", "noop"]
    strategy: str
    weights: list[int]
    step_count: int
    bake_seconds: int
    health: HealthConfig
    # Effective check cadence and bake bound: the health block's, fitted to this plan's steps.
    check_interval_seconds: int = 60
    max_bake_seconds: int = 0
    # How late the metrics are (health.metricDelaySeconds, or the stack's): a step's first check waits for one
    # interval of settled data (the "Let the step begin" Wait).
    metric_delay_seconds: int = 0
    first_check_seconds: int = 60
    # The finest period AWS/Lambda's (and standard-resolution) metrics can be read in: the stack's (60 s in AWS).
    # 1 in plans made before it was kept, which read every metric in periods of the check interval.
    standard_resolution_seconds: int = 1
    # Checks the release makes if every step passes on time: shares out the confidence.
    checks_planned: int = 0
    alarms_in_alarm_at_start: list[str] = Field(default_factory=list)
    # When the release started and who asked: the key and the first facts of its history record.
    started_at: str | None = None
    trigger: Trigger = Field(default_factory=Trigger)
    approval: Approval | None = None
    # Some function is verified (checks, stages) before the first traffic step: the Choice reads this.
    verify_first: bool = False
    # What the alias's recent traffic lets the steps prove, when it is worth saying (no calls in the last hour, or
    # too few for the steps and an operator decides): said in the release's first event.
    traffic_note: str | None = None

    @property
    def shifting(self) -> list[TargetPlan]:
        return [t for t in self.targets if t.action == "shift"]

    @property
    def several(self) -> bool:
        """More than one function: decisions and causes then name the function they are about."""
        return len(self.targets) > 1


class FunctionNames(JsonModel):
    """A function of the release as events name it: never its checks' payloads."""

    function_name: str
    alias: str
    old_version: str | None
    new_version: str


class Question(JsonModel):
    """What the release asks an operator, and where it goes on an approval."""

    kind: Literal["approval", "inconclusive"]
    text: str
    if_approved: Onward
    timeout_seconds: int
    # Every function of the release, for the event's "functions".
    functions: list[FunctionNames] = Field(default_factory=list)
    # The function the question is about, in the "Operator Decision Needed" event of one function's release.
    function_name: str | None = None
    alias: str | None = None
    old_version: str | None = None
    new_version: str | None = None


class EarlyPromotion(JsonModel):
    """An operator's "promote now", taken at a check."""

    reason: str = Field(max_length=1000)
    by: str | None = Field(default=None, max_length=512)


class Shifted(JsonModel):
    """One function's shift task done: what the step's first check starts the step's clock from (and what the
    CLI's progress shows). Kept small: the shift Map holds one per function."""

    shifted_at: str
    step_index: int
    weight: int
    function_name: str


class Progress(JsonModel):
    """Where the release is: entered by the step's first check (from the shift Map's results), advanced by each
    check, read by the Choice states. It carries the checks once for the whole release (bounded)."""

    step_index: int = -1
    weight: int = 0
    next_step_index: int = 0
    is_last_step: bool = False
    shifted_at: str | None = None
    # What the state machine does next, and how long it waits before the next check.
    decision: Decision | None = None
    wait_seconds: int = 0
    last_check_at: str | None = None
    health: HealthReport | None = None
    checks: list[CheckSummary] = Field(default_factory=list)
    question: Question | None = None
    promoted_early: EarlyPromotion | None = None
    # The shift Map's results, until the step's first check enters the step.
    shifted: list[Shifted] | None = None


class CheckResult(JsonModel):
    """One verification check: what it was, its verdict and why (never the payload or the response)."""

    phase: Literal["before-traffic", "stage", "after-promotion"]
    stage: str | None = None
    index: int
    kind: Literal["invoke", "hook"]
    target: str  # the qualifier invoked (a version or an alias), or the hook function
    verdict: Literal["passed", "failed"]
    reason: str
    seconds: float


class Verification(JsonModel):
    """A function's verification: every check's result, in order."""

    function_name: str
    passed: bool
    results: list[CheckResult]


class Outcome(JsonModel):
    """How a deployment ended, for the last state and for people."""

    # left_alone: someone else changed the alias during the release; it was not touched.
    outcome: Literal["promoted", "rolled_back", "rejected", "left_alone"]
    function_name: str | None
    alias: str | None
    function_version: str | None
    error: str | None = None
    cause: str | None = None
    # The checks made through the alias once promoted (verify.afterPromotion), if any.
    verification: Verification | None = None
