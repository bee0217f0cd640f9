"""What the rules judge and say: one version's numbers over a window, the share of calls its weight routed to it,
and a rule's verdict with its reason in words and numbers."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from bluegreen.contracts.health_config import HealthConfig
from bluegreen.contracts.health_report import RuleName, Verdict


@dataclass(frozen=True)
class Window:
    """One version's numbers over a window of time."""

    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    average_ms: float | None = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.invocations if self.invocations else None

    @property
    def throttle_rate(self) -> float | None:
        requests = self.invocations + self.throttles
        return self.throttles / requests if requests else None


def invocation_weighted(values: Iterable[tuple[float | None, float]]) -> float | None:
    """A per-period statistic (p50, p99, mean) over several periods: each known value weighted by its
    period's invocations. None when no period has one."""
    known = [(value, weight) for value, weight in values if value is not None]
    total = sum(weight for _, weight in known)
    return sum(value * weight for value, weight in known) / total if total else None


@dataclass(frozen=True)
class Rule:
    rule: RuleName
    verdict: Verdict
    reason: str
    # What a pass ruled out, in words ("error rate at most 1.4x the old version's").
    bound: str | None = None


def rate_text(window: Window) -> str:
    return f"{window.error_rate or 0.0:.2%} ({window.errors}/{window.invocations})"


def p_text(value: float) -> str:
    return f"{value:.2g}"


def times_text(value: float) -> str:
    """A ratio as people read it: "1.04x", "17x", "unbounded"."""
    if math.isinf(value):
        return "unbounded"
    return f"{value:.2f}x" if value < 10 else f"{value:.3g}x"


@dataclass(frozen=True)
class Share:
    """One settled period's requests (invocations and throttles) of the new version and of the alias, and the
    share of the alias's requests the weights routed to the new version then (Lambda routes each call by them,
    at random)."""

    canary: int
    total: int
    expected: float


def pass_level(config: HealthConfig) -> float:
    """The level at which a pass rules out mustRuleOut when the caller names none (a single look)."""
    return 1.0 - config.confidence
