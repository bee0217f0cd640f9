"""A health check's words (its verdict, the rule that gave it, what the release does next), declared once, and
what a check reports: each version's numbers, each rule's verdict, and the check in a line."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bluegreen.contracts.json_model import JsonModel

# The words of a health check, declared once: its verdict, the rule that gave it, what the release does next.
Verdict = Literal["pass", "fail", "inconclusive"]
RuleName = Literal["alarms", "evidence", "error-rate", "error-ceiling", "latency", "throttles", "missing-calls",
                   "metric-rate", "metric-latency"]  # metric-*: the application's own (health.metrics)
Decision = Literal["bake", "next-step", "promote", "rollback", "ask-operator"]
Onward = Literal["next-step", "promote"]


class VersionStats(JsonModel):
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


class RuleResult(JsonModel):
    """One rule's verdict over one window ("step": since the shift, "recent": since the last check)."""

    rule: RuleName
    window: Literal["step", "recent"]
    verdict: Verdict
    reason: str


class MetricReport(JsonModel):
    """One application metric's numbers over the step (``health.metrics``): a rate's failures as errors over its
    total as invocations; a latency's calls as invocations and its statistic as p99Ms."""

    name: str
    measured: str  # as CloudWatch names it: "OrdersApp Responses5xx/Requests"
    kind: Literal["rate", "latency"]
    canary: VersionStats
    baseline: VersionStats | None


class HealthReport(JsonModel):
    """One health check's verdict, with the numbers it was made from and every rule's reason."""

    verdict: Verdict
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
    # A pass: what its evidence excluded ("error rate at most 1.4x the old version's ... (99% confidence)").
    ruled_out: str | None = None
    # Not yet a pass: what more evidence would decide ("about 400 more calls of the new version, 8 minutes").
    needs: str | None = None
    # Each application metric's numbers over the step, beside AWS/Lambda's above.
    metrics: list[MetricReport] = Field(default_factory=list)


class CheckSummary(JsonModel):
    """A check in a line, kept for the whole release in the execution's output."""

    at: str
    step_index: int
    weight: int
    verdict: Verdict
    decision: Decision
    invocations: int
    errors: int
    baseline_invocations: int | None
    baseline_errors: int | None
    p99_ms: float | None
    baseline_p99_ms: float | None
    # A release of several functions: the function whose verdict decided (the worst).
    function_name: str | None = None
