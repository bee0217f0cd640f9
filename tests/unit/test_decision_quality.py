"""The decision-quality simulation, small: the real verdict code keeps its promises on known truths."""

from __future__ import annotations

from benchmarks.decision_quality import TRUTHS, Row, rate_of, simulate

from bluegreen.request import HealthConfig


def test_simulated_releases_are_judged_as_their_truth() -> None:
    rows = {(row.truth.name, row.rate): row for row in simulate(releases=60, seed=3)}
    min_calls = HealthConfig().min_invocations

    def row(truth: str, rate: int) -> Row:
        return rows[(next(t.name for t in TRUTHS if t.name.startswith(truth)), rate)]

    # Obvious regressions with enough traffic are always caught, on the first or second check.
    for truth in ("errors 5x", "latency 2x"):
        assert rate_of(row(truth, 1000).ours, True) == 1.0
        assert max(o.checks for o in row(truth, 1000).ours) <= 2
    # Healthy releases are (almost) never rolled back, noisy baseline included.
    for truth in ("healthy", "noisy baseline (5% both)"):
        for rate in (50, 1000, 5000):
            assert rate_of(row(truth, rate).ours, True) <= 0.05
    # Nothing is ever promoted on less evidence than minInvocations.
    assert all(o.rolled_back or o.canary_invocations >= min_calls for r in rows.values() for o in r.ours)
