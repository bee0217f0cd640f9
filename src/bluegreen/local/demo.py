"""``bluegreen demo``: a whole release of a sample function, in moto, with live progress."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import boto3
from rich.console import Console
from rich.table import Table

from bluegreen import strategy as strategies
from bluegreen.local import execution
from bluegreen.local.stack import REGION, running_stack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator


@dataclass(frozen=True)
class Scenario:
    """How the old and the new version behave, and how much traffic the alias gets."""

    summary: str
    new_error_rate: float
    old_error_rate: float = 0.002
    new_latency_ms: float = 20.0
    old_latency_ms: float = 20.0
    requests_per_second: float = 1000.0


SCENARIOS = {
    "healthy": Scenario("works like the old one (0.2% errors, 20 ms)", 0.002),
    "failing": Scenario("fails 30% of calls", 0.3),
    "slow": Scenario("answers in 60 ms where the old one takes 20 ms", 0.002, new_latency_ms=60.0),
    "flaky": Scenario("fails 3% of calls where the old one fails 0.5%", 0.03, old_error_rate=0.005),
    "low-traffic": Scenario("works, but the alias gets 2 calls a second: too few to judge", 0.0,
                            requests_per_second=2.0),
    "noisy-baseline": Scenario("fails 5% of calls, as the old one does", 0.05, old_error_rate=0.05),
}
EXIT_CODES = {"promoted": 0, "rolled_back": 1, "rejected": 2, "failed": 3}
SAMPLE_FUNCTION = "orders-api"
SAMPLE_ALIAS = "prod"


def demo_strategy(strategy: str | None, interval: int) -> Any:
    """The strategy to release with. Predefined names keep their step plan but bake ``interval``
    seconds per step, so a 30-minute canary shows in seconds; JSON is passed as given."""
    if strategy is None:
        return {"steps": [10, 50, 100], "intervalSeconds": interval}
    if strategy.lstrip().startswith("{"):
        return json.loads(strategy)
    try:
        plan = strategies.plan_predefined(strategy)
    except ValueError:
        return strategy  # the state machine rejects it, as it would in AWS
    if not plan.weights:
        return strategy
    return {"steps": [*plan.weights, 100], "intervalSeconds": interval}


def bar(weight: int, width: int = 30) -> str:
    filled = round(width * weight / 100)
    return "[green]" + "█" * (width - filled) + "[/][yellow]" + "█" * filled + "[/]"


@dataclass
class ProgressPrinter:
    """Turns history events into one line per thing that happened."""

    console: Console
    old_version: str = "?"
    state: str = ""

    def __call__(self, event: dict[str, Any]) -> None:
        if "stateEnteredEventDetails" in event:
            self.state = event["stateEnteredEventDetails"]["name"]
            if event["type"] == "WaitStateEntered":
                self.console.print("  [dim]baking...[/]")
            return
        details = event.get("lambdaFunctionSucceededEventDetails")
        if details:
            self._task_done(json.loads(details["output"]))
        failed = event.get("lambdaFunctionFailedEventDetails")
        if failed:
            self.console.print(f"  [red]task failed in '{self.state}': {failed.get('error')}[/]")

    def _task_done(self, out: dict[str, Any]) -> None:
        if self.state == execution.PUBLISH_STATE:
            plan = out["plan"]
            self.old_version = plan["oldVersion"] or "-"
            steps = " → ".join(f"{w}%" for w in [*plan["weights"], 100])
            self.console.print(
                f"Release {plan['functionName']}:{plan['alias']} version {plan['oldVersion']} → {plan['newVersion']} "
                f"({plan['action']}): {steps}, bake {plan['bakeSeconds']} s per step")
        elif self.state == execution.SHIFT_STATE:
            w = out["weight"]
            self.console.print(f"Shifted: {bar(w)} v{self.old_version} {100 - w}% | new {w}%")
        elif self.state == execution.CHECK_STATE:
            self.console.print("  " + describe_check(out))
        elif out.get("outcome") == "promoted":
            self.console.print(f"[green]Promoted[/]: alias now 100% on version {out['functionVersion']}")
        elif out.get("outcome") == "rolled_back":
            self.console.print(f"[red]Rolled back[/]: alias now 100% on version {out['functionVersion']}")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def describe_check(progress: dict[str, Any]) -> str:
    """One check as a line: verdict, both versions' numbers, what happens next and why."""
    health = progress["health"]
    colour = {"pass": "green", "fail": "red"}.get(health["verdict"], "yellow")
    canary, baseline = health["canary"], health["baseline"] or {}
    numbers = (f"new {canary['errors']}/{canary['invocations']} errors p99 {_ms(canary['p99Ms'])}"
               f" | old {baseline.get('errors', '-')}/{baseline.get('invocations', '-')} errors"
               f" p99 {_ms(baseline.get('p99Ms'))}")
    nxt = {"bake": f"bake on, next check in {progress['waitSeconds']} s", "next-step": "next step",
           "promote": "promote", "rollback": "roll back"}[progress["decision"]]
    line = f"check at {health['weight']}%: [{colour}]{health['verdict']}[/] ({numbers}) → {nxt}"
    if health["verdict"] != "pass" or progress["decision"] != "bake":
        line += f"\n    [dim]{health['reason']}[/]"
    return line


