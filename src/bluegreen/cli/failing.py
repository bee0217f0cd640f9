"""How a command ends on an error: one line on stderr, ``error: ...``, and its exit code; with ``bluegreen --verbose``
the traceback of the exception being handled first, whole."""

from __future__ import annotations

import sys
import traceback

import typer

# Set by the CLI's callback for each command, before it runs (one command per process, and per CliRunner call).
verbose = False


def fail(message: str, code: int) -> typer.Exit:
    handled = sys.exc_info()[1]
    if verbose and handled is not None:
        typer.echo("".join(traceback.format_exception(handled)).rstrip(), err=True)
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)
