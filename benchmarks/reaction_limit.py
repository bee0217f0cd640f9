"""The fastest any judge of AWS/Lambda's one-minute metrics can react: a regression beginning mid-step, rolled back
within one check interval and the metrics' delay (and 5 s) of its onset.

By then the settled data holds the regression only in the period its onset fell in: ``d`` seconds of it, from 5 s to
65 s, uniformly (the onset falls anywhere in a minute). CloudWatch returns that minute as one sum of calls and
errors, one mean and one p99: the bad seconds cannot be told from the good ones in it. This script computes, for
an oracle that knows the old version's rate exactly and tests that one minute alone at the *whole* step's harm
budget (far more than any single look may spend), the share of onsets it could catch:

- errors: exact Poisson test of the minute's errors against the old rate;
- latency: the minute's mean duration against the old mean, with the health rule's practical threshold (1.5x:
  ``maxLatencyRatio``), which a diluted minute must exceed, noise aside.

    python benchmarks/reaction_limit.py [--calls-per-minute N ...]
"""

from __future__ import annotations

import argparse
import sys

from bluegreen.decisions.stats import binomial_upper_tail

OLD_ERROR_RATE = 0.01
BUDGET = 0.01 * 0.8  # the whole step's harm budget: 1 - confidence, its HARM_SHARE (spending.py)
SECONDS = [5 + i * 0.5 for i in range(121)]  # the bad seconds in the onset's minute: 5 .. 65


def caught_errors(calls_per_minute: float, factor: float, seconds: float) -> float:
    """P(an exact test at BUDGET finds the minute's errors too many) with ``seconds`` of it ``factor`` worse."""
    calls = round(calls_per_minute)
    critical = next(k for k in range(calls + 2) if binomial_upper_tail(k, calls, OLD_ERROR_RATE) <= BUDGET)
    bad = min(seconds, 60) / 60
    rate = OLD_ERROR_RATE * (1 + (factor - 1) * bad)
    return binomial_upper_tail(critical, calls, rate)


def caught_latency(ratio: float, seconds: float, threshold: float = 1.5) -> float:
    """1 when the minute's mean, ``seconds`` of it ``ratio`` times slower, exceeds the rule's threshold."""
    bad = min(seconds, 60) / 60
    return 1.0 if 1 + (ratio - 1) * bad > threshold else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--calls-per-minute", type=float, nargs="*", default=[1000, 5000])
    args = parser.parse_args(argv)
    print("| new-version calls/min | errors 5x caught within one interval + delay | latency 2x |")
    print("|---|---|---|")
    for rate in args.calls_per_minute:
        errors = sum(caught_errors(rate, 5, d) for d in SECONDS) / len(SECONDS)
        latency = sum(caught_latency(2, d) for d in SECONDS) / len(SECONDS)
        print(f"| {rate:g} | at most {errors:.1%} | at most {latency:.1%} |")
    print("\nan oracle testing the onset's minute alone at the whole step's budget; target 95%", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
