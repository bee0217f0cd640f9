"""The input's ``health`` block: how the new version is judged, and what a pass must rule out (``mustRuleOut``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from bluegreen.contracts.json_model import JsonModel
from bluegreen.contracts.names import ALARM_NAME
from bluegreen.decisions import strategy as strategies


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
