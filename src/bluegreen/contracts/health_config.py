"""The input's ``health`` block: how the new version is judged, and what a pass must rule out (``mustRuleOut``)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, model_validator

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


# CloudWatch's names: a namespace (not AWS's own), a metric, a dimension's name and value; a statistic the latency of
# an application metric is judged by (a percentile, or the mean).
NAMESPACE = re.compile(r"^[A-Za-z0-9.\-_/#:]{1,255}$")
METRIC_NAME = re.compile(r"^[^\x00-\x1f]{1,255}$")
DIMENSION_NAME = re.compile(r"^[^\x00-\x1f:]{1,255}$")
DIMENSION_VALUE = re.compile(r"^[^\x00-\x1f]{1,1024}$")
LATENCY_STAT = re.compile(r"^(p(50|75|90|95|99|99\.9)|Average)$")
MetricName = Annotated[str, Field(pattern=METRIC_NAME.pattern)]
# CloudWatch allows 30 dimensions on a metric; one of them holds the version.
MAX_FIXED_DIMENSIONS = 29
# Each metric adds four queries per version to a check's GetMetricData call (500 at most).
MAX_APP_METRICS = 10


class AppMetric(JsonModel):
    """One of the application's own metrics, emitted per executed version (a dimension holds
    ``context.function_version``): a *rate* (``failures`` over ``total``, judged like the error rate) or a
    *latency* (judged like duration), the new version's against the old one's."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
    namespace: Annotated[str, Field(pattern=NAMESPACE.pattern)]
    failures: MetricName | None = None
    total: MetricName | None = None
    latency: MetricName | None = None
    stat: Annotated[str, Field(pattern=LATENCY_STAT.pattern)] = "p99"
    dimensions: dict[Annotated[str, Field(pattern=DIMENSION_NAME.pattern)],
                     Annotated[str, Field(pattern=DIMENSION_VALUE.pattern)]] = Field(
        default_factory=dict, max_length=MAX_FIXED_DIMENSIONS)
    version_dimension: Annotated[str, Field(pattern=DIMENSION_NAME.pattern)] = "FunctionVersion"
    # What a pass must rule out for this metric (a rate: errorRateRatio/errorRateMargin; a latency: latencyRatio).
    must_rule_out: MustRuleOut = Field(default_factory=MustRuleOut)
    # How late this metric is readable (default: health.metricDelaySeconds, or the stack's).
    metric_delay_seconds: int | None = Field(default=None, ge=0, le=3600)
    # How the function stores it, as its StorageResolution: 1 (high resolution, as Powertools Metrics writes with
    # resolution=1) may be read in periods as short as the check interval; 60 (standard) in whole minutes only.
    storage_resolution: Literal[1, 60] = 60

    @model_validator(mode="after")
    def _one_kind(self) -> AppMetric:
        if self.namespace.startswith("AWS/"):
            raise ValueError("'namespace': AWS/ namespaces are AWS's own (AWS/Lambda's are judged already); name the "
                             "application's")
        rate = self.failures is not None or self.total is not None
        if rate and self.latency is not None:
            raise ValueError("a metric is a rate (failures and total) or a latency, not both")
        if rate and (self.failures is None or self.total is None):
            raise ValueError("a rate names both 'failures' and 'total'")
        if not rate and self.latency is None:
            raise ValueError("name 'failures' and 'total' (a rate) or 'latency'")
        if rate and self.failures == self.total:
            raise ValueError("'failures' and 'total' must be two different metrics")
        if self.version_dimension in self.dimensions:
            raise ValueError(f"'dimensions' must not hold the version dimension {self.version_dimension!r}")
        return self

    @property
    def kind(self) -> Literal["rate", "latency"]:
        return "latency" if self.latency is not None else "rate"

    @property
    def measured(self) -> str:
        """What it measures, as CloudWatch names it: "OrdersApp Responses5xx/Requests"."""
        return (f"{self.namespace} {self.latency} {self.stat}" if self.latency is not None
                else f"{self.namespace} {self.failures}/{self.total}")


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
    # The application's own metrics per version (HTTP 5xx behind API Gateway, say): judged beside AWS/Lambda's.
    metrics: list[AppMetric] = Field(default_factory=list, max_length=MAX_APP_METRICS)
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

    @model_validator(mode="after")
    def _metric_names_unique(self) -> HealthConfig:
        names = [m.name for m in self.metrics]
        if len(set(names)) != len(names):
            repeated = ", ".join(sorted({n for n in names if names.count(n) > 1}))
            raise ValueError(f"metrics: each needs its own name ({repeated} repeated)")
        return self
