"""The check task: read the step's settled metrics, judge them (``decisions.judge``) and act on the decision.

Each check reads every function's canary and baseline since the step's shift (one GetMetricData
call per 41 functions), judges each function against its own old version, and lets the most
cautious verdict decide for the whole release. For each function it
judges two windows, the whole step (the evidence that can promote) and the last check interval
(so a regression starting mid-step is caught within one interval, not diluted by the healthy
minutes before it), and turns the verdict into the next move: bake on, next step, promote or
roll back. No evidence is never "healthy": inconclusive bakes on up to maxBakeSeconds, then
rolls back (or asks an operator, when the input says so).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from bluegreen.aws import controls, evidence, notify
from bluegreen.aws.aliases import expect, weights_at
from bluegreen.aws.pacing import paced
from bluegreen.contracts.health_report import CheckSummary, HealthReport, MetricReport, VersionStats
from bluegreen.contracts.payload import MAX_CHECKS_KEPT
from bluegreen.contracts.state import EarlyPromotion, Plan, Progress, TargetPlan
from bluegreen.contracts.tasks import CheckTask, step_progress
from bluegreen.decisions.app_metrics import AppEvidence
from bluegreen.decisions.cadence import resolution_of
from bluegreen.decisions.judge import PRECEDENCE, Judgement, decide, judge, question_for
from bluegreen.decisions.settled import Span, expected_share, wait_for
from bluegreen.decisions.settled import span_of as settled_span
from bluegreen.decisions.windows import Share, Window

logger = logging.getLogger(__name__)


def _stats(version: str, window: Window) -> VersionStats:
    return VersionStats(version=version, invocations=window.invocations, errors=window.errors,
                        throttles=window.throttles, error_rate=window.error_rate, throttle_rate=window.throttle_rate,
                        p50_ms=window.p50_ms, p99_ms=window.p99_ms, average_ms=window.average_ms)


def span_of(plan: Plan, progress: Progress, now: datetime, delay: int | None = None,
            resolution: int | None = None) -> Span:
    """The periods the check judges: the step's, as far as they have settled (``settled``) ``delay`` late, in periods
    no finer than ``resolution`` (default: AWS/Lambda's delay and resolution)."""
    shifted = datetime.fromisoformat(progress.shifted_at) if progress.shifted_at else now
    return settled_span(shifted, now, interval=plan.check_interval_seconds,
                        delay=plan.metric_delay_seconds if delay is None else delay,
                        resolution=plan.standard_resolution_seconds if resolution is None else resolution)


def app_delays(plan: Plan) -> list[int]:
    """How late each application metric is: its own metricDelaySeconds, else the release's."""
    return [plan.metric_delay_seconds if m.metric_delay_seconds is None else m.metric_delay_seconds
            for m in plan.health.metrics]


def app_spans(plan: Plan, progress: Progress, now: datetime) -> list[Span]:
    """Each application metric's settled periods, by its own delay (it may be readable sooner than AWS/Lambda's) and
    resolution (a high-resolution one in periods of the check interval, however short)."""
    return [span_of(plan, progress, now, delay, resolution_of(metric, plan.standard_resolution_seconds))
            for delay, metric in zip(app_delays(plan), plan.health.metrics, strict=True)]


def subject_of(plan: Plan, target: TargetPlan) -> evidence.Subject:
    versions = {"canary": target.new_version}
    if target.old_version:
        versions["baseline"] = target.old_version
    return evidence.Subject(target.function_name, target.alias, versions, tuple(plan.health.metrics))


def app_evidence(plan: Plan, series: evidence.Series, spans: list[Span], baseline: bool) -> tuple[AppEvidence, ...]:
    """Each application metric's windows over its own settled periods: the step's, and its last interval."""
    roles = ("canary", "baseline") if baseline else ("canary",)
    found = []
    for index, (metric, span) in enumerate(zip(plan.health.metrics, spans, strict=True)):
        step = [series.app_window(role, index, metric, None, span.end) for role in roles]
        since = span.recent_start
        recent = [series.app_window(role, index, metric, since, span.end) for role in roles] if since else None
        found.append(AppEvidence(metric, (step[0], step[1] if baseline else None),
                                 (recent[0], recent[1] if baseline else None) if recent else None,
                                 tuple(dict.fromkeys(series.app_unreported("canary", index, metric, span.end)))))
    return tuple(found)


def shares_of(plan: Plan, progress: Progress, series: evidence.Series, span: Span,
              since: datetime | None = None) -> list[Share]:
    """Each settled period's requests of the new version and of the alias, with the share the weights routed to
    the new version, from the period after the shift's (an alias's new weights take a moment to reach every
    caller)."""
    canary = series.requests("canary", span.end)
    baseline = series.requests("baseline", span.end)
    previous = plan.weights[progress.step_index - 1] if progress.step_index > 0 else 0
    return [Share(canary.get(t, 0), canary.get(t, 0) + baseline.get(t, 0),
                  expected_share(t, span.period, span.shifted, progress.weight, previous))
            for t in sorted(set(canary) | set(baseline)) if t > span.start and (since is None or t >= since)]


def report_from(plan: Plan, target: TargetPlan, progress: Progress, series: evidence.Series, span: Span, *,
                in_alarm: list[str], spans: list[Span] | None = None) -> HealthReport:
    """The verdict on one function's step from its settled series (see ``evidence.fetch_many``) and the alarms."""
    canary = series.window("canary", until=span.end)
    baseline = series.window("baseline", until=span.end) if target.old_version else None
    recent: tuple[Window, Window | None] | None = None
    since = span.recent_start
    if since is not None:
        recent = (series.window("canary", since, span.end),
                  series.window("baseline", since, span.end) if baseline else None)
    shares = (shares_of(plan, progress, series, span), shares_of(plan, progress, series, span, since)
              if since is not None else [])
    app = app_evidence(plan, series, spans or [span] * len(plan.health.metrics), bool(target.old_version))
    if span.coverage <= 0 and not any(s.coverage > 0 for s in spans or []):
        judgement = Judgement("inconclusive", f"no settled metrics yet: AWS/Lambda's are {plan.metric_delay_seconds} s "
                              "late, and the step's first settled period is still to come", [])
    else:
        judgement = judge(plan, (canary, baseline), recent, in_alarm, span.coverage,
                          shares=shares if target.old_version else None, first=span.first_coverage, app=app)
    return HealthReport(
        verdict=judgement.verdict, reason=judgement.reason, weight=progress.weight, step_index=progress.step_index,
        invocations=canary.invocations, errors=canary.errors, error_rate=canary.error_rate,
        canary=_stats(target.new_version, canary),
        baseline=_stats(target.old_version, baseline) if target.old_version and baseline else None,
        recent=_stats(target.new_version, recent[0]) if recent else None,
        rules=judgement.rules, alarms_in_alarm=in_alarm,
        window_start=span.start.isoformat(), window_end=span.end.isoformat(), ruled_out=judgement.ruled_out,
        needs=judgement.needs,
        metrics=[MetricReport(name=e.metric.name, measured=e.metric.measured, kind=e.metric.kind,
                              canary=_stats(target.new_version, e.step[0]),
                              baseline=_stats(target.old_version, e.step[1]) if target.old_version and e.step[1]
                              else None) for e in app],
    )


def check(plan: Plan, progress: Progress, now: datetime | None = None,
          promote_now: EarlyPromotion | None = None) -> tuple[Progress, list[tuple[TargetPlan, HealthReport]]]:
    """One check of every shifting function, each judged against its own old version; the worst decides
    for all. Returns the progress the state machine goes on with, and every function's report.

    ``promote_now`` is an operator's request to skip the remaining steps: taken unless the check fails.
    """
    now = now or datetime.now(UTC)
    targets = plan.shifting
    if not targets:
        raise ValueError("a release with no function shifting traffic has nothing to check")
    span = span_of(plan, progress, now)
    spans = app_spans(plan, progress, now)
    end = max([span.end, span.start + timedelta(seconds=span.period), *(s.end for s in spans)])
    series = evidence.fetch_many([subject_of(plan, t) for t in targets], start=min(s.start for s in [span, *spans]),
                                 end=end, period=span.period, app_periods=[s.period for s in spans])
    in_alarm = evidence.alarms_in_alarm(plan.health.alarms)
    judged = [(target, report_from(plan, target, progress, found, span, in_alarm=in_alarm, spans=spans))
              for target, found in zip(targets, series, strict=True)]
    return _conclude(plan, judged, progress, now, promote_now=promote_now, span=span, spans=spans), judged


def _conclude(plan: Plan, judged: list[tuple[TargetPlan, HealthReport]], progress: Progress, now: datetime, *,
              promote_now: EarlyPromotion | None, span: Span, spans: list[Span]) -> Progress:
    """The next move from every function's verdict on the settled part of the step: the most cautious one's
    decision (bake: until the settled data has grown enough for the soonest next check), reported with that
    function's evidence. A failing check rolls back whatever an operator asked."""
    decided = [(target, report, *decide(plan, progress, report.verdict, span.coverage)) for target, report in judged]
    target, report, decision, _ = min(decided, key=lambda d: PRECEDENCE[d[2]])
    more = min((w for _, _, d, w in decided if d == decision), default=0)
    # The next check once any judged metric has grown: an application metric readable sooner than AWS/Lambda's
    # is judged at its own pace (a failure on it shows sooner), while passing waits for all of them.
    delays = [plan.metric_delay_seconds, *app_delays(plan)]
    wait = min(wait_for(s, now, d, more) for s, d in zip([span, *spans], delays, strict=True)) \
        if decision == "bake" else 0
    if promote_now is not None and decision != "rollback" and report.verdict != "fail":
        decision, wait = "promote", 0
    question = None if promote_now is not None else question_for(plan, progress, decision)
    if question is not None:
        decision, wait = "ask-operator", 0
    if plan.several:
        report = report.model_copy(update={"reason": f"{target.function_name}: {report.reason}"})
    summary = CheckSummary(
        at=now.isoformat(), step_index=progress.step_index, weight=progress.weight, verdict=report.verdict,
        decision=decision, invocations=report.canary.invocations, errors=report.canary.errors,
        baseline_invocations=report.baseline.invocations if report.baseline else None,
        baseline_errors=report.baseline.errors if report.baseline else None,
        p99_ms=report.canary.p99_ms, baseline_p99_ms=report.baseline.p99_ms if report.baseline else None,
        function_name=target.function_name if plan.several else None,
    )
    return progress.model_copy(update={
        "decision": decision, "wait_seconds": wait, "last_check_at": now.isoformat(), "health": report,
        "checks": [*progress.checks, summary][-MAX_CHECKS_KEPT:], "question": question,
        "promoted_early": promote_now if decision == "promote" else None,
    })


def checked_event(target: TargetPlan, report: HealthReport, decided: CheckSummary) -> dict[str, Any]:
    """One function's "Health Checked" event: its own numbers, and what the release decided."""
    own = decided.model_copy(update={
        "verdict": report.verdict, "invocations": report.canary.invocations, "errors": report.canary.errors,
        "baseline_invocations": report.baseline.invocations if report.baseline else None,
        "baseline_errors": report.baseline.errors if report.baseline else None,
        "p99_ms": report.canary.p99_ms, "baseline_p99_ms": report.baseline.p99_ms if report.baseline else None})
    return {**own.model_dump(mode="json", by_alias=True), "functionName": target.function_name,
            "alias": target.alias, "newVersion": target.new_version, "reason": report.reason,
            **({"metrics": [m.model_dump(mode="json", by_alias=True) for m in report.metrics]} if report.metrics
               else {})}


def ensure_where_left(plan: Plan, progress: Progress) -> None:
    """AliasDrift when an alias is not where this release put it (someone moved it by hand): the release
    then stops at once, and the alias stays as they made it, instead of baking on without traffic."""
    with paced():
        for target in plan.shifting:
            assert target.old_version is not None  # a shifting target has one
            expect(target.function_name, target.alias,
                   [(target.old_version, weights_at(target.new_version, progress.weight))])


def run(task: CheckTask) -> Progress:
    """The check task: every alias where the release left it, an operator's "promote now" read, every
    function judged, a "Health Checked" event sent per function, and the decision logged with its evidence."""
    progress = step_progress(task.plan, task.progress)
    ensure_where_left(task.plan, progress)
    promote_now = controls.pending_promotion(task.execution_arn)
    progress, judged = check(task.plan, progress, promote_now=promote_now)
    logger.info("health checked", extra={
        "decision": progress.decision, "waitSeconds": progress.wait_seconds,
        "report": progress.health.model_dump(mode="json", by_alias=True) if progress.health else None})
    details = [checked_event(target, report, progress.checks[-1]) for target, report in judged]
    for problem in notify.emit_many("Health Checked", task.execution_arn, details):
        logger.warning(problem)
    return progress
