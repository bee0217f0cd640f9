"""Step Functions' 256 KiB quota on a state's input and output, and the largest state a release can make.

``States.DataLimitExceeded`` cannot be caught (not by ``States.ALL`` either): an execution over the quota fails
with its aliases split, and only the abort guardian heals them. So the publish task computes, before anything
changes, the largest state the release could make in its worst case (every check kept, every field at its
longest, every function's result in a Map's output) and refuses an input that would not fit.

The state carries what the next state needs only: the plan, the progress with the release's checks once (at
most ``MAX_CHECKS_KEPT``), and each Map's small per-function results. The sizes here are the models' own
JSON at their longest, not guesses.
"""

from __future__ import annotations

from bluegreen.contracts.health_report import CheckSummary, HealthReport, MetricReport, RuleResult, VersionStats
from bluegreen.contracts.json_model import JsonModel
from bluegreen.contracts.state import (
    CheckResult,
    FunctionNames,
    Outcome,
    Plan,
    Progress,
    Question,
    Shifted,
    Verification,
)
from bluegreen.errors import InvalidInput

# "Maximum input or output size for a task, state, or execution: 256 KiB of data as a UTF-8 encoded string".
STATE_LIMIT_BYTES = 256 * 1024
# Left for what is not modelled: a failed task's error (the Catch's $.error), the Map's context, escaping.
RESERVE_BYTES = 24 * 1024
# The longest texts the tasks write: a health rule's reason, a question; the first function's rollback cause (the
# Fail state quotes it, and the history keeps each whole); in a Map's result (``compact``), any other cause and a
# verification check's reason.
REASON_CHARS = 800
CAUSE_CHARS = 4000
RESULT_CAUSE_CHARS = 300
RESULT_REASON_CHARS = 200
# The most checks a release keeps in its state and output, the latest ones (jobs/health.py): the longest predefined
# strategy makes at most 180, every step extended to maxBakeSeconds.
MAX_CHECKS_KEPT = 200
_LONG_NUMBER = 10**12
_LONG_TIME = "2026-12-31T23:59:59.999999+00:00"


def size(model: JsonModel) -> int:
    return len(model.model_dump_json(by_alias=True).encode())


def _longest(names: list[str]) -> str:
    return max(names, key=len, default="")


def _stats(version: str) -> VersionStats:
    return VersionStats(version=version, invocations=_LONG_NUMBER, errors=_LONG_NUMBER, throttles=_LONG_NUMBER,
                        error_rate=0.123456789, throttle_rate=0.123456789, p50_ms=900000.123, p99_ms=900000.123,
                        average_ms=900000.123)


def worst_progress(plan: Plan) -> Progress:
    """The progress at its largest: every check kept, the longest report, a question naming every function."""
    function = _longest([t.function_name for t in plan.targets])
    version = _longest([t.new_version for t in plan.targets] + [t.old_version or "" for t in plan.targets])
    alarms = list(plan.health.alarms)
    check = CheckSummary(at=_LONG_TIME, step_index=99, weight=99, verdict="inconclusive", decision="ask-operator",
                         invocations=_LONG_NUMBER, errors=_LONG_NUMBER, baseline_invocations=_LONG_NUMBER,
                         baseline_errors=_LONG_NUMBER, p99_ms=900000.123, baseline_p99_ms=900000.123,
                         function_name=function)
    # AWS/Lambda's rules over both windows, and each application metric's.
    rules = [RuleResult(rule="error-rate", window="step", verdict="inconclusive", reason="x" * REASON_CHARS)
             for _ in range(12 + 2 * len(plan.health.metrics))]
    metrics = [MetricReport(name=m.name, measured=m.measured, kind=m.kind, canary=_stats(version),
                            baseline=_stats(version)) for m in plan.health.metrics]
    rules.append(RuleResult(rule="alarms", window="step", verdict="fail", reason=", ".join(alarms) + "x" * 200))
    report = HealthReport(
        verdict="inconclusive", reason=f"{function}: " + "x" * REASON_CHARS, weight=99, step_index=99,
        invocations=_LONG_NUMBER, errors=_LONG_NUMBER, error_rate=0.123456789, canary=_stats(version),
        baseline=_stats(version), recent=_stats(version), rules=rules, alarms_in_alarm=alarms,
        window_start=_LONG_TIME, window_end=_LONG_TIME, ruled_out="x" * REASON_CHARS, needs="x" * REASON_CHARS,
        metrics=metrics)
    question = Question(kind="inconclusive", text="x" * REASON_CHARS, if_approved="next-step",
                        timeout_seconds=604_800, functions=[
                            FunctionNames(function_name=t.function_name, alias=t.alias, old_version=t.old_version,
                                          new_version=t.new_version) for t in plan.targets])
    return Progress(step_index=99, weight=99, next_step_index=99, shifted_at=_LONG_TIME, decision="ask-operator",
                    wait_seconds=86_400, last_check_at=_LONG_TIME, health=report,
                    checks=[check] * MAX_CHECKS_KEPT, question=question)


