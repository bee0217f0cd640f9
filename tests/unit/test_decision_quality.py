"""The decision-quality simulation, small: the real verdict code keeps its promises on known truths."""

from __future__ import annotations

from benchmarks.decision_quality import TRUTHS, Row, share, simulate


def test_simulated_releases_are_judged_as_their_truth() -> None:
    rows = {(row.truth.name, row.rate): row for row in simulate(releases=60, seed=3)}

    def row(truth: str, rate: int) -> Row:
        return rows[(next(t.name for t in TRUTHS if t.name.startswith(truth)), rate)]

    # Obvious regressions with enough traffic are always proven worse, on the first or second check.
    for truth in ("errors 5x", "latency 2x"):
        assert share(row(truth, 1000).ours, "proven-worse") == 1.0
        assert max(o.looks for o in row(truth, 1000).ours) <= 2
    # Healthy releases are (almost) never rolled back as worse, noisy baseline included, and at ordinary
    # traffic they pass within the planned bake.
    for truth in ("healthy", "noisy baseline (5% both)"):
        for rate in (50, 1000, 5000):
            assert share(row(truth, rate).ours, "proven-worse") <= 0.05
        assert sum(o.on_time for o in row(truth, 1000).ours) >= 0.95 * 60
    # A 5x error regression is never promoted, at any traffic: at 5 calls/min it bakes on and is rolled
    # back for lack of evidence instead.
    for rate in (5, 50, 100, 1000, 5000):
        assert share(row("errors 5x", rate).ours, "promoted") == 0.0
    assert share(row("healthy", 5).ours, "promoted") == 0.0
