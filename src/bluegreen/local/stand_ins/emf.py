"""Local stand-in for CloudWatch Logs' embedded metric format (EMF) extraction, which moto lacks.

In AWS a function's stdout goes to its log group, and CloudWatch Logs turns each line that is an EMF object into
metrics: for every directive in ``_aws.CloudWatchMetrics``, each metric named in ``Metrics`` (its value, or list
of values, at the object's root), once per dimension set in ``Dimensions`` (each dimension's value at the root),
stamped with ``_aws.Timestamp`` and stored at its ``StorageResolution`` (1: per second; 60 by default). A line
that breaks the format's rules stays a log line and yields no metric.
https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html

Here every handler shares the process: what Powertools Metrics prints while a thread runs a function's calls
(``captured``) is filed under those calls, and extracted from there (``metric_data``).
"""

from __future__ import annotations

import builtins
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any
from unittest import mock

from bluegreen.local.stand_ins.invoker import HandlerRouter, current_function

# The format's limits: dimensions in a set, metrics in a directive, values in a metric's array.
MAX_DIMENSIONS = 30
MAX_METRICS = 100
MAX_VALUES = 100
# PutMetricData takes at most 150 distinct values in one datum.
MAX_VALUES_PER_DATUM = 150

_CAPTURE: ContextVar[list[str] | None] = ContextVar("emf_capture", default=None)


class _RoutedPrint:
    """Powertools Metrics' ``print``: into the ``captured`` block's lines, else into the log of the function whose
    handler runs on this thread (a call the router serves: a verification check's), else printed as before."""

    def __init__(self, router: HandlerRouter | None) -> None:
        self.router = router

    def __call__(self, *values: Any, sep: str | None = " ", end: str | None = "\n", file: Any = None,
                 flush: bool = False) -> None:
        text = (sep if sep is not None else " ").join(map(str, values)) + (end if end is not None else "\n")
        lines = _CAPTURE.get()
        if lines is not None and file is None:
            lines.append(text)
        elif self.router is not None and file is None and current_function() is not None:
            self.router.log(text.rstrip("\n"))
        else:
            builtins.print(*values, sep=sep, end=end, file=file, flush=flush)


@contextmanager
def powertools_metrics_routed(router: HandlerRouter | None = None) -> Iterator[None]:
    """Powertools Metrics prints each EMF object to stdout (in AWS: the function's log group). For the whole run,
    what it prints on a thread inside ``captured`` joins that block's lines (the callers' calls, whose metrics are
    extracted); inside a handler the router serves, the function's log (``router.logs``; its metrics are not
    extracted: a verification check's few calls); anything else prints as before. (Its module's ``print``, not
    ``sys.stdout``: pytest and click swap that in and out while a run lasts.)"""
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf import cloudwatch  # noqa: PLC0415 - local runs only

    with mock.patch.object(cloudwatch, "print", _RoutedPrint(router), create=True):
        yield


def routing() -> bool:
    from aws_lambda_powertools.metrics.provider.cloudwatch_emf import cloudwatch  # noqa: PLC0415

    return isinstance(getattr(cloudwatch, "print", None), _RoutedPrint)


@contextmanager
def captured() -> Iterator[list[str]]:
    """What this thread prints while the block runs (a function's calls), as the list it yields."""
    lines: list[str] = []
    token = _CAPTURE.set(lines)
    try:
        yield lines
    finally:
        _CAPTURE.reset(token)


def _objects(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, dict):
                yield found


def _values(value: Any) -> list[float] | None:
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > MAX_VALUES or not all(isinstance(v, int | float) and not isinstance(v, bool)
                                                         for v in values):
        return None
    return [float(v) for v in values]


def _extracted(emf: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(namespace, datum) for each metric an EMF object declares, as CloudWatch Logs extracts them."""
    meta = emf.get("_aws")
    if not isinstance(meta, dict) or not isinstance(meta.get("Timestamp"), int):
        return
    stamp = datetime.fromtimestamp(meta["Timestamp"] / 1000, UTC)
    for directive in meta.get("CloudWatchMetrics") or []:
        namespace, sets, metrics = directive.get("Namespace"), directive.get("Dimensions"), directive.get("Metrics")
        if not isinstance(namespace, str) or not isinstance(sets, list) or not isinstance(metrics, list) \
                or len(metrics) > MAX_METRICS:
            continue
        for names in sets:
            if not isinstance(names, list) or len(names) > MAX_DIMENSIONS \
                    or not all(isinstance(emf.get(n), str) for n in names):
                continue
            dimensions = [{"Name": n, "Value": emf[n]} for n in names]
            for metric in metrics:
                name = metric.get("Name") if isinstance(metric, dict) else None
                values = _values(emf.get(name)) if isinstance(name, str) else None
                if values is None:
                    continue
                yield namespace, {"MetricName": metric["Name"], "Dimensions": dimensions, "Timestamp": stamp,
                                  "Values": values, "Unit": metric.get("Unit", "None"),
                                  "StorageResolution": 1 if metric.get("StorageResolution") == 1 else 60}


def metric_data(printed: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The metrics CloudWatch Logs would extract from what a function printed, by namespace, as PutMetricData
    data: a metric's values of the same second (or minute, at standard resolution) in one datum, as counts."""
    grouped: dict[tuple[Any, ...], Counter[float]] = defaultdict(Counter)
    for emf in _objects("".join(printed)):
        for namespace, datum in _extracted(emf):
            resolution = datum["StorageResolution"]
            epoch = int(datum["Timestamp"].timestamp())
            key = (namespace, datum["MetricName"], tuple((d["Name"], d["Value"]) for d in datum["Dimensions"]),
                   datum["Unit"], resolution, epoch - epoch % resolution)
            grouped[key].update(datum["Values"])
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (namespace, name, dimensions, unit, resolution, epoch), counts in grouped.items():
        common = {"MetricName": name, "Dimensions": [{"Name": n, "Value": v} for n, v in dimensions],
                  "Timestamp": datetime.fromtimestamp(epoch, UTC), "Unit": unit, "StorageResolution": resolution}
        if unit == "Count":
            # Counts are summed, never ranked: one statistic set (moto stores each counted value on its own).
            found[namespace].append({**common, "StatisticValues": {
                "SampleCount": float(sum(counts.values())), "Sum": sum(v * c for v, c in counts.items()),
                "Minimum": min(counts), "Maximum": max(counts)}})
            continue
        values = sorted(counts)
        for first in range(0, len(values), MAX_VALUES_PER_DATUM):
            chunk = values[first:first + MAX_VALUES_PER_DATUM]
            found[namespace].append({**common, "Values": chunk, "Counts": [float(counts[v]) for v in chunk]})
    return dict(found)
