"""Decision quality of the health check: simulated releases with a known truth, judged by the real code.

Each simulated release is one canary step of the default strategy (Canary10Percent5Minutes: 10% of
the alias on the new version, baked 5 minutes, checked every 60 s, extended up to 10 minutes while
the evidence is inconclusive). Every minute, the canary and the baseline get Poisson traffic and
errors at their true rates, and a p99 drawn exactly as the 99th percentile of that minute's calls;
then the check-health Lambda's own ``judge`` and ``decide`` say what happens. The same minutes are
also judged by a CodeDeploy-style static alarm: the alias's Errors (1-minute Sum) above a threshold
set at twice a normal minute's errors.

    python benchmarks/decision_quality.py [--releases N] [--seed S] [--markdown]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from statistics import NormalDist

from bluegreen import strategy as strategies
from bluegreen.health import decide, judge
from bluegreen.release import plan_checks
from bluegreen.request import HealthConfig
from bluegreen.state import Plan, Progress, TargetPlan
from bluegreen.verdict import Window

STRATEGY = "Canary10Percent5Minutes"
CANARY_SHARE = 0.10
BASELINE_ERROR_RATE = 0.01
LATENCY_MEDIAN_MS = 50.0
LATENCY_SIGMA = 0.5  # log-normal spread: p99 about 3.2x the median
TRAFFIC = (5, 50, 100, 1000, 5000)  # invocations of the new version per minute
_NORMAL = NormalDist()


@dataclass(frozen=True)
class Truth:
    name: str
    regressed: bool
    canary_error_rate: float
    baseline_error_rate: float = BASELINE_ERROR_RATE
    latency_ratio: float = 1.0


TRUTHS = (
    Truth("healthy (1% errors both)", False, BASELINE_ERROR_RATE),
    Truth("noisy baseline (5% both)", False, 0.05, baseline_error_rate=0.05),
    Truth("latency 1.2x (within 1.5x)", False, BASELINE_ERROR_RATE, latency_ratio=1.2),
    Truth("errors 1.5x (1% -> 1.5%)", True, 0.015),
    Truth("errors 2x (1% -> 2%)", True, 0.02),
    Truth("errors 5x (1% -> 5%)", True, 0.05),
    Truth("noisy baseline, errors 2x (5% -> 10%)", True, 0.10, baseline_error_rate=0.05),
    Truth("latency 2x", True, BASELINE_ERROR_RATE, latency_ratio=2.0),
)


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam < 30:  # Knuth: exact for the small counts where it matters most
        limit, k, product = math.exp(-lam), 0, rng.random()
        while product > limit:
            k += 1
            product *= rng.random()
        return k
    return max(0, round(rng.gauss(lam, math.sqrt(lam))))


def percentile_of_minute(rng: random.Random, calls: int, median_ms: float, rank: float) -> float | None:
    """The nearest-rank percentile of ``calls`` log-normal durations, drawn in O(1):
    the k-th smallest of n uniforms is Beta(k, n - k + 1)."""
    if calls == 0:
        return None
    k = max(1, math.ceil(rank * calls))
    u = rng.betavariate(k, calls - k + 1)
    return median_ms * math.exp(LATENCY_SIGMA * _NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12)))


def mean_of_minute(rng: random.Random, calls: int, median_ms: float) -> float | None:
    """The mean of ``calls`` log-normal durations (central limit: normal around the true mean)."""
    if calls == 0:
        return None
    mean = median_ms * math.exp(LATENCY_SIGMA**2 / 2)
    spread = mean * math.sqrt(math.exp(LATENCY_SIGMA**2) - 1) / math.sqrt(calls)
    return max(0.0, rng.gauss(mean, spread))


@dataclass
class Minute:
    canary: Window
    baseline: Window


def simulate_minute(rng: random.Random, truth: Truth, canary_rate: float) -> Minute:
    baseline_rate = canary_rate * (1 - CANARY_SHARE) / CANARY_SHARE
    windows = []
    for calls_per_minute, error_rate, latency in (
        (canary_rate, truth.canary_error_rate, LATENCY_MEDIAN_MS * truth.latency_ratio),
        (baseline_rate, truth.baseline_error_rate, LATENCY_MEDIAN_MS),
    ):
        calls = poisson(rng, calls_per_minute)
        errors = min(calls, poisson(rng, calls * error_rate))
        windows.append(Window(invocations=calls, errors=errors,
                              p50_ms=percentile_of_minute(rng, calls, latency, 0.50),
                              p99_ms=percentile_of_minute(rng, calls, latency, 0.99),
                              average_ms=mean_of_minute(rng, calls, latency)))
    return Minute(*windows)


def combined(minutes: list[Minute], role: str) -> Window:
    """Several minutes as one window, as the evidence module aggregates CloudWatch periods."""
    parts: list[Window] = [getattr(m, role) for m in minutes]

    def weighted(values: list[tuple[float | None, int]]) -> float | None:
        known = [(v, n) for v, n in values if v is not None and n]
        total = sum(n for _, n in known)
        return sum(v * n for v, n in known) / total if total else None

    return Window(invocations=sum(p.invocations for p in parts), errors=sum(p.errors for p in parts),
                  p50_ms=weighted([(p.p50_ms, p.invocations) for p in parts]),
                  p99_ms=weighted([(p.p99_ms, p.invocations) for p in parts]),
                  average_ms=weighted([(p.average_ms, p.invocations) for p in parts]))


def release_plan() -> Plan:
    steps = strategies.plan_predefined(STRATEGY)
    health = HealthConfig()
    cadence = plan_checks(health, steps)
    target = TargetPlan(function_name="bench", alias="live", old_version="1", new_version="2", action="shift")
    return Plan(targets=[target], action="shift", strategy=steps.name, weights=list(steps.weights),
                step_count=len(steps.weights),
                bake_seconds=steps.bake_seconds, health=health, check_interval_seconds=cadence.interval,
                max_bake_seconds=cadence.max_bake, checks_planned=cadence.planned)


@dataclass
class Outcome:
    rolled_back: bool
    checks: int
    canary_invocations: int


def run_ours(plan: Plan, minutes: list[Minute]) -> Outcome:
    """The release as the state machine runs it: one check per minute until a decision."""
    progress = Progress(step_index=0, weight=10, next_step_index=1, is_last_step=True)
    for check in range(1, len(minutes) + 1):
        seen = minutes[:check]
        recent = (seen[-1].canary, seen[-1].baseline) if check > 1 else None
        judgement = judge(plan, (combined(seen, "canary"), combined(seen, "baseline")), recent, [])
        decision, _ = decide(plan, progress, judgement.verdict, check * plan.check_interval_seconds)
        if decision != "bake":
            return Outcome(decision == "rollback", check, combined(seen, "canary").invocations)
    raise AssertionError("the decision came later than maxBakeSeconds")


def run_static_alarm(plan: Plan, minutes: list[Minute], truth: Truth, canary_rate: float) -> Outcome:
    """Errors of the whole alias in a minute above twice a normal minute's: roll back; else promote."""
    alias_rate = canary_rate / CANARY_SHARE
    threshold = max(1.0, 2 * truth.baseline_error_rate * alias_rate)
    bake_checks = plan.bake_seconds // plan.check_interval_seconds
    for check, minute in enumerate(minutes[:bake_checks], 1):
        if minute.canary.errors + minute.baseline.errors > threshold:
            return Outcome(True, check, 0)
    return Outcome(False, bake_checks, sum(m.canary.invocations for m in minutes[:bake_checks]))


