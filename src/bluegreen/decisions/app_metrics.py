"""The application's own metrics (``health.metrics``), judged like AWS/Lambda's: a rate (failures over a total) by
the error-rate rule, a latency by the latency rule, each against the old version's and with its own mustRuleOut.
A metric the new version has not reported is no evidence: the step stays inconclusive, never healthy.

Pure, as the other rules: the check Lambda feeds it what CloudWatch settled.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bluegreen.contracts.health_config import AppMetric, HealthConfig
from bluegreen.decisions.latency import latency_rule
from bluegreen.decisions.verdict import error_rate_rule
from bluegreen.decisions.windows import Rule, Window


@dataclass(frozen=True)
class AppEvidence:
    """One application metric's windows: (new version, old version) over the step and the last interval."""

    metric: AppMetric
    step: tuple[Window, Window | None]
    recent: tuple[Window, Window | None] | None = None
    # Its CloudWatch metrics the new version has not reported at all in the step.
    unreported: tuple[str, ...] = ()


def _named(rule: Rule, metric: AppMetric) -> Rule:
    """A rule's verdict said about the metric, by its name and CloudWatch's ("http-5xx (OrdersApp
    Responses5xx/Requests): ...")."""
    said = f"{metric.name} ({metric.measured})"
    text = rule.reason if metric.kind == "rate" else rule.reason.replace("p99", metric.stat)
    bound = rule.bound if metric.kind == "rate" or rule.bound is None else rule.bound.replace("p99", metric.stat)
    return replace(rule, rule="metric-rate" if metric.kind == "rate" else "metric-latency",
                   reason=f"{said}: {text}", bound=f"{metric.name} {bound}" if bound else None)


def metric_rules(evidence: AppEvidence, config: HealthConfig, alpha: float, pass_alpha: float | None = None,
                 *, recent: bool = False) -> list[Rule]:
    """The metric's verdict over the step (or, ``recent``, the last interval) at harm level ``alpha``."""
    metric = evidence.metric
    windows = evidence.recent if recent else evidence.step
    if windows is None:
        return []
    canary, baseline = windows
    own = config.model_copy(update={"must_rule_out": metric.must_rule_out})
    if recent and (evidence.unreported or canary.invocations < config.min_invocations):
        return []  # too little in the last interval to prove harm: the step's window judges it
    if evidence.unreported:
        dimensions = ", ".join(f"{k}={v}" for k, v in sorted(metric.dimensions.items()))
        said = (f"no data of the new version's {' or '.join(evidence.unreported)} yet: is it emitted (zeros "
                f"included) in {metric.namespace} with dimensions {dimensions + ', ' if dimensions else ''}"
                f"{metric.version_dimension}=<executed version>?")
        return [_named(Rule("evidence", "inconclusive", said), metric)]
    if canary.invocations < config.min_invocations:
        unit = "datapoint(s)" if metric.kind == "latency" else f"{metric.total}"
        said = f"not enough evidence: {canary.invocations} {unit}, at least {config.min_invocations} needed"
        return [_named(Rule("evidence", "inconclusive", said), metric)]
    if metric.kind == "rate":
        return [_named(error_rate_rule(canary, baseline, own, alpha, pass_alpha), metric)]
    return [_named(latency_rule(canary, baseline, own, alpha, pass_alpha), metric)]
