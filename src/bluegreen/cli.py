"""The ``bluegreen`` command."""

from __future__ import annotations

from typing import Annotated

import typer

app = typer.Typer(help="Blue-green and canary releases of AWS Lambda aliases.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def main() -> None:
    """Blue-green and canary releases of AWS Lambda aliases, orchestrated by Step Functions."""


@app.command()
def demo(
    scenario: Annotated[
        str, typer.Option(help="healthy: the new version works; failing: it fails 30% of calls.")
    ] = "healthy",
    strategy: Annotated[str | None, typer.Option(
        help="A predefined strategy (its steps, baked --interval seconds each) or a JSON custom strategy.")] = None,
    interval: Annotated[int, typer.Option(min=1, max=60, help="Seconds each traffic step bakes locally.")] = 2,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of progress.")] = False,
    verbose: Annotated[bool, typer.Option(help="Show the handlers' and moto's logs.")] = False,
) -> None:
    """Release a sample function in an embedded AWS (moto) with the real template, state machine and handlers.

    Exit code: 0 promoted, 1 rolled back, 2 rejected input.
    """
    from bluegreen.local.demo import SCENARIOS, run_demo  # noqa: PLC0415 - moto is heavy: only for this command

    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"choose one of {', '.join(SCENARIOS)}", param_hint="--scenario")
    raise typer.Exit(run_demo(scenario, strategy, interval, json_output, verbose))