@dataclass
class Row:
    truth: Truth
    rate: int
    ours: list[Outcome] = field(default_factory=list)
    alarm: list[Outcome] = field(default_factory=list)


def rate_of(outcomes: list[Outcome], rolled_back: bool) -> float:
    return sum(o.rolled_back == rolled_back for o in outcomes) / len(outcomes)


def within(outcomes: list[Outcome], checks: int) -> float:
    return sum(o.rolled_back and o.checks <= checks for o in outcomes) / len(outcomes)


def median_checks(outcomes: list[Outcome]) -> str:
    caught = [o.checks for o in outcomes if o.rolled_back]
    return f"{statistics.median(caught):g}" if caught else "-"


def simulate(releases: int, seed: int) -> list[Row]:
    plan = release_plan()
    max_checks = math.ceil(plan.max_bake_seconds / plan.check_interval_seconds)
    rows = []
    for truth in TRUTHS:
        for rate in TRAFFIC:
            rng = random.Random(f"{seed}-{truth.name}-{rate}")
            row = Row(truth, rate)
            for _ in range(releases):
                minutes = [simulate_minute(rng, truth, rate) for _ in range(max_checks)]
                row.ours.append(run_ours(plan, minutes))
                row.alarm.append(run_static_alarm(plan, minutes, truth, rate))
            rows.append(row)
    return rows


def table(rows: list[Row], markdown: bool) -> str:
    header = ["truth", "new-version calls/min", "bluegreen: rolled back", "within 2 checks", "median checks",
              "promoted below minInvocations", "static alarm: rolled back", "alarm median checks"]
    lines = []
    for row in rows:
        min_calls = HealthConfig().min_invocations
        thin = sum(not o.rolled_back and o.canary_invocations < min_calls for o in row.ours)
        lines.append([
            row.truth.name + (" [regressed]" if row.truth.regressed else " [healthy]"), str(row.rate),
            f"{rate_of(row.ours, True):.1%}", f"{within(row.ours, 2):.1%}" if row.truth.regressed else "",
            median_checks(row.ours), str(thin), f"{rate_of(row.alarm, True):.1%}", median_checks(row.alarm),
        ])
    if markdown:
        out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(header)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), *(fmt.format(*cells) for cells in lines)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--releases", type=int, default=1000, help="simulated releases per row (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for the README)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    rows = simulate(args.releases, args.seed)
    print(table(rows, args.markdown))
    print(f"\n{args.releases} releases per row, {STRATEGY} ({CANARY_SHARE:.0%} canary, 5 checks of 60 s, "
          f"up to 10 while inconclusive), default health settings; {time.monotonic() - started:.0f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
