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
def demo(  # noqa: PLR0917 - one parameter per option is how Typer declares them
    scenario: Annotated[str, typer.Option(
        help="healthy | failing (30% errors) | slow (3x latency) | flaky (3% vs 0.5% errors) | "
             "low-traffic (too few calls to judge) | noisy-baseline (both versions at 5% errors).")] = "healthy",
    strategy: Annotated[str | None, typer.Option(
        help="A predefined strategy (its steps, baked --interval seconds each) or a JSON custom strategy.")] = None,
    interval: Annotated[int, typer.Option(min=1, max=60, help="Seconds each traffic step bakes locally.")] = 4,
    check_interval: Annotated[int, typer.Option(
        min=1, max=30, help="Seconds between health checks while a step bakes (60 in AWS).")] = 2,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of progress.")] = False,
    verbose: Annotated[bool, typer.Option(help="Show the handlers' and moto's logs.")] = False,
) -> None:
    """Release a sample function in an embedded AWS (moto) with the real template, state machine and handlers.

    Exit code: 0 promoted, 1 rolled back, 2 rejected input.
    """
    from bluegreen.local.demo import SCENARIOS, DemoOptions, run_demo  # noqa: PLC0415 - moto is heavy

    if scenario not in SCENARIOS:
        raise typer.BadParameter(f"choose one of {', '.join(SCENARIOS)}", param_hint="--scenario")
    raise typer.Exit(run_demo(DemoOptions(scenario, strategy, interval, check_interval, json_output, verbose)))
