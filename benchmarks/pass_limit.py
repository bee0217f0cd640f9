"""How often any test could pass a healthy step, given how rarely it may promote a regression.

The README's decision-quality section says that at 50 new-version calls/min no test can promote healthy
releases within the planned bake much more often than ours without promoting 5x error regressions more
than 0.5% of the time. This computes that limit exactly for one step's counts:

- the uniformly most powerful unbiased test, the best of the unbiased tests that hold the regression's
  promotion rate to ``level`` whatever the old version's error rate is: conditional on all the errors seen, the new
  version's share of them is binomial, and the step passes when that share is small (with and without
  a coin flip at the boundary, which makes its level exact);
- the Neyman-Pearson test told the old version's rate: the best any test can do at all.

    python benchmarks/pass_limit.py [--new-calls 250] [--old-calls 2250] [--error-rate 0.01] [--ratio 5]
"""

from __future__ import annotations

import argparse
import math
import sys


def poisson_pmf(k: int, mean: float) -> float:
    return math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1)) if mean > 0 else float(k == 0)


def binomial_pmf(k: int, n: int, p: float) -> float:
    return math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                    + k * math.log(p) + (n - k) * math.log1p(-p))


def conditional_test(new_calls: int, old_calls: int, rate: float, ratio: float, level: float) -> tuple[float, float]:
    """(healthy pass rate without, with a coin flip at the boundary) of the conditional test at ``level``."""
    regressed_share = ratio * new_calls / (ratio * new_calls + old_calls)
    healthy_share = new_calls / (new_calls + old_calls)
    mean = rate * (new_calls + old_calls)
    spread = 8 * math.sqrt(mean)
    plain = flipped = 0.0
    for total in range(max(0, int(mean - spread)), int(mean + spread) + 1):
        weight = poisson_pmf(total, mean)
        spent = passed = 0.0
        boundary = 0.0
        for k in range(total + 1):
            regressed = binomial_pmf(k, total, regressed_share)
            if spent + regressed > level:
                boundary = (level - spent) / regressed * binomial_pmf(k, total, healthy_share)
                break
            spent += regressed
            passed += binomial_pmf(k, total, healthy_share)
        plain += weight * passed
        flipped += weight * (passed + boundary)
    return plain, flipped


def known_rate_test(new_calls: int, rate: float, ratio: float, level: float) -> float:
    """Healthy pass rate of the Neyman-Pearson test of the new version's errors told the old version's rate."""
    healthy, regressed = rate * new_calls, ratio * rate * new_calls
    spent = passed = 0.0
    for k in range(new_calls + 1):
        if spent + poisson_pmf(k, regressed) > level:
            return passed + (level - spent) / poisson_pmf(k, regressed) * poisson_pmf(k, healthy)
        spent += poisson_pmf(k, regressed)
        passed += poisson_pmf(k, healthy)
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--new-calls", type=int, default=250, help="new-version calls in the step (50/min, 5 min)")
    parser.add_argument("--old-calls", type=int, default=2250, help="old-version calls in the step")
    parser.add_argument("--error-rate", type=float, default=0.01, help="both versions' error rate when healthy")
    parser.add_argument("--ratio", type=float, default=5.0, help="the regression: this many times the error rate")
    parser.add_argument("--level", type=float, default=0.005, help="largest chance of promoting the regression")
    args = parser.parse_args(argv)
    plain, flipped = conditional_test(args.new_calls, args.old_calls, args.error_rate, args.ratio, args.level)
    known = known_rate_test(args.new_calls, args.error_rate, args.ratio, args.level)
    print(f"{args.new_calls} new-version and {args.old_calls} old-version calls at {args.error_rate:.2%} errors; "
          f"a {args.ratio:g}x regression promoted at most {args.level:.2%} of the time:")
    print(f"  most powerful unbiased test, valid for every old-version rate: passes a healthy step {plain:.1%} "
          f"({flipped:.1%} with a coin flip at the boundary)")
    print(f"  best test told the old version's rate: {known:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
