"""How often any test could pass a healthy step, given how rarely it may promote a regression.

The decision-quality page (docs/decision-quality.md) says that at 50 new-version calls/min no test can promote healthy
releases within the planned bake much more often than ours without promoting 5x error regressions more
than 0.5% of the time. This computes that limit exactly for one step's counts:

- the uniformly most powerful unbiased test, the best of the unbiased tests that hold the regression's
  promotion rate to ``level`` whatever the old version's error rate is: conditional on all the errors seen, the new
  version's share of them is binomial, and the step passes when that share is small (with and without
  a coin flip at the boundary, which makes its level exact);
- the Neyman-Pearson test told the old version's rate: the best any test can do at all;
- our own pass bound with the old version's calls from before the release added to its baseline (the way
  to approach that best test), both when that earlier rate is today's and when it is not (an incident in
  the hour before, the hour a fix is released in): why the release compares the versions side by side only.

    python benchmarks/pass_limit.py [--new-calls 250] [--old-calls 2250] [--error-rate 0.01] [--ratio 5]
                                    [--prior-calls 30000] [--prior-error-rate 0.02]
"""

from __future__ import annotations

import argparse
import math
import sys

from bluegreen.decisions.stats import ratio_upper_bound


def poisson_pmf(k: int, mean: float) -> float:
    return math.exp(-mean + k * math.log(mean) - math.lgamma(k + 1)) if mean > 0 else float(k == 0)


def binomial_pmf(k: int, n: int, p: float) -> float:
    return math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
                    + k * math.log(p) + (n - k) * math.log1p(-p))


def _poisson_support(mean: float, sds: float = 8.0) -> range:
    """The counts a Poisson of this mean takes but for a negligible tail."""
    spread = sds * math.sqrt(mean + 1.0)
    return range(max(0, int(mean - spread)), int(mean + spread) + 2)


def conditional_test(new_calls: int, old_calls: int, rate: float, ratio: float, level: float) -> tuple[float, float]:
    """(healthy pass rate without, with a coin flip at the boundary) of the conditional test at ``level``."""
    regressed_share = ratio * new_calls / (ratio * new_calls + old_calls)
    healthy_share = new_calls / (new_calls + old_calls)
    mean = rate * (new_calls + old_calls)
    plain = flipped = 0.0
    for total in _poisson_support(mean):
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


def borrowed_baseline_test(new: tuple[int, float], old: tuple[int, float], prior: tuple[int, float],
                           ratio: float, level: float) -> float:
    """How often the release's own pass bound (``ratio_upper_bound`` below ``ratio`` at ``level``) passes when
    the old version's calls from before the release join its calls of the step in the baseline. Each of
    ``new``, ``old`` (the step) and ``prior`` (before it) is (calls, error rate)."""
    new_mean = new[0] * new[1]
    old_mean = old[0] * old[1] + prior[0] * prior[1]
    old_errors = [(b, poisson_pmf(b, old_mean)) for b in _poisson_support(old_mean)]
    passed = 0.0
    for a in _poisson_support(new_mean):
        weight = poisson_pmf(a, new_mean)
        if weight < 1e-12:
            continue
        passed += weight * sum(p for b, p in old_errors
                               if ratio_upper_bound(a, new[0], b, old[0] + prior[0], level) < ratio)
    return passed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--new-calls", type=int, default=250, help="new-version calls in the step (50/min, 5 min)")
    parser.add_argument("--old-calls", type=int, default=2250, help="old-version calls in the step")
    parser.add_argument("--error-rate", type=float, default=0.01, help="both versions' error rate when healthy")
    parser.add_argument("--ratio", type=float, default=5.0, help="the regression: this many times the error rate")
    parser.add_argument("--level", type=float, default=0.005, help="largest chance of promoting the regression")
    parser.add_argument("--prior-calls", type=int, default=0,
                        help="also show our pass bound with this many old-version calls from before the release")
    parser.add_argument("--prior-error-rate", type=float, default=None,
                        help="their error rate (default: --error-rate; higher: an incident in that hour)")
    args = parser.parse_args(argv)
    plain, flipped = conditional_test(args.new_calls, args.old_calls, args.error_rate, args.ratio, args.level)
    known = known_rate_test(args.new_calls, args.error_rate, args.ratio, args.level)
    print(f"{args.new_calls} new-version and {args.old_calls} old-version calls at {args.error_rate:.2%} errors; "
          f"a {args.ratio:g}x regression promoted at most {args.level:.2%} of the time:")
    print(f"  most powerful unbiased test, valid for every old-version rate: passes a healthy step {plain:.1%} "
          f"({flipped:.1%} with a coin flip at the boundary)")
    print(f"  best test told the old version's rate: {known:.1%}")
    if args.prior_calls:
        prior = (args.prior_calls, args.error_rate if args.prior_error_rate is None else args.prior_error_rate)
        old = (args.old_calls, args.error_rate)
        healthy = borrowed_baseline_test((args.new_calls, args.error_rate), old, prior, args.ratio, args.level)
        promoted = borrowed_baseline_test((args.new_calls, args.error_rate * args.ratio), old, prior, args.ratio,
                                          args.level)
        print(f"  our pass bound with {prior[0]} earlier old-version calls at {prior[1]:.2%} errors added to the "
              f"baseline: passes a healthy step {healthy:.1%}, promotes the regression {promoted:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
