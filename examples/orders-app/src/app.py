"""orders-api: an API Gateway (proxy) handler, as a team would write one.

Its behaviour comes from its environment so that two versions can be told apart in the embedded run and
the demo: STATUS_CODE (every answer's status, 200 by default), ERROR_RATE (the share of calls that fail
with an exception) and LATENCY_MS (a duration the simulator reports for it). A real function needs none.
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


def _fails(request: str, error_rate: float) -> bool:
    # Deterministic per request id. A numbered request (the embedded run numbers each version's calls) falls on
    # the golden-ratio sequence, which spreads failures evenly: any n consecutive calls hold error_rate * n of
    # them, give or take four, so a scenario reaches the same verdicts on every run however its calls fall into
    # the checks' windows. Other ids (a smoke check's) fall where their hash puts them.
    if request.isdigit():
        return (int(request) * _GOLDEN) % 1.0 < error_rate
    return int(hashlib.sha256(request.encode()).hexdigest()[:8], 16) % 10_000 < error_rate * 10_000


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    env = _environment()
    if _fails(str(event.get("requestId") or (event.get("requestContext") or {}).get("requestId", "")),
              float(env.get("ERROR_RATE", "0"))):
        raise UpstreamError("upstream timed out")
    status = int(env.get("STATUS_CODE", "200"))
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps({"orders": [] if status == 200 else None}),
            "latencyMs": float(env.get("LATENCY_MS", "20"))}
