"""Live progress of a release, one line per thing that happened, from its execution history."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any

from rich.console import Console

from bluegreen.contracts import state_names


def bar(weight: int, width: int = 30) -> str:
    """The old version's share in full cells, the new one's in light cells: told apart without colour too
    (NO_COLOR, a pipe, a CI log)."""
    filled = round(width * weight / 100)
    return "[green]" + "█" * (width - filled) + "[/][yellow]" + "░" * filled + "[/]"


# A table's width when the output is not a terminal (rich's 80 columns wrapped every cell of `history`).
PIPED_WIDTH = 200


def console(*, stderr: bool = False) -> Console:
    """Rich's console for the CLI's lines: unwrapped when not a terminal (a pipe, a CI log), where rich would
    otherwise cut every line at 80 columns mid-phrase; its tables there as wide as a log line may be."""
    stream = sys.stderr if stderr else sys.stdout
    piped = not stream.isatty()
    return Console(highlight=False, stderr=stderr, soft_wrap=piped, width=PIPED_WIDTH if piped else None)


@dataclass
class ProgressPrinter:
    """Turns history events into one line per thing that happened."""

    console: Console
    old_version: str = "?"
    state: str = ""
    execution_name: str = "EXECUTION"
    functions: int = 1
    shown_step: int = -1

    def __call__(self, event: dict[str, Any]) -> None:
        scheduled = event.get("taskScheduledEventDetails")
        if scheduled and scheduled.get("resource", "").endswith(".waitForTaskToken"):
            detail = json.loads(scheduled["parameters"])["Entries"][0]["Detail"]
            question = json.loads(detail) if isinstance(detail, str) else detail
            self.console.print(f"  [yellow]waiting for an operator[/]: {question.get('question')} "
                               f"[dim](bluegreen approve|reject {self.execution_name})[/]")
            return
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
            if failed.get("error") == "VerificationFailed":
                self.console.print(f"  [red]{error_message(failed.get('cause'))}[/]")

    def _task_done(self, out: dict[str, Any]) -> None:
        if self.state == state_names.PUBLISH:
            plan = out["plan"]
            steps = " → ".join(f"{w}%" for w in [*plan["weights"], 100])
            self.functions = len(plan["targets"])
            for target in plan["targets"]:
                self.old_version = target["oldVersion"] or "-"
                self.console.print(f"Release {target['functionName']}:{target['alias']} version {target['oldVersion']} "
                                   f"→ {target['newVersion']} ({target['action']})")
            for unchanged in plan["unchanged"]:
                self.console.print(f"Release {unchanged}: already on the version asked for (unchanged)")
            self.console.print(f"  steps {steps}, bake {plan['bakeSeconds']} s per step")
        elif self.state == state_names.SHIFT and out["stepIndex"] != self.shown_step:
            # One line per step, not per function.
            self.shown_step = out["stepIndex"]
            w = out["weight"]
            if self.functions == 1:
                self.console.print(f"Shifted: {bar(w)} v{self.old_version} {100 - w}% | new {w}%")
            else:
                self.console.print(f"Shifting every function: {bar(w)} old {100 - w}% | new {w}%")
        elif self.state == state_names.CHECK:
            self.console.print("  " + describe_check(out))
        elif self.state == state_names.VERIFY:
            self._verified(out)
        elif out.get("outcome") in {"promoted", "rolled_back"}:
            self._verified(out.get("verification") or {})
            done = "[green]Promoted[/]" if out["outcome"] == "promoted" else "[red]Rolled back[/]"
            self.console.print(f"{done}: {out.get('functionName') or 'alias'}:{out.get('alias') or ''} now 100% on "
                               f"version {out['functionVersion']}")


    def _verified(self, verification: dict[str, Any]) -> None:
        for result in verification.get("results", []):
            self.console.print(f"  {verification['functionName']}: {describe_verification(result)}")


def error_message(cause: str | None) -> str:
    """A Lambda error's message from its cause (the runtime's JSON), or the cause as it is."""
    try:
        return str(json.loads(cause or "")["errorMessage"])
    except (ValueError, KeyError, TypeError):
        return cause or ""


def describe_verification(result: dict[str, Any]) -> str:
    """One verification check: where, what was invoked, the verdict, why and how long it took."""
    where = f"stage {result['stage']}" if result.get("stage") else result["phase"]
    colour = "green" if result["verdict"] == "passed" else "red"
    return (f"{where} check {result['index'] + 1} ({result['kind']} {result['target']}): "
            f"[{colour}]{result['verdict']}[/] ({result['reason']}, {result['seconds']:.2f} s)")


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f} ms"


def describe_metric(metric: dict[str, Any]) -> str:
    """An application metric's numbers at a check: "http-5xx: new 68/350 (19.43%) | old 0/3338 (0.00%)"."""

    def side(stats: dict[str, Any] | None) -> str:
        if not stats:
            return "-"
        if metric["kind"] == "latency":
            return f"{ms(stats.get('p99Ms'))} over {stats['invocations']}"
        rate = stats.get("errorRate")
        return f"{stats['errors']}/{stats['invocations']}" + (f" ({rate:.2%})" if rate is not None else "")

    return f"{metric['name']}: new {side(metric['canary'])} | old {side(metric.get('baseline'))}"


def describe_check(progress: dict[str, Any]) -> str:
    """One check as a line: verdict, both versions' numbers, what happens next and why."""
    health = progress["health"]
    colour = {"pass": "green", "fail": "red"}.get(health["verdict"], "yellow")
    canary, baseline = health["canary"], health["baseline"] or {}
    numbers = (f"new {canary['errors']}/{canary['invocations']} errors p99 {ms(canary['p99Ms'])}"
               f" | old {baseline.get('errors', '-')}/{baseline.get('invocations', '-')} errors"
               f" p99 {ms(baseline.get('p99Ms'))}")
    nxt = {"bake": f"bake on, next check in {progress['waitSeconds']} s", "next-step": "next step",
           "promote": "promote", "rollback": "roll back", "ask-operator": "ask an operator"}[progress["decision"]]
    line = f"check at {health['weight']}%: [{colour}]{health['verdict']}[/] ({numbers}) → {nxt}"
    for metric in health.get("metrics") or []:
        line += f"\n    {describe_metric(metric)}"
    if health["verdict"] != "pass" or progress["decision"] != "bake":
        line += f"\n    [dim]{health['reason']}[/]"
    if health.get("ruledOut"):
        line += f"\n    [green]ruled out: {health['ruledOut']}[/]"
    elif health.get("needs") and progress["decision"] != "bake":
        line += f"\n    [dim]{health['needs']}[/]"
    return line
