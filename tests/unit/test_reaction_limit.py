"""What one-minute metrics allow: an oracle judging the onset's minute alone cannot catch 95% of mid-step
regressions within one interval and the delay at 1,000 calls/min (benchmarks/reaction_limit.py)."""

from __future__ import annotations

from benchmarks.reaction_limit import SECONDS, caught_errors, caught_latency


def test_one_interval_and_the_delay_is_too_soon_for_95_percent_at_1000_calls_a_minute() -> None:
    errors = sum(caught_errors(1000, 5, d) for d in SECONDS) / len(SECONDS)
    latency = sum(caught_latency(2, d) for d in SECONDS) / len(SECONDS)
    assert errors < 0.9 and latency < 0.6
    # With the whole minute bad (the next check), the oracle catches 5x errors at once.
    assert caught_errors(1000, 5, 60) > 0.999 and caught_latency(2, 60) == 1.0
