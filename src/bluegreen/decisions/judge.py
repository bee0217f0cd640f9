"""Judging a step, with no AWS in reach: the verdict of a check from the windows' counts and the alarms, the
levels its tests may spend at each look, and what the release does next (bake on, next step, promote, roll back
or ask an operator). The check Lambda (``jobs.health``) feeds it what CloudWatch settled; the simulations of
``plan`` and the benchmark feed it simulated periods, so both are judged by the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bluegreen.contracts.health_report import Decision, Onward, RuleResult, Verdict
from bluegreen.contracts.state import FunctionNames, Plan, Progress, Question
from bluegreen.decisions import spending
from bluegreen.decisions.app_metrics import AppEvidence, metric_rules
from bluegreen.decisions.missing_calls import missing_calls_rule
from bluegreen.decisions.verdict import alarm_rule, error_bounds, judge_window, overall, ruled_out
from bluegreen.decisions.windows import Rule, Share, Window

# Clock slack: a Wait state ends a little early or late; a step this close to its bake is done.
_SLACK_SECONDS = 0.25


def judged_looks(plan: Plan) -> int:
    """How many times a step may be checked: every interval up to maxBakeSeconds."""
    return max(1, math.ceil(plan.max_bake_seconds / max(1, plan.check_interval_seconds)))


@dataclass(frozen=True)
class Looks:
    """A step's checks on settled data: the first covers ``first`` seconds (less than an interval when the shift
    fell inside a period), each next one an interval more."""

    first: float
    interval: int
    planned: int  # the look whose data first covers the planned bake
    looks: int  # ... and maxBakeSeconds

    def covering(self, seconds: float) -> int:
        return 1 + max(0, math.ceil((seconds - self.first) / self.interval - 1e-9))

    def of(self, elapsed: float) -> int:
        return min(self.looks, 1 + max(0, round((elapsed - self.first) / self.interval)))

    def coverage(self, look: int) -> float:
        return self.first + (look - 1) * self.interval


def looks_of(plan: Plan, first: float | None = None) -> Looks:
    interval = max(1, plan.check_interval_seconds)
    start = interval if first is None else max(1.0, first)
    looks = Looks(start, interval, 1, 1)
    return Looks(start, interval, looks.covering(plan.bake_seconds),
                 max(judged_looks(plan), looks.covering(plan.max_bake_seconds)))


def levels_at(plan: Plan, elapsed: float, first: float | None = None,
              step: tuple[Window, Window | None] | None = None) -> spending.Levels:
    """The levels of a check's tests when the settled data covers ``elapsed`` seconds of the step, its first check
    having covered ``first``: the release's budget spent over its steps and their looks (spending.py). With the
    step's counts, the pass budget opens at the first look where those sample sizes could pass at all."""
    looks = looks_of(plan, first)
    look = looks.of(elapsed)
    passable = passable_from(plan, looks, step, elapsed) if step is not None else None
    return spending.step_levels(plan.health.confidence, max(1, plan.step_count), looks.planned, looks.looks, look,
                                passable_from=passable)


def passable_from(plan: Plan, looks: Looks, step: tuple[Window, Window | None], elapsed: float) -> int:
    """The first look from the planned end at which a new version failing nothing could rule out mustRuleOut's
    error rate, its calls (and the old version's) at each look scaled from the traffic seen so far: a function
    that never fails needs a few hundred calls to rule out one point of errors, however long it bakes."""
    canary, baseline = step
    alpha = spending.first_pass_level(plan.health.confidence, max(1, plan.step_count), looks.planned, looks.looks)
    tolerance = plan.health.must_rule_out
    look = looks.of(elapsed)
    for candidate in range(looks.planned, look):
        scale = looks.coverage(candidate) / max(1.0, elapsed)
        zero = Window(invocations=round(canary.invocations * scale))
        old = Window(invocations=round(baseline.invocations * scale), errors=round(baseline.errors * scale)) \
            if baseline is not None else None
        ratio, above = error_bounds(zero, old, alpha)
        if zero.invocations >= plan.health.min_invocations and (
                ratio < tolerance.error_rate_ratio or above < tolerance.error_rate_margin):
            return candidate
    return max(looks.planned, look)


