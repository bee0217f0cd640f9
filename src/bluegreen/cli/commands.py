"""The operator commands behind the ``bluegreen`` CLI: plain functions over a Stack, returning exit codes."""

from __future__ import annotations

import getpass
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.table import Table

from bluegreen.aws import controls, history
from bluegreen.aws.aliases import read_alias
from bluegreen.aws.evidence import recent_traffic
from bluegreen.cli import executions
from bluegreen.cli.deployed_stack import Stack
from bluegreen.cli.local_run import local_run
from bluegreen.cli.plan import DryRun, dry_run, shipped_definition, simulated
from bluegreen.cli.progress import ProgressPrinter, bar, describe_check, describe_verification
from bluegreen.contracts import state_names
from bluegreen.contracts.request import parse_request
from bluegreen.contracts.state import EarlyPromotion
from bluegreen.decisions.alias_traffic import Traffic
from bluegreen.decisions.outlook import detection
from bluegreen.errors import InvalidInput

# Exit codes a script can rely on.
EXIT_PROMOTED = 0
EXIT_ROLLED_BACK = 1  # rolled back, or aborted (the alias restored by the guardian)
EXIT_REJECTED = 2  # the input was refused (nothing changed), or a usage error
EXIT_FAILED = 3  # the release failed in a way the alias may not be whole: look at it
EXIT_NOTHING = 4  # no such execution, or nothing to act on (no pending question, already ended)
EXIT_BY_OUTCOME = {"promoted": EXIT_PROMOTED, "rolled_back": EXIT_ROLLED_BACK, "aborted": EXIT_ROLLED_BACK,
                   "rejected": EXIT_REJECTED, "failed": EXIT_FAILED, "running": EXIT_PROMOTED}


def who() -> str:
    """The caller as AWS knows them (STS GetCallerIdentity), else the local user name."""
    try:
        return str(boto3.client("sts").get_caller_identity()["Arn"])
    except (BotoCoreError, ClientError):
        pass
    try:
        return getpass.getuser()
    except OSError:
        return "unknown"


def with_cli_trigger(request: dict[str, Any]) -> dict[str, Any]:
    """The request as the CLI starts it: its trigger the CLI and the caller's identity, unless it names one."""
    return {**request, "trigger": request.get("trigger") or {"source": "cli", "requestedBy": who()}}


def execution_name(label: str) -> str:
    """A unique execution name that says what it releases, so that people can tell executions apart."""
    return f"{label}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"[:80]


def start(stack: Stack, request: dict[str, Any], name: str | None = None) -> str:
    """Start a release."""
    label = "-".join(str(request.get(k, "")) for k in ("functionName", "alias")).rsplit(":", 1)[-1]
    if isinstance(request.get("targets"), list):
        label = f"{len(request['targets'])}-functions"
    name = name or execution_name(label)
    return str(executions.sfn_client().start_execution(
        stateMachineArn=stack.state_machine_arn, name=name, input=json.dumps(request))["executionArn"])


def follow(execution_arn: str, console: Console, timeout: float = 7 * 24 * 3600) -> executions.ExecutionResult:
    """Print a release's progress on ``console`` until it ends, then its outcome; the result."""
    name = execution_arn.rsplit(":", 1)[-1]
    result = executions.wait(execution_arn, timeout=timeout, poll=1.0,
                             on_event=ProgressPrinter(console, execution_name=name))
    colour = {"promoted": "green", "rejected": "yellow"}.get(result.outcome, "red")
    console.print(f"[{colour}]{result.outcome.upper()}[/] {name}" + (f": {result.error}: {result.cause}"
                                                                   if result.error else ""))
    return result


def watch(execution_arn: str, console: Console, timeout: float = 7 * 24 * 3600) -> int:
    return EXIT_BY_OUTCOME[follow(execution_arn, console, timeout).outcome]


def ended_json(result: executions.ExecutionResult) -> dict[str, Any]:
    """How a release ended, for --json: the execution, its outcome and status, and why."""
    return {"execution": result.arn.rsplit(":", 1)[-1], "executionArn": result.arn, "outcome": result.outcome,
            "executionStatus": result.status, "error": result.error, "cause": result.cause}


