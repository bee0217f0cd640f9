"""Decision quality of the health check: simulated releases with a known truth, judged by the real code.

Each simulated release is one canary step of the default strategy (Canary10Percent5Minutes: 10% of
the alias on the new version, baked 5 minutes, checked every 60 s, extended up to 10 minutes while
the evidence cannot yet rule out ``mustRuleOut``), with the default health settings. The releases go
through ``bluegreen.decisions.simulation`` (the engine ``bluegreen plan`` uses): Poisson traffic and
errors per minute, p50/p99 drawn as order statistics, the check Lambda's own ``judge`` and ``decide``.
The same kind of minutes are also judged by a CodeDeploy-style static alarm: the alias's Errors
(1-minute Sum) above twice a normal minute's errors.

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

from bluegreen.contracts.health_config import AppMetric, HealthConfig
from bluegreen.contracts.state import Plan, TargetPlan
from bluegreen.decisions import strategy as strategies
from bluegreen.decisions.sampling import poisson
from bluegreen.decisions.simulation import Outcome, Truth, simulate_release
from bluegreen.jobs.release import plan_checks

STRATEGY = "Canary10Percent5Minutes"
CANARY_SHARE = 0.10
BASELINE_ERROR_RATE = 0.01
TRAFFIC = (5, 50, 100, 1000, 5000)  # invocations of the new version per minute
LATE_TRAFFIC = (1000, 5000)
BAKE_SECONDS = 300
# Mid-step regressions begin in the third minute of the step, anywhere in it; late ones in the bake's last.
MID_STEP_ONSET, LATE_ONSET, ONSET_SPREAD = 120, BAKE_SECONDS - 60, 60

# (truth, the traffic it is simulated at)
ROWS: tuple[tuple[Truth, tuple[int, ...]], ...] = (
    (Truth("healthy (no errors either)", False, 0.0, baseline_error_rate=0.0), (5, 60, 120, 1000, 5000)),
    (Truth("healthy (0.1% errors both)", False, 0.001, baseline_error_rate=0.001), TRAFFIC),
    (Truth("healthy (1% errors both)", False, BASELINE_ERROR_RATE), TRAFFIC),
    (Truth("noisy baseline (5% both)", False, 0.05, baseline_error_rate=0.05), TRAFFIC),
    (Truth("latency 1.2x (within 1.5x)", False, BASELINE_ERROR_RATE, latency_ratio=1.2), TRAFFIC),
    (Truth("errors 1.5x (1% -> 1.5%)", True, 0.015), TRAFFIC),
    (Truth("errors 2x (1% -> 2%)", True, 0.02), TRAFFIC),
    (Truth("errors 5x (1% -> 5%)", True, 0.05), TRAFFIC),
    (Truth("errors 0% -> 2%", True, 0.02, baseline_error_rate=0.0), (60, 120, 1000)),
    (Truth("noisy baseline, errors 2x (5% -> 10%)", True, 0.10, baseline_error_rate=0.05), TRAFFIC),
    (Truth("latency 2x", True, BASELINE_ERROR_RATE, latency_ratio=2.0), TRAFFIC),
    (Truth("20% of calls hang", True, BASELINE_ERROR_RATE, hang_rate=0.2), (50, 100, 1000, 5000)),
    (Truth("errors 5x from minute 3", True, 0.05, onset_seconds=MID_STEP_ONSET, onset_spread=ONSET_SPREAD),
     LATE_TRAFFIC),
    (Truth("errors 2x from minute 3", True, 0.02, onset_seconds=MID_STEP_ONSET, onset_spread=ONSET_SPREAD),
     LATE_TRAFFIC),
    (Truth("latency 2x from minute 3", True, BASELINE_ERROR_RATE, latency_ratio=2.0, onset_seconds=MID_STEP_ONSET,
           onset_spread=ONSET_SPREAD), LATE_TRAFFIC),
    (Truth("errors 5x in the bake's last minute", True, 0.05, onset_seconds=LATE_ONSET, onset_spread=ONSET_SPREAD),
     LATE_TRAFFIC),
    (Truth("latency 2x in the bake's last minute", True, BASELINE_ERROR_RATE, latency_ratio=2.0,
           onset_seconds=LATE_ONSET, onset_spread=ONSET_SPREAD), LATE_TRAFFIC),
)
# The application's own rate metric (health.metrics: HTTP 5xx over requests, per version), judged beside
# AWS/Lambda's: the new version answers 500s that Lambda counts as successes (its errors stay at the old one's).
HTTP_5XX = AppMetric(name="http-5xx", namespace="OrdersApp", failures="Responses5xx", total="Requests")
APP_ROWS: tuple[tuple[Truth, tuple[int, ...]], ...] = (
    (Truth("app metric: healthy (5xx 0.5% both)", False, BASELINE_ERROR_RATE, app_failure_rate=0.005,
           app_baseline_failure_rate=0.005), TRAFFIC),
    (Truth("app metric: 5xx 5x (0.5% -> 2.5%)", True, BASELINE_ERROR_RATE, app_failure_rate=0.025,
           app_baseline_failure_rate=0.005), TRAFFIC),
    (Truth("app metric: 5xx 0% -> 2%", True, BASELINE_ERROR_RATE, app_failure_rate=0.02), (60, 120, 1000)),
    (Truth("app metric: 5xx 5x from minute 3", True, BASELINE_ERROR_RATE, app_failure_rate=0.025,
           app_baseline_failure_rate=0.005, onset_seconds=MID_STEP_ONSET, onset_spread=ONSET_SPREAD), LATE_TRAFFIC),
)
ROWS += APP_ROWS
TRUTHS = tuple(truth for truth, _ in ROWS)


def release_plan(health: HealthConfig | None = None) -> Plan:
    steps = strategies.plan_predefined(STRATEGY)
    health = health or HealthConfig()
    cadence = plan_checks(health, steps)
    target = TargetPlan(function_name="bench", alias="live", old_version="1", new_version="2", action="shift")
    return Plan(targets=[target], action="shift", strategy=steps.name, weights=list(steps.weights),
                step_count=len(steps.weights),
                bake_seconds=steps.bake_seconds, health=health, check_interval_seconds=cadence.interval,
                max_bake_seconds=cadence.max_bake, checks_planned=cadence.planned,
                metric_delay_seconds=cadence.delay, first_check_seconds=cadence.first_check,
                standard_resolution_seconds=cadence.resolution)


def static_alarm(plan: Plan, truth: Truth, canary_rate: float, rng: random.Random) -> Outcome:
    """Errors of the whole alias in a minute above twice a normal minute's: roll back; else promote."""
    alias_rate = canary_rate / CANARY_SHARE
    threshold = max(1.0, 2 * truth.baseline_error_rate * alias_rate)
    looks = plan.bake_seconds // plan.check_interval_seconds
    for look in range(1, looks + 1):
        bad = look * plan.check_interval_seconds > truth.onset_seconds
        canary = poisson(rng, canary_rate * (truth.canary_error_rate if bad else truth.baseline_error_rate))
        baseline = poisson(rng, (alias_rate - canary_rate) * truth.baseline_error_rate)
        if canary + baseline > threshold:
            return Outcome("proven-worse", look * plan.check_interval_seconds, look, 0, False)
    return Outcome("promoted", plan.bake_seconds, looks, 0, True)


