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


class UpstreamError(Exception):
    """What a failing version raises on part of its calls."""


def _environment() -> Any:
    # In the embedded run each call gets its version's variables as its context (bluegreen.settings);
    # in Lambda, os.environ.
    try:
        from bluegreen.settings import environment  # noqa: PLC0415 - absent in Lambda, which has os.environ
    except ImportError:
        return os.environ
    return environment()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    env = _environment()
    # Deterministic per request id, so a scenario gives the same numbers on every run.
    request = str(event.get("requestId") or (event.get("requestContext") or {}).get("requestId", ""))
    bucket = int(hashlib.sha256(request.encode()).hexdigest()[:8], 16) % 10_000
    if bucket < float(env.get("ERROR_RATE", "0")) * 10_000:
        raise UpstreamError("upstream timed out")
    status = int(env.get("STATUS_CODE", "200"))
    return {"statusCode": status, "headers": {"content-type": "application/json"},
            "body": json.dumps({"orders": [] if status == 200 else None}),
            "latencyMs": float(env.get("LATENCY_MS", "20"))}