def status(stack: Stack, execution_arn: str) -> dict[str, Any]:
    """Where a release is now: its status, every alias's weights, the last check, a pending question."""
    desc = executions.sfn_client().describe_execution(executionArn=execution_arn)
    events = executions.history(execution_arn)
    results = executions.task_results(events)
    plan = next((out["plan"] for state, out in results if state == state_names.PUBLISH), None)
    checks = [out for state, out in results if state == state_names.CHECK]
    question = executions.pending_question(events)
    targets = plan["targets"] if plan else []
    now = {f"{t['functionName']}:{t['alias']}": _alias_now(t["functionName"], t["alias"]) for t in targets}
    release_keys = ("functionName", "alias", "oldVersion", "newVersion")
    release = {"targets": [{k: t[k] for k in release_keys} for t in targets], "strategy": plan["strategy"],
               "weights": plan["weights"]} if plan else None
    if release and len(targets) == 1:
        release.update(release["targets"][0])  # a release of one function: its versions at the top too
    return {
        "execution": execution_arn, "status": desc["status"], "error": desc.get("error"), "cause": desc.get("cause"),
        "release": release,
        # A release of one function: its alias; every function's alias is under "aliases".
        "alias": next(iter(now.values())) if len(now) == 1 else None,
        "aliases": now,
        "lastCheck": checks[-1] if checks else None,
        # Every verification check that has passed so far (a failed one is the execution's error and cause).
        "verification": [{"functionName": v["functionName"], **r} for state, out in results
                         if state in (state_names.VERIFY, state_names.PROMOTE)
                         for v in [out if state == state_names.VERIFY else out.get("verification")] if v
                         for r in v["results"]],
        "waitingFor": {k: question[k] for k in ("kind", "question", "weight", "ifApproved")} if question else None,
    }


def _alias_now(function_name: str, alias: str) -> dict[str, Any] | None:
    found = read_alias(function_name, alias)
    return {"functionVersion": found.function_version, "additionalVersionWeights": found.additional_weights} \
        if found else None


def print_status(console: Console, state: dict[str, Any]) -> None:
    table = Table(title=state["execution"].rsplit(":", 1)[-1], show_header=False)
    table.add_row("status", state["status"] + (f" ({state['error']}: {state['cause']})" if state["error"] else ""))
    if state["release"]:
        r = state["release"]
        steps = f"({r['strategy']}: {' → '.join(f'{w}%' for w in [*r['weights'], 100])})"
        for t in r["targets"]:
            table.add_row("release", f"{t['functionName']}:{t['alias']} {t['oldVersion']} → {t['newVersion']} {steps}")
    for check in state["verification"]:
        table.add_row("verified", f"{check['functionName']}: {describe_verification(check)}")
    aliases = {"alias": state["alias"]} if state["alias"] else state["aliases"]
    for name, alias in aliases.items():
        if alias is None:
            continue
        weights = alias["additionalVersionWeights"]
        share = round(100 * sum(weights.values()))
        table.add_row("alias now" if name == "alias" else name,
                      f"{bar(share)} v{alias['functionVersion']} {100 - share}%"
                      + "".join(f" | v{v} {w:.0%}" for v, w in weights.items()))
    if state["lastCheck"]:
        table.add_row("last check", describe_check(state["lastCheck"]))
    if state["waitingFor"]:
        table.add_row("waiting for", f"an operator: {state['waitingFor']['question']}")
    console.print(table)


def answer(execution_arn: str, decision: str, reason: str, by: str | None = None) -> str | None:
    """Answer the question the release waits on; returns why it could not, or None."""
    question = executions.pending_question(executions.history(execution_arn))
    if question is None:
        return "the release is not waiting for an operator"
    executions.sfn_client().send_task_success(
        taskToken=question["taskToken"], output=json.dumps({"decision": decision, "reason": reason, "by": by or who()}))
    return None


def promote_now(stack: Stack, execution_arn: str, reason: str, by: str | None = None) -> str:
    """Skip the remaining steps: answer a pending question with approve, else ask the next check to promote."""
    if answer(execution_arn, "approve", reason, by) is None:
        return "approved the pending question"
    if executions.sfn_client().describe_execution(executionArn=execution_arn)["status"] != "RUNNING":
        raise LookupError("the release has already ended")
    with stack.configured():
        controls.request_promote_now(execution_arn, EarlyPromotion(reason=reason, by=by or who()))
    return "the next check promotes (unless it fails)"


def abort(stack: Stack, execution_arn: str, reason: str) -> None:
    """Stop the execution; the abort guardian returns the alias to the old version."""
    executions.sfn_client().stop_execution(executionArn=execution_arn, error="AbortedByOperator",
                                           cause=f"{who()}: {reason}"[:32768])
    if stack.local and not stack.served:
        local_run().announce_status_change(execution_arn)  # AWS (and the local AWS's server) emits this itself