def _clipped(text: str | None, chars: int) -> str | None:
    return text if text is None or len(text) <= chars else text[:chars - 1] + "…"


def compact(outcome: Outcome, *, keep_cause: bool = False) -> Outcome:
    """A function's outcome as a Map's result carries it (one per function): its cause and its verification
    reasons clipped (the history, the events and the logs have them whole); ``keep_cause`` for the one whose
    cause the Fail state quotes."""
    verification = outcome.verification
    if verification is not None:
        verification = verification.model_copy(update={"results": [
            r.model_copy(update={"reason": _clipped(r.reason, RESULT_REASON_CHARS)}) for r in verification.results]})
    cause = _clipped(outcome.cause, CAUSE_CHARS if keep_cause else RESULT_CAUSE_CHARS)
    return outcome.model_copy(update={"cause": cause, "verification": verification})


def _outcome(plan: Plan, checks_after_promotion: int) -> Outcome:
    target = max(plan.targets, key=lambda t: len(t.function_name) + len(t.alias))
    results = [CheckResult(phase="after-promotion", index=19, kind="hook", target="x" * 140, verdict="failed",
                           reason="x" * RESULT_REASON_CHARS, seconds=900.123)] * checks_after_promotion
    return Outcome(outcome="rolled_back", function_name=target.function_name, alias=target.alias,
                   function_version="1234567890", error="x" * 64, cause="x" * RESULT_CAUSE_CHARS,
                   verification=Verification(function_name=target.function_name, passed=False, results=results))


def worst_state_bytes(plan: Plan) -> int:
    """The largest state the release can make (its input or output of any state, a Map's result array
    included), in bytes of JSON."""
    functions = len(plan.targets)
    if not functions:
        return size(plan)
    checks = max((len(t.verify.after_promotion) if t.verify else 0) for t in plan.targets)
    before = max((len(t.verify.before_traffic) if t.verify else 0) + sum(len(s.checks) for s in t.stages)
                 for t in plan.targets)
    plan_bytes, progress_bytes = size(plan), size(worst_progress(plan))
    function = _longest([t.function_name for t in plan.targets])
    shifted = Shifted(shifted_at=_LONG_TIME, step_index=99, weight=99, function_name=function)
    verified = Verification(function_name=function, passed=False, results=[
        CheckResult(phase="stage", stage="x" * 128, index=19, kind="hook", target="x" * 140, verdict="failed",
                    reason="x" * RESULT_REASON_CHARS, seconds=900.123)] * before)
    results = functions * size(_outcome(plan, checks)) + CAUSE_CHARS
    # Between tasks the state holds the plan and the progress, with the shift Map's results on a step's first
    # check (the Maps of promote, verify and roll back keep a count); each Map's result array must fit on its
    # own, and a rollback iteration's input is the whole state.
    return max(plan_bytes + progress_bytes + functions * size(shifted), results, functions * size(verified))


def check_fits(plan: Plan) -> None:
    """InvalidInput when the release's worst-case state would be over Step Functions' quota."""
    worst = worst_state_bytes(plan)
    if worst + RESERVE_BYTES > STATE_LIMIT_BYTES:
        raise InvalidInput(
            f"targets: this release's state could reach {worst:,} bytes (with {RESERVE_BYTES // 1024} KiB for errors), "
            f"over Step Functions' {STATE_LIMIT_BYTES // 1024} KiB per state, which fails an execution uncaught: "
            "release fewer functions at once, or give them fewer or smaller verification checks")
