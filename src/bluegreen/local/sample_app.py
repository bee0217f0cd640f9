"""The demo's target function: a tiny API whose behaviour each published version fixes through its
environment (ERROR_RATE, LATENCY_MS), so two versions of it can be told apart by their metrics."""

from __future__ import annotations

import hashlib
from typing import Any

from bluegreen.settings import environment


class UpstreamError(Exception):
    """What the failing version raises on part of its calls."""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    env = environment()  # its version's environment variables (see bluegreen.settings)
    error_rate = float(env.get("ERROR_RATE", "0"))
    # Deterministic per request id, so a scenario gives the same numbers on every run.
    bucket = int(hashlib.sha256(str(event.get("requestId", "")).encode()).hexdigest()[:8], 16) % 10_000
    if bucket < error_rate * 10_000:
        raise UpstreamError("upstream timed out")
    return {"statusCode": 200, "body": "ok", "latencyMs": float(env.get("LATENCY_MS", "20"))}