@dataclass
class Row:
    truth: Truth
    rate: int
    ours: list[Outcome] = field(default_factory=list)
    alarm: list[Outcome] = field(default_factory=list)


def share(outcomes: list[Outcome], ending: str) -> float:
    return sum(o.ending == ending for o in outcomes) / len(outcomes)


def caught_by_check(outcomes: list[Outcome], checks: int, interval: int, delay: int) -> float:
    """Rolled back as proven worse by the ``checks``-th check whose settled data holds the regression's onset: the
    onset's period settles whole a period (here an interval) and the delay after it begins, and 5 s."""
    return caught_within(outcomes, checks + 1, interval, delay)


def caught_within(outcomes: list[Outcome], checks: int, interval: int, delay: int) -> float:
    """Rolled back as proven worse within ``checks`` check intervals and the metrics' delay (and 5 s) of the
    regression's onset."""
    return sum(o.ending == "proven-worse" and o.seconds <= o.onset + checks * interval + delay + 5
               for o in outcomes) / len(outcomes)


def median_minutes(outcomes: list[Outcome], ending: str, onset: bool = False) -> str:
    times = [(o.seconds - (o.onset if onset else 0)) / 60 for o in outcomes if o.ending == ending]
    return f"{statistics.median(times):.3g}" if times else "-"


