"""The application's own metrics in CloudWatch (``health.metrics``): the queries that read them per version, beside
AWS/Lambda's in the same GetMetricData call, and the check, before anything changes, that CloudWatch knows them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bluegreen.aws.clients import cloudwatch_client
from bluegreen.contracts.health_config import AppMetric

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch.type_defs import (
        DimensionFilterTypeDef,
        DimensionTypeDef,
        MetricDataQueryTypeDef,
        MetricStatTypeDef,
    )


# An application metric's queries per version: (query suffix, which of its metrics, statistic). A latency's
# SampleCount weighs its periods and counts its calls; its mean stands in for the statistic on few calls.
def app_parts(metric: AppMetric) -> list[tuple[str, str, str]]:
    if metric.latency is not None:
        return [("latency", metric.latency, metric.stat), ("average", metric.latency, "Average"),
                ("count", metric.latency, "SampleCount")]
    assert metric.failures is not None and metric.total is not None
    return [("failures", metric.failures, "Sum"), ("total", metric.total, "Sum")]


def app_metric_queries(metrics: tuple[AppMetric, ...], versions: dict[str, str], *, periods: Sequence[int],
                       prefix: str = "") -> list[MetricDataQueryTypeDef]:
    """The application's metrics of every version, ids ``<prefix><role>_m<index><part>``: the metric's fixed
    dimensions and its version dimension set to the version, as the function emits them, each in its own period."""
    queries: list[MetricDataQueryTypeDef] = []
    for role, version in versions.items():
        for index, (metric, period) in enumerate(zip(metrics, periods, strict=True)):
            fixed: list[DimensionTypeDef] = [{"Name": k, "Value": v} for k, v in sorted(metric.dimensions.items())]
            dimensions: list[DimensionTypeDef] = [*fixed, {"Name": metric.version_dimension, "Value": version}]
            for part, name, stat in app_parts(metric):
                metric_stat: MetricStatTypeDef = {
                    "Metric": {"Namespace": metric.namespace, "MetricName": name, "Dimensions": dimensions},
                    "Period": period, "Stat": stat}
                queries.append({"Id": f"{prefix}{role}_m{index}{part}", "MetricStat": metric_stat,
                                "ReturnData": True})
    return queries


def unknown_app_metrics(metrics: list[AppMetric]) -> list[str]:
    """Each application metric CloudWatch does not know, as "<field>: <why>": ListMetrics finds no metric of that
    name in the namespace with those fixed dimensions (it lists what was reported in the last two weeks)."""
    problems = []
    paginator = cloudwatch_client().get_paginator("list_metrics")
    for index, metric in enumerate(metrics):
        fields = ("latency",) if metric.kind == "latency" else ("failures", "total")
        for key in fields:
            name = getattr(metric, key)
            filters: list[DimensionFilterTypeDef] = [{"Name": k, "Value": v} for k, v in metric.dimensions.items()]
            found = any(page.get("Metrics") for page in paginator.paginate(
                Namespace=metric.namespace, MetricName=name, Dimensions=filters))
            if not found:
                dimensions = "".join(f", {k}={v}" for k, v in sorted(metric.dimensions.items()))
                problems.append(f"health.metrics.{index}.{key}: CloudWatch has no metric {name} in namespace "
                                f"{metric.namespace}{' with dimensions' + dimensions[1:] if dimensions else ''} "
                                "(ListMetrics lists what was reported in the last two weeks, a new metric up to "
                                "15 minutes after it first was): check its name, or emit it first")
    return problems
