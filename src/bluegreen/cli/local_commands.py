"""``bluegreen local up|down|status``: a local AWS that lasts across commands (``cli.local_server``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bluegreen.cli import local_server
from bluegreen.cli.local_run import LocalRunMissing

local_app = typer.Typer(help="A local AWS that lasts across commands: moto's server on 127.0.0.1 with this "
                             "project's template, handlers and stand-ins; --local commands use it.",
                        no_args_is_help=True)
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _fields(served: local_server.Served) -> dict[str, object]:
    return {"endpoint": served.endpoint, "pid": served.pid, "region": served.region,
            "stateMachineArn": served.state_machine_arn, "tableName": served.table_name,
            "example": served.example, "startedAt": served.started_at}


def _said(served: local_server.Served, text: str, json_output: bool) -> None:
    typer.echo(json.dumps(_fields(served)) if json_output else text)


@local_app.command("up")
def up(example: Annotated[bool, typer.Option(
           "--example", help="Also deploy the example application (orders-api behind API Gateway, aliases dev, test "
                             "and prod; new code on $LATEST), its callers calling prod while a release runs.")] = False,
       port: Annotated[int, typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (default: a free one).")] = 0,
       json_output: JsonOption = False) -> None:
    """Start the local AWS in the background (or say where it already runs). Exit 0 when it serves, 1 if it
    could not start, 2 without the 'local' extra."""
    served = local_server.running()
    if served is not None:
        _said(served, f"already running at {served.endpoint} (pid {served.pid}); bluegreen local down stops it",
              json_output)
        return
    typer.echo("starting the local AWS: template.yaml in moto" + (", with the example application" if example
                                                                   else "") + " ...", err=True)
    try:
        served = local_server.up(example, port)
    except LocalRunMissing as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except local_server.LocalServerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _said(served, f"local AWS at {served.endpoint} (pid {served.pid})\n"
                  "  bluegreen deploy --function orders-api --alias prod --strategy Canary10Percent5Minutes --local "
                  "--no-watch\n  bluegreen status EXECUTION --local     # watch, history, abort, report ... --local\n"
                  f"  aws --endpoint-url {served.endpoint} lambda list-aliases --function-name orders-api\n"
                  "  bluegreen local down                   # stop it", json_output)


@local_app.command("down")
def down(json_output: JsonOption = False) -> None:
    """Stop the local AWS (everything in it is gone). Exit 0, also when none ran."""
    served = local_server.down()
    if served is None:
        typer.echo(json.dumps({"stopped": None}) if json_output else "no local AWS running")
        return
    typer.echo(json.dumps({"stopped": _fields(served)}) if json_output else
               f"stopped the local AWS at {served.endpoint} (pid {served.pid})")


@local_app.command("status")
def status(json_output: JsonOption = False) -> None:
    """Where the local AWS runs. Exit 0 when it runs, 1 when none does."""
    served = local_server.running()
    if served is None:
        typer.echo(json.dumps({"running": False}) if json_output else "no local AWS running (bluegreen local up)")
        raise typer.Exit(1)
    _said(served, f"local AWS at {served.endpoint} (pid {served.pid}, since {served.started_at[:19]}, "
                  f"{'with' if served.example else 'without'} the example application)", json_output)
