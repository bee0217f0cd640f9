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

SCENARIOS = {
    # scenario -> the new version's share of failing calls
    "healthy": 0.0,
    "failing": 0.3,
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
            colour = {"pass": "green", "fail": "red"}.get(out["verdict"], "yellow")
            self.console.print(f"  health [{colour}]{out['verdict']}[/] at {out['weight']}%: {out['reason']}")
        elif out.get("outcome") == "promoted":
            self.console.print(f"[green]Promoted[/]: alias now 100% on version {out['functionVersion']}")
        elif out.get("outcome") == "rolled_back":
            self.console.print(f"[red]Rolled back[/]: alias now 100% on version {out['functionVersion']}")


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
        "steps": [
            {k: check[k] for k in ("weight", "verdict", "invocations", "errors", "errorRate", "reason")}
            for check in result.task_outputs(execution.CHECK_STATE)
        ],
        "stateTransitions": result.state_transitions,
        "awsCalls": dict(sorted(calls.items())),
        "wallSeconds": round(wall, 2),
    }


def run_demo(scenario: str, strategy: str | None, interval: int, as_json: bool, verbose: bool = False) -> int:
    """Run one demo release; print progress and a summary (or one JSON object); return the exit code."""
    console = Console(stderr=as_json, highlight=False)
    if not verbose:
        logging.getLogger("moto").setLevel(logging.CRITICAL)
    log_level = "INFO" if verbose else "CRITICAL"
    parameters = {"ManagedFunctions": SAMPLE_FUNCTION}
    with running_stack(parameters, env_overrides={"POWERTOOLS_LOG_LEVEL": log_level}) as stack:
        console.print(f"[bold]bluegreen demo[/] ({scenario}): template.yaml deployed into moto; "
                      f"state machine {stack.state_machine_arn.rsplit(':', 1)[-1]}")
        sample = SampleFunction(SAMPLE_FUNCTION, SAMPLE_ALIAS, stack.role_arn)
        sample.create()
        code_sha = sample.stage("v2", SCENARIOS[scenario])
        behaviour = f"fails {SCENARIOS[scenario]:.0%} of calls" if SCENARIOS[scenario] else "healthy"
        console.print(f"Sample function {SAMPLE_FUNCTION}: version 1 live on alias {SAMPLE_ALIAS}; "
                      f"new code in $LATEST ({behaviour})")
        traffic = TrafficSimulator(SAMPLE_FUNCTION, SAMPLE_ALIAS)
        traffic.start()
        execution_input = {"functionName": SAMPLE_FUNCTION, "alias": SAMPLE_ALIAS, "codeSha256": code_sha,
                           "strategy": demo_strategy(strategy, interval)}
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
    for i, step in enumerate(summary["steps"], 1):
        numbers = f"{step['errors']}/{step['invocations']} errors"
        table.add_row(f"check {i}", f"{step['weight']}%: {step['verdict']} ({numbers})")
    table.add_row("state transitions", str(summary["stateTransitions"]))
    table.add_row("AWS calls", ", ".join(f"{k} {v}" for k, v in summary["awsCalls"].items()))
    table.add_row("wall time", f"{summary['wallSeconds']} s")
    console.print(table)