def _results(rules: list[Rule], window: str) -> list[RuleResult]:
    return [RuleResult(rule=r.rule, window=window, verdict=r.verdict, reason=r.reason)
            for r in rules]


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    reason: str
    rules: list[RuleResult]
    ruled_out: str | None = None
    needs: str | None = None


# The share of a window's harm level the missing-calls test may spend: beside the error, latency and throttle
# tests it would otherwise add its own false rollbacks to theirs; a 20% hang at 100 calls/min is still p < 1e-6.
MISSING_CALLS_SHARE = 0.1

# How much more of the same evidence is tried when telling what would decide an inconclusive step.
_MORE_EVIDENCE = (1.25, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64)


def _scaled(window: Window, factor: float) -> Window:
    return Window(invocations=round(window.invocations * factor), errors=round(window.errors * factor),
                  throttles=round(window.throttles * factor), p50_ms=window.p50_ms, p99_ms=window.p99_ms,
                  average_ms=window.average_ms)


def more_evidence(plan: Plan, step: tuple[Window, Window | None], levels: spending.Levels, elapsed: float) -> str:
    """What would decide an inconclusive step: how many more calls (and minutes at this traffic) of the same
    rates it takes for the evidence to rule out mustRuleOut, or that no amount would."""
    canary, baseline = step
    if not canary.invocations:
        if baseline is not None and baseline.invocations:
            # The alias had callers: too few for the weight to route any to the new version.
            return (f"the new version got none of the alias's {baseline.invocations:,} calls: raise the step's "
                    "weight, or bake longer (maxBakeSeconds)")
        return "the new version got no calls: route traffic to the alias, or raise the first step's weight"
    for factor in _MORE_EVIDENCE:
        scaled = (_scaled(canary, factor), _scaled(baseline, factor) if baseline else None)
        rules = judge_window(*scaled, plan.health, levels.whole, levels.rule_out)
        verdict, _ = overall(rules)
        if verdict == "pass":
            calls = math.ceil(canary.invocations * (factor - 1))
            seconds = max(elapsed, 1.0) * (factor - 1)
            more = (f"{math.ceil(seconds)} more second(s)" if seconds < 120
                    else f"{math.ceil(seconds / 60)} more minute(s)")
            return (f"about {calls:,} more calls of the new version (about {more} at this traffic) would have "
                    "ruled out mustRuleOut, if its rates stayed as seen")
        if verdict == "fail":
            break
    return ("at the rates seen, no amount of traffic would rule out mustRuleOut: the new version looks worse than "
            "the tolerance allows")




def judge(plan: Plan, step: tuple[Window, Window | None], recent: tuple[Window, Window | None] | None,
          in_alarm: list[str], elapsed: float, *, shares: tuple[list[Share], list[Share]] | None = None,
          first: float | None = None, explain: bool = True, app: tuple[AppEvidence, ...] = ()) -> Judgement:
    """The verdict from (canary, baseline) over the whole step and over the last interval, and the alarms,
    at a check ``elapsed`` seconds into the step.

    The step decides pass (its evidence rules out mustRuleOut) or inconclusive; either window can fail
    the release. ``explain=False`` skips telling what more evidence would decide (simulations need only
    the verdict, and that search judges the step a dozen times more). ``app``: the application's own metrics,
    judged over the same two windows at the same levels as the error rate.
    """
    levels = levels_at(plan, elapsed, first, step)
    # AWS/Lambda's metrics and each application metric are judged at an equal part of each window's harm level:
    # more metrics judged, not more false rollbacks (a second rate at the full level nearly doubled them).
    part = 1 / (1 + len(app))
    step_rules = judge_window(*step, plan.health, levels.whole * part, levels.rule_out)
    recent_rules = judge_window(*recent, plan.health, levels.recent * part) if recent else []
    if shares is not None:
        # ``shares``: (the step's settled periods, the last interval's) for the calls that never come back. Its
        # harm test takes a small part of each window's level: a hang worth failing for shows at once.
        step_rules.append(missing_calls_rule(shares[0], plan.health, levels.whole * MISSING_CALLS_SHARE,
                                             levels.rule_out))
        if recent and shares[1]:
            recent_rules.append(missing_calls_rule(shares[1], plan.health, levels.recent * MISSING_CALLS_SHARE))
    for metric in app:
        step_rules += metric_rules(metric, plan.health, levels.whole * part, levels.rule_out)
        recent_rules += metric_rules(metric, plan.health, levels.recent * part, recent=True)
    recent_failures = [r for r in recent_rules if r.verdict == "fail"]
    ignored = plan.alarms_in_alarm_at_start if plan.health.only_alarms_ok_at_start else []
    alarms = alarm_rule(in_alarm, ignored)
    verdict, reason = overall([alarms, *recent_failures, *step_rules])
    rules = [*_results(step_rules, "step"), *_results(recent_failures, "recent"), *_results([alarms], "step")]
    excluded = ruled_out(step_rules, plan.health.confidence) if verdict == "pass" else None
    needs = more_evidence(plan, step, levels, elapsed) if verdict == "inconclusive" and explain else None
    unsure_metrics = [r.reason for r in step_rules if r.rule.startswith("metric-") and r.verdict == "inconclusive"]
    if unsure_metrics:
        # What AWS/Lambda's counts would need says nothing of the application's metric that is short: its reason
        # says what is missing.
        needs = None
    return Judgement(verdict, reason, rules, excluded or None, needs)