def simulate(releases: int, seed: int, plan: Plan | None = None, only: str = "") -> list[Row]:
    plan = plan or release_plan()
    # The application metric's rows: the same release, with health.metrics naming it.
    app_plan = plan.model_copy(update={"health": plan.health.model_copy(update={"metrics": [HTTP_5XX]})})
    rows = []
    for truth, traffic in ROWS:
        if only not in truth.name:
            continue
        judged = app_plan if truth.app_failure_rate is not None else plan
        for rate in traffic:
            rng = random.Random(f"{seed}-{truth.name}-{rate}")
            row = Row(truth, rate)
            for _ in range(releases):
                row.ours.append(simulate_release(judged, rate / CANARY_SHARE, truth, rng))
                row.alarm.append(static_alarm(plan, truth, rate, rng))
            rows.append(row)
    return rows


HEADER = ["truth", "new-version calls/min", "promoted", "promoted within the planned bake (+ delay)",
          "rolled back: proven worse", "caught within 1 / 2 checks (+ delay) of onset",
          "caught by the 1st / 2nd check seeing the onset", "not proven healthy by maxBake",
          "median minutes to promote / to roll back (after onset)", "static alarm: rolled back"]


def cells(row: Row, interval: int, delay: int) -> list[str]:
    truth, ours = row.truth, row.ours
    caught = (f"{caught_within(ours, 1, interval, delay):.1%} / {caught_within(ours, 2, interval, delay):.1%}"
              if truth.regressed else "")
    seen = (f"{caught_by_check(ours, 1, interval, delay):.1%} / {caught_by_check(ours, 2, interval, delay):.1%}"
            if truth.regressed else "")
    return [
        truth.name + (" [regressed]" if truth.regressed else " [healthy]"), str(row.rate),
        f"{share(ours, 'promoted'):.1%}",
        "" if truth.regressed else f"{sum(o.on_time for o in ours) / len(ours):.1%}",
        f"{share(ours, 'proven-worse'):.1%}", caught, seen, f"{share(ours, 'not-proven'):.1%}",
        f"{median_minutes(ours, 'promoted')} / {median_minutes(ours, 'proven-worse', onset=True)}",
        f"{share(row.alarm, 'proven-worse'):.1%}",
    ]


def table(rows: list[Row], markdown: bool, interval: int = 60, delay: int = 180) -> str:
    lines = [cells(row, interval, delay) for row in rows]
    if markdown:
        out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
        out += ["| " + " | ".join(c) + " |" for c in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(c[i]) for c in lines)) for i, h in enumerate(HEADER)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*HEADER), *(fmt.format(*c) for c in lines)])


def noise(rate: float, releases: int) -> float:
    """Half the width, in points, of the 95% interval of a share measured on ``releases`` releases."""
    return 196 * math.sqrt(rate * (1 - rate) / max(1, releases))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--releases", type=int, default=1000, help="simulated releases per row (default 1000)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--only", default="", help="only the truths whose name contains this")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table (for the README)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    plan = release_plan()
    rows = simulate(args.releases, args.seed, plan, only=args.only)
    print(table(rows, args.markdown, plan.check_interval_seconds, plan.metric_delay_seconds))
    print(f"\n{args.releases} releases per row, {STRATEGY} ({CANARY_SHARE:.0%} canary, checks every 60 s on one-minute "
          f"periods {plan.metric_delay_seconds} s late, 5 minutes of settled data planned, up to 10 while "
          f"inconclusive), default health settings; {time.monotonic() - started:.0f} s", file=sys.stderr)
    print(f"Sampling noise (95%): a share near 50% is within {noise(0.5, args.releases):.1f} points of the true rate, "
          f"near 1% within {noise(0.01, args.releases):.1f}; --releases 10000 (a row at a time: --only) for finer",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
