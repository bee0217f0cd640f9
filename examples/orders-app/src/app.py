"""orders-api: an API Gateway (proxy) handler, as a team would write one.

Its behaviour comes from its environment so that two versions can be told apart in the embedded run and
the demo: STATUS_CODE (every answer's status, 200 by default), SERVER_ERROR_RATE (the share of answers that are
500s: a failure Lambda counts as a success), ERROR_RATE (the share of calls that fail with an exception) and
LATENCY_MS (a duration the simulator reports for it). A real function needs none.

With POWERTOOLS_METRICS_NAMESPACE set it emits, per call, the metrics bluegreen judges each version by
(``health.metrics``): Requests, Responses5xx and CheckoutLatency, one-second resolution, with the executed version
as the FunctionVersion dimension (embedded metric format: one log line, no API call).
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Any

_GOLDEN = (5**0.5 - 1) / 2


class UpstreamError(Exception):
    """What a failing version raises on part of its calls."""


def _environment() -> Any:
    # In the embedded run each call gets its version's variables as its context (bluegreen.aws.settings);
    # in Lambda, os.environ.
    try:
        from bluegreen.aws.settings import environment  # noqa: PLC0415 - absent in Lambda, which has os.environ
    except ImportError:
        return os.environ
    return environment()


def _fails(request: str, error_rate: float, offset: float = 0.0) -> bool:
    # Deterministic per request id. A numbered request (the embedded run numbers each version's calls) falls on
    # the golden-ratio sequence, which spreads failures evenly: any n consecutive calls hold error_rate * n of
    # them, give or take four, so a scenario reaches the same verdicts on every run however its calls fall into
    # the checks' windows. Other ids (a smoke check's) fall where their hash puts them.
    if request.isdigit():
        return (int(request) * _GOLDEN + offset) % 1.0 < error_rate
    return int(hashlib.sha256(request.encode()).hexdigest()[:8], 16) % 10_000 < error_rate * 10_000


def _emit_metrics(env: Any, context: Any, status: int, latency_ms: float) -> None:
    namespace = env.get("POWERTOOLS_METRICS_NAMESPACE")
    if not namespace:
        return
    # Imported here: a function that emits no metrics pays nothing for them.
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricResolution, MetricUnit  # noqa: PLC0415

    # One set per call (EphemeralMetrics shares nothing between instances), flushed as it ends.
    metrics = EphemeralMetrics(namespace=namespace)
    metrics.add_dimension(name="Service", value="orders")
    # The executed version ("7"), not the alias: what tells the new version's answers from the old one's.
    metrics.add_dimension(name="FunctionVersion", value=context.function_version)
    metrics.add_metric(name="Requests", unit=MetricUnit.Count, value=1, resolution=MetricResolution.High)
    metrics.add_metric(name="Responses5xx", unit=MetricUnit.Count, value=int(status >= 500),
                       resolution=MetricResolution.High)
    metrics.add_metric(name="CheckoutLatency", unit=MetricUnit.Milliseconds, value=latency_ms,
                       resolution=MetricResolution.High)
    metrics.flush_metrics()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    env = _environment()
    request = str(event.get("requestId") or (event.get("requestContext") or {}).get("requestId", ""))
    if _fails(request, float(env.get("ERROR_RATE", "0"))):
        raise UpstreamError("upstream timed out")
    status = int(env.get("STATUS_CODE", "200"))
    if _fails(request, float(env.get("SERVER_ERROR_RATE", "0")), offset=0.5):
        status = 500
    latency_ms = float(env.get("LATENCY_MS", "20"))
    _emit_metrics(env, context, status, latency_ms)
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps({"orders": [] if status == 200 else None}),
            "latencyMs": latency_ms}
