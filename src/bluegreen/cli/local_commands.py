"""``bluegreen local up|down|status|create``: a local AWS that lasts across commands (``cli.local_server``)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from bluegreen.cli import local_server
from bluegreen.cli.failing import fail
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
    with local_server.starting():
        served = local_server.running()
        if served is not None:
            _said(served, f"already running at {served.endpoint} (pid {served.pid}); bluegreen local down stops it",
                  json_output)
            return
        served = _start(example, port)
    _said(served, f"local AWS at {served.endpoint} (pid {served.pid})\n"
                  "  bluegreen deploy --function orders-api --alias prod --strategy Canary10Percent5Minutes --local "
                  "--no-watch\n  bluegreen status EXECUTION --local     # watch, history, abort, report ... --local\n"
                  f"  aws --endpoint-url {served.endpoint} lambda list-aliases --function-name orders-api\n"
                  "  bluegreen local down                   # stop it", json_output)


def _start(example: bool, port: int = 0) -> local_server.Served:
    typer.echo("starting the local AWS: template.yaml in moto" + (", with the example application" if example
                                                                   else "") + " ...", err=True)
    try:
        return local_server.up(example, port)
    except LocalRunMissing as exc:
        raise fail(str(exc), 2) from None
    except local_server.LocalServerError as exc:
        raise fail(str(exc), 1) from None


def served() -> local_server.Served:
    """The local AWS a --local command uses: the one running, else one started now (and said so: it lasts)."""
    with local_server.starting():
        running = local_server.running()
        if running is not None:
            return running
        typer.echo("no local AWS was running: starting one that lasts (bluegreen local down stops it)", err=True)
        started = _start(example=False)
    typer.echo(f"local AWS at {started.endpoint} (pid {started.pid}); it has only what you create in it: "
               "bluegreen local create FILE (what an input names), or local up --example after local down", err=True)
    return started


def hint_missing(execution_input: dict[str, object], input_file: str | None) -> None:
    """After a refused release on the local AWS: say how to create the functions it lacks (stderr), if it does."""
    import boto3  # noqa: PLC0415

    from bluegreen.contracts.request import parse_request  # noqa: PLC0415

    lam = boto3.client("lambda")
    missing = []
    for target in parse_request(execution_input).targets:
        try:
            lam.get_function(FunctionName=target.function_name)
        except lam.exceptions.ResourceNotFoundException:
            missing.append(target.function_name)
        except Exception:
            return
    if missing:
        typer.echo(f"the local AWS has no function {', '.join(missing)}: bluegreen local create "
                   f"{input_file or 'FILE'} creates what an input names (bluegreen local up --example: the example "
                   "application)", err=True)


@local_app.command("create")
def create(input_file: Annotated[str, typer.Argument(help="An execution input JSON file (say, events/canary.json).")],
           json_output: JsonOption = False) -> None:
    """Create in the local AWS what an input names (starting the local AWS if none runs): each function the local
    AWS lacks, with the example's code, its versions up to the one named and the alias on the one before, its
    stage aliases, the health alarms (OK), and callers on the alias while a release runs. A function already there
    is left as it is. Exit 0 when done, 1 if the local AWS could not, 2 for a bad input."""
    from bluegreen.cli.commands import load_request  # noqa: PLC0415 - keep `--help` fast
    from bluegreen.errors import InvalidInput  # noqa: PLC0415

    try:
        request = load_request(input_file, {})
    except InvalidInput as exc:
        raise fail(str(exc), 2) from None
    server = served()
    try:
        answer = local_server.create(server, request)
    except local_server.LocalServerError as exc:
        raise fail(str(exc), exc.exit_code) from None
    if json_output:
        typer.echo(json.dumps(answer))
        return
    for alias in answer["created"]:
        typer.echo(f"created {alias} (callers call it while a release runs)")
    for name in answer["existing"]:
        typer.echo(f"{name} was there already: left as it is")
    if answer["alarms"]:
        typer.echo(f"alarms in OK: {', '.join(answer['alarms'])}")
    typer.echo(f"now: bluegreen deploy {input_file} --local")


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
