"""The limit docs/decision-quality.md quotes for healthy passes at low traffic: computed, and consistent with itself."""

from __future__ import annotations

import pytest
from benchmarks.pass_limit import borrowed_baseline_test, conditional_test, known_rate_test


def test_at_fifty_calls_a_minute_no_valid_test_passes_most_healthy_steps() -> None:
    plain, flipped = conditional_test(250, 2250, 0.01, 5.0, 0.005)
    assert plain == pytest.approx(0.552, abs=0.005)
    assert flipped == pytest.approx(0.652, abs=0.005)
    assert known_rate_test(250, 0.01, 5.0, 0.005) == pytest.approx(0.879, abs=0.005)


def test_more_traffic_or_a_looser_level_only_helps_and_knowing_the_rate_helps_most() -> None:
    plain, flipped = conditional_test(250, 2250, 0.01, 5.0, 0.005)
    assert plain <= flipped <= known_rate_test(250, 0.01, 5.0, 0.005)
    assert conditional_test(500, 4500, 0.01, 5.0, 0.005)[0] > plain
    assert conditional_test(250, 2250, 0.01, 5.0, 0.01)[0] > plain
    # Too little to tell (0.05 errors expected): only a coin flip at zero errors passes, as rarely as the level allows.
    assert known_rate_test(5, 0.01, 5.0, 0.005) == pytest.approx(0.005 / 0.7788 * 0.9512, abs=1e-4)


def test_an_earlier_hour_of_baseline_helps_only_while_that_hour_was_like_this_one() -> None:
    """The docs' reason the release compares the versions side by side only: the step's level (0.63% at
    the planned end of a one-step canary), 250 new-version calls, an hour before the release added."""
    level, step, hour = 0.0063, (2250, 0.01), 30_000
    side_by_side = borrowed_baseline_test((250, 0.01), step, (0, 0.01), 5.0, level)
    assert side_by_side == pytest.approx(0.607, abs=0.01)
    assert borrowed_baseline_test((250, 0.01), step, (hour, 0.01), 5.0, level) == pytest.approx(0.829, abs=0.01)
    assert borrowed_baseline_test((250, 0.05), step, (hour, 0.01), 5.0, level) < 0.005
    # An incident in that hour (2% errors): half the 5x regressions look like 2.5x and are promoted.
    assert borrowed_baseline_test((250, 0.05), step, (hour, 0.02), 5.0, level) > 0.4