def history_rows(stack: Stack, function_name: str, alias: str, limit: int) -> list[dict[str, Any]]:
    with stack.configured():
        return history.list_deployments(function_name, alias, limit)


def plan(request: dict[str, Any], stack: Stack | None) -> DryRun:
    """What the release would do; with a stack, where each alias is now (one GetAlias per function)."""
    parsed = parse_request(request)
    current: dict[str, str | None] = {}
    if stack is not None:
        for target in parsed.targets:
            state = read_alias(target.function_name.rsplit(":", 1)[-1], target.alias)
            current[f"{target.function_name}:{target.alias}"] = state.function_version if state else None
    definition = shipped_definition()
    if definition is None and stack is not None:  # a CLI installed without its checkout: the deployed one
        described = boto3.client("stepfunctions").describe_state_machine(stateMachineArn=stack.state_machine_arn)
        definition = json.loads(described["definition"])
    return dry_run(parsed, current, definition)


def what_the_canary_sees(run: DryRun, stack: Stack | None, calls_per_minute: float | None,
                         error_rate: float | None) -> dict[str, Any] | None:
    """The detection table for the release's first function: from the alias's last hour (one GetMetricData
    call, on the version the plan read the alias at), or from the calls per minute given; None offline
    without a rate, or with no traffic step."""
    if not run.steps.weights:
        return None
    traffic: Traffic | None = None
    if calls_per_minute is not None:
        traffic = Traffic(calls_per_minute, 0.01 if error_rate is None else error_rate, "given")
    elif stack is not None:
        target = run.request.targets[0]
        name = target.function_name.rsplit(":", 1)[-1]
        version = run.current.get(f"{target.function_name}:{target.alias}")
        if version is not None:
            traffic = recent_traffic(name, target.alias, [version])
            if error_rate is not None:
                traffic = Traffic(traffic.calls_per_minute, error_rate, traffic.source)
    if traffic is None or traffic.calls_per_minute <= 0:
        return None if traffic is None else {"callsPerMinute": 0, "trafficFrom": traffic.source}
    return detection(simulated(run), traffic)


def describe_detection(seen: dict[str, Any]) -> list[str]:
    """The detection table in lines a person reads."""
    lines = [f"  what the canary can see at {seen['callsPerMinute']:g} calls/min on the alias ({seen['trafficFrom']}):"]
    if not seen["callsPerMinute"]:
        return [*lines, "    no traffic: every step would be inconclusive, then rolled back (or asked)"]
    lines.append(f"    old version's error rate {seen['oldVersionErrorRate']:.2%}; new-version calls per step: "
                 f"{', '.join(str(c) for c in seen['newVersionCallsPerStep'])} ({seen['releasesSimulated']} "
                 "simulated releases, judged by the real health check)")
    lines.append("    regression      stopped before promotion   of which proven worse")
    lines += [f"    {r['regression']:<15} {r['stoppedBeforePromotion']:>24.0%}   {r['provenWorse']:>21.0%}"
              for r in seen["regressions"]]
    healthy = seen["healthy"]
    minutes = f", in {healthy['expectedMinutes']} min on average" if healthy["expectedMinutes"] else ""
    on_time = healthy["promotedWithinPlannedBake"]
    lines.append(f"    a healthy release: promoted {healthy['promoted']:.0%} ({on_time:.0%} within the planned bake)"
                 f"{minutes}; {healthy['notProvenHealthy']:.0%} not proven healthy by "
                 "maxBakeSeconds (rolled back, or asked)")
    advice = seen["toRuleOutMustRuleOut"]
    if "shortestBakeSeconds" in advice:
        options = [f"a bake of {advice['shortestBakeSeconds']} s" if advice["shortestBakeSeconds"] else "",
                   f"a first step of {advice['smallestFirstWeight']}%" if advice["smallestFirstWeight"] else ""]
        said = " or ".join(o for o in options if o) or (
            f"no bake up to {advice['longestBakeTriedSeconds']} s nor first step up to 75%: more traffic, or a "
            "wider mustRuleOut")
        lines.append(f"    to rule out mustRuleOut within the bake 90% of the time: {said}")
    return lines


def load_request(path: str | None, fields: dict[str, Any]) -> dict[str, Any]:
    """The execution input: a JSON file ('-' for stdin) and/or options (options win)."""
    request: dict[str, Any] = {}
    if path:
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{path}: cannot read it: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        try:
            request = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"{path}: not JSON: {exc}") from None
        if not isinstance(request, dict):
            raise InvalidInput(f"{path}: the input must be a JSON object")
    request.update({k: v for k, v in fields.items() if v is not None})
    return request
