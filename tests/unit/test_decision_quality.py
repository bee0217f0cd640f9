"""The decision-quality simulation, small: the real verdict code keeps its promises on known truths, judged as AWS
delivers the metrics (one-minute periods, 180 s late, the shift anywhere in a minute)."""

from __future__ import annotations

from benchmarks.decision_quality import Row, share, simulate


def test_simulated_releases_are_judged_as_their_truth() -> None:
    rows = {(row.truth.name, row.rate): row for row in simulate(releases=60, seed=3)}

    def row(truth: str, rate: int) -> Row:
        return rows[(truth, rate)]

    # Obvious regressions with enough traffic are always proven worse, on the first or second settled check.
    for truth in ("errors 5x (1% -> 5%)", "latency 2x", "20% of calls hang"):
        assert share(row(truth, 1000).ours, "proven-worse") == 1.0, truth
        assert max(o.looks for o in row(truth, 1000).ours) <= 2, truth
    # Healthy releases are (almost) never rolled back as worse, noisy baseline and no errors at all included, and
    # at ordinary traffic they pass when the settled data covers the planned bake.
    for truth in ("healthy (1% errors both)", "noisy baseline (5% both)", "healthy (no errors either)"):
        for rate in (1000, 5000):
            assert share(row(truth, rate).ours, "proven-worse") <= 0.05, truth
        assert sum(o.on_time for o in row(truth, 1000).ours) >= 0.95 * 60, truth
    assert sum(o.on_time for o in row("healthy (no errors either)", 120).ours) >= 0.9 * 60
    # A 5x error regression is never promoted, at any traffic: at 5 calls/min it bakes on and is rolled back for
    # lack of evidence instead; nor is one that starts in the bake's last minute, nor 20% of calls hanging.
    for rate in (5, 50, 100, 1000, 5000):
        assert share(row("errors 5x (1% -> 5%)", rate).ours, "promoted") <= 1 / 60
    # (A regression starting in the bake's last seconds is seen only in the half interval past it: the bench
    # measures the latency row at 0.8% promoted on 1,000 releases; 60 here.)
    assert share(row("errors 5x in the bake's last minute", 1000).ours, "promoted") == 0.0
    assert share(row("latency 2x in the bake's last minute", 1000).ours, "promoted") <= 2 / 60
    assert share(row("20% of calls hang", 100).ours, "promoted") == 0.0
    assert share(row("errors 0% -> 2%", 120).ours, "promoted") == 0.0
    assert share(row("healthy (1% errors both)", 5).ours, "promoted") == 0.0
    # The application's own 5xx rate, judged beside AWS/Lambda's unchanged errors: a regression on it alone is caught
    # as one on the error rate is, and a healthy one is not rolled back for the second metric judged.
    assert share(row("app metric: 5xx 5x (0.5% -> 2.5%)", 1000).ours, "proven-worse") == 1.0
    assert share(row("app metric: 5xx 0% -> 2%", 120).ours, "promoted") == 0.0
    for rate in (1000, 5000):
        assert share(row("app metric: healthy (5xx 0.5% both)", rate).ours, "proven-worse") <= 0.05
