"""An alias's recent traffic, as publish and ``plan`` read it from CloudWatch (``aws.evidence``) or are told it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Traffic:
    """The alias's calls per minute (every version) and the old version's error rate, and where they came from
    ("the last hour", "given"); ``minutes``: how many periods of that history had any call (0: no history)."""

    calls_per_minute: float
    error_rate: float
    source: str
    minutes: int = 60