# How far past its bake the last step's settled data must reach before the release is promoted, in check
# intervals: a regression that begins in the bake's last seconds is then seen before it is promoted. (An earlier
# step passes at its bake: a regression beginning at its end goes on into the next step, whose checks see it.)
PAST_BAKE_INTERVALS = 0.5


def passing_coverage(plan: Plan, progress: Progress) -> float:
    """The settled seconds of a step before it may pass: its bake, and a little past it before a promotion."""
    past = PAST_BAKE_INTERVALS * plan.check_interval_seconds if progress.is_last_step else 0.0
    return plan.bake_seconds + past


def decide(plan: Plan, progress: Progress, verdict: str, elapsed: float) -> tuple[Decision, int]:
    """(decision, seconds to wait before the next check) for a verdict ``elapsed`` s into the step."""
    if verdict == "fail":
        # A proven failure is never put to a vote: onInconclusive governs inconclusive ends only.
        return "rollback", 0
    interval = plan.check_interval_seconds
    passing = passing_coverage(plan, progress)
    if elapsed < passing - _SLACK_SECONDS:
        return "bake", max(1, min(interval, math.ceil(passing - elapsed)))
    if verdict == "pass":
        return ("promote" if progress.is_last_step else "next-step"), 0
    # Inconclusive after the bake: wait for evidence, but not forever, and never promote on none.
    if elapsed < plan.max_bake_seconds - _SLACK_SECONDS:
        return "bake", max(1, min(interval, math.ceil(plan.max_bake_seconds - elapsed)))
    return ("ask-operator" if plan.health.on_inconclusive == "wait-for-operator" else "rollback"), 0


def question_for(plan: Plan, progress: Progress, decision: str) -> Question | None:
    """What to ask an operator before ``decision``, if the input wants one asked."""
    onward: Onward = "promote" if progress.is_last_step else "next-step"
    # A release of one function names it in the question's event (a release of several lists them all).
    about: dict[str, Any] = {} if plan.several or not plan.targets else {
        "function_name": plan.targets[0].function_name, "alias": plan.targets[0].alias,
        "old_version": plan.targets[0].old_version, "new_version": plan.targets[0].new_version}
    about["functions"] = [FunctionNames(function_name=t.function_name, alias=t.alias, old_version=t.old_version,
                                        new_version=t.new_version) for t in plan.targets]
    if decision == "ask-operator":
        return Question(kind="inconclusive", if_approved=onward, timeout_seconds=plan.health.operator_timeout_seconds,
                        text=f"The new version's health is still inconclusive at {progress.weight}% after "
                             f"{plan.max_bake_seconds} s. Approve to go on ({onward}) or reject to roll back.",
                        **about)
    approval = plan.approval
    if approval and decision in ("next-step", "promote") and (approval.before == "each-step" or decision == "promote"):
        target = "promote to 100%" if decision == "promote" else f"shift to {plan.weights[progress.next_step_index]}%"
        return Question(kind="approval", if_approved=onward, timeout_seconds=approval.timeout_seconds,
                        text=f"The new version passed at {progress.weight}%. "
                             f"Approve to {target}, or reject to roll back.", **about)
    return None


# The decision that wins when the functions of a release disagree: any rollback rolls back every one.
PRECEDENCE = {"rollback": 0, "ask-operator": 1, "bake": 2, "next-step": 3, "promote": 3}