def summarise(result: execution.ExecutionResult, calls: dict[str, int], wall: float) -> dict[str, Any]:
    """The demo's JSON result, read from the execution's history and the alias itself."""
    entered = result.entered()
    if result.status == "SUCCEEDED":
        outcome = "promoted"
    elif {"Release rejected", "Release rejected as reported"} & set(entered):
        outcome = "rejected"
    elif "Rolled back" in entered:
        outcome = "rolled_back"
    else:
        outcome = "failed"
    plans = result.task_outputs(execution.PUBLISH_STATE)
    plan = plans[0]["plan"] if plans else {}
    alias = boto3.client("lambda", region_name=REGION).get_alias(FunctionName=SAMPLE_FUNCTION, Name=SAMPLE_ALIAS)
    return {
        "outcome": outcome,
        "executionStatus": result.status,
        "error": result.error,
        "cause": result.cause,
        "function": SAMPLE_FUNCTION,
        "alias": {
            "name": alias["Name"],
            "functionVersion": alias["FunctionVersion"],
            "additionalVersionWeights": (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {},
        },
        "previousVersion": plan.get("oldVersion"),
        "newVersion": plan.get("newVersion"),
        "checks": [
            {"weight": out["health"]["weight"], "verdict": out["health"]["verdict"], "decision": out["decision"],
             "invocations": out["health"]["canary"]["invocations"], "errors": out["health"]["canary"]["errors"],
             "p99Ms": out["health"]["canary"]["p99Ms"],
             "baselineInvocations": (out["health"]["baseline"] or {}).get("invocations"),
             "baselineErrors": (out["health"]["baseline"] or {}).get("errors"),
             "baselineP99Ms": (out["health"]["baseline"] or {}).get("p99Ms"),
             "reason": out["health"]["reason"]}
            for out in result.task_outputs(execution.CHECK_STATE)
        ],
        "stateTransitions": result.state_transitions,
        "awsCalls": dict(sorted(calls.items())),
        "wallSeconds": round(wall, 2),
    }


@dataclass(frozen=True)
class DemoOptions:
    scenario: str = "healthy"
    strategy: str | None = None
    interval: int = 4  # seconds each traffic step bakes
    check_interval: int = 2  # seconds between health checks
    as_json: bool = False
    verbose: bool = False


def run_demo(options: DemoOptions) -> int:
    """Run one demo release; print progress and a summary (or one JSON object); return the exit code."""
    scenario = SCENARIOS[options.scenario]
    as_json, verbose = options.as_json, options.verbose
    console = Console(stderr=as_json, highlight=False)
    if not verbose:
        logging.getLogger("moto").setLevel(logging.CRITICAL)
    log_level = "INFO" if verbose else "CRITICAL"
    parameters = {"ManagedFunctions": SAMPLE_FUNCTION}
    with running_stack(parameters, env_overrides={"POWERTOOLS_LOG_LEVEL": log_level}) as stack:
        console.print(f"[bold]bluegreen demo[/] ({options.scenario}): template.yaml deployed into moto; "
                      f"state machine {stack.state_machine_arn.rsplit(':', 1)[-1]}")
        sample = SampleFunction(SAMPLE_FUNCTION, SAMPLE_ALIAS, stack.role_arn)
        sample.create(scenario.old_error_rate, scenario.old_latency_ms)
        code_sha = sample.stage("v2", scenario.new_error_rate, scenario.new_latency_ms)
        console.print(f"Sample function {SAMPLE_FUNCTION}: version 1 live on alias {SAMPLE_ALIAS}, "
                      f"{scenario.requests_per_second:g} calls/s; new code in $LATEST {scenario.summary}")
        traffic = TrafficSimulator(SAMPLE_FUNCTION, SAMPLE_ALIAS, rate=scenario.requests_per_second)
        traffic.start()
        execution_input = {"functionName": SAMPLE_FUNCTION, "alias": SAMPLE_ALIAS, "codeSha256": code_sha,
                           "strategy": demo_strategy(options.strategy, options.interval),
                           "health": {"checkIntervalSeconds": options.check_interval}}
        console.print(f"Starting execution with input: {json.dumps(execution_input)}")
        started = time.monotonic()
        try:
            result = execution.run(stack, execution_input, timeout=600, on_event=ProgressPrinter(console))
        finally:
            traffic.stop()
        wall = time.monotonic() - started
        summary = summarise(result, dict(stack.router.calls), wall)
    if as_json:
        print(json.dumps(summary))
    else:
        print_summary(console, summary)
    return EXIT_CODES[summary["outcome"]]


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title=f"Deployment {summary['outcome'].upper()}", show_header=False)
    alias = summary["alias"]
    weights = alias["additionalVersionWeights"]
    table.add_row("execution", summary["executionStatus"] + (f" ({summary['error']})" if summary["error"] else ""))
    if summary["cause"]:
        table.add_row("cause", summary["cause"])
    table.add_row("alias", f"{summary['function']}:{alias['name']} → version {alias['functionVersion']}"
                           + (f" + {weights}" if weights else " (no routing config)"))
    table.add_row("versions", f"{summary['previousVersion']} → {summary['newVersion']}")
    for i, check in enumerate(summary["checks"], 1):
        numbers = (f"new {check['errors']}/{check['invocations']} errors, p99 {_ms(check['p99Ms'])}; "
                   f"old {check['baselineErrors']}/{check['baselineInvocations']}, p99 {_ms(check['baselineP99Ms'])}")
        table.add_row(f"check {i}", f"{check['weight']}%: {check['verdict']} → {check['decision']} ({numbers})")
    table.add_row("state transitions", str(summary["stateTransitions"]))
    table.add_row("AWS calls", ", ".join(f"{k} {v}" for k, v in summary["awsCalls"].items()))
    table.add_row("wall time", f"{summary['wallSeconds']} s")
    console.print(table)
