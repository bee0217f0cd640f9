"""The ``bluegreen`` command."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer

from bluegreen.cli import failing, progress
from bluegreen.cli.local_commands import local_app
from bluegreen.cli.local_run import LocalRun, LocalRunMissing, local_run

app = typer.Typer(help="Blue-green and canary releases of AWS Lambda aliases.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
app.add_typer(local_app, name="local")


def _print_version(asked: bool) -> None:
    if asked:
        from importlib.metadata import version  # noqa: PLC0415

        typer.echo(f"bluegreen {version('bluegreen')}")
        raise typer.Exit()


@app.callback()
def main(show_version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_print_version, help="Print the version and exit.")] = False,
         verbose: Annotated[bool, typer.Option(
             "--verbose", "-v", help="On an error, also print its traceback (AWS's whole answer).")] = False) -> None:
    """Blue-green and canary releases of AWS Lambda aliases, orchestrated by Step Functions."""
    failing.verbose = verbose
    # AWS_REGION as the AWS CLI reads it (it wins over AWS_DEFAULT_REGION); boto3 reads only the latter. This
    # command's own process, before any AWS call (written only when they differ).
    region = os.environ.get("AWS_REGION")
    if region and os.environ.get("AWS_DEFAULT_REGION") != region:
        os.environ["AWS_DEFAULT_REGION"] = region


# A user's mistake or AWS's error: one line, an exit code (and, with --verbose, the traceback first).
_fail = failing.fail


def _local_run() -> LocalRun:
    """The embedded local run (``cli.local_run``), or exit 2 saying which extra to install."""
    try:
        return local_run()
    except LocalRunMissing as exc:
        raise _fail(str(exc), 2) from None


@app.command()
def demo(
    scenario: Annotated[str, typer.Option(
        help="healthy | failing (30% errors) | slow (3x latency) | flaky (3% vs 0.5% errors) | "
             "low-traffic (too few calls to judge) | noisy-baseline (both versions at 5% errors) | "
             "smoke-fails (answers 500: fails its smoke check at test; prod never touched) | "
             "http-500 (20% of answers 500, no Lambda error: judged on the app's own metric).")] = "healthy",
    strategy: Annotated[str | None, typer.Option(
        help="A predefined strategy (its steps, baked --interval seconds each) or a JSON custom strategy.")] = None,
    interval: Annotated[int, typer.Option(min=1, max=60, help="Seconds each traffic step bakes locally.")] = 4,
    check_interval: Annotated[int, typer.Option(
        min=1, max=30, help="Seconds between health checks while a step bakes (60 in AWS).")] = 2,
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of progress.")] = False,
    verbose: Annotated[bool, typer.Option(help="Show the handlers' and moto's logs.")] = False,
    report: Annotated[str, typer.Option(help="Write the release's timeline picture here (.html or .svg); "
                                             "'' for none.")] = "bluegreen-demo-report.html",
    as_intended: Annotated[bool, typer.Option(
        "--as-intended", help="Exit 0 when the release ended as the scenario intends (healthy and noisy-baseline: "
                              "promoted; the others: rolled back), 1 when not (make demo uses it).")] = False,
) -> None:
    """Release a sample function in an embedded AWS (moto) with the real template, state machine and handlers.

    Exit code: 0 promoted, 1 rolled back, 2 rejected input (with --as-intended: 0 as the scenario intends, 1 not).
    """
    local_demo = _local_run().demo
    if scenario not in local_demo.SCENARIOS:
        raise typer.BadParameter(f"choose one of {', '.join(local_demo.SCENARIOS)}", param_hint="--scenario")
    options = local_demo.DemoOptions(scenario, strategy, interval, check_interval, json_output, verbose,
                                     report or None, as_intended)
    from bluegreen.errors import InvalidInput  # noqa: PLC0415

    try:
        local_demo.demo_strategy(strategy, interval)  # a bad --strategy is said before anything starts
        code = local_demo.run_demo(options)
    except InvalidInput as exc:
        raise _fail(str(exc), 2) from None
    raise typer.Exit(code)


# ---- Operating releases: against a deployed stack, or the embedded local run (--local) ----

StackOption = Annotated[str | None, typer.Option(
    "--stack", help="CloudFormation stack of bluegreen (default: samconfig.toml's stack_name).")]
LocalOption = Annotated[bool, typer.Option(
    "--local", help="Use the local AWS (bluegreen local up; started, and said, when none runs: it lasts until "
                    "bluegreen local down).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
ExecutionArg = Annotated[str, typer.Argument(help="The execution's name (as printed by deploy) or ARN.")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why: recorded with the decision.")]


@contextmanager
def _stack(name: str | None, local: bool) -> Iterator[Any]:
    """The bluegreen stack to operate on; exits 4 with the reason when it cannot be found. ``--local``: the local
    AWS (``bluegreen local up``; started now, and said, when none runs), or the embedded run of this very process
    (the tests')."""
    from bluegreen.cli import aws_errors  # noqa: PLC0415
    from bluegreen.cli import deployed_stack as stacks  # noqa: PLC0415 - keep `--help` fast

    try:
        deployed = _find_stack(name, local)
    except stacks.StackNotFound as exc:
        raise _fail(str(exc), 4) from None
    try:
        yield deployed
    except aws_errors.AWS_ERRORS as exc:  # what a command's own handling did not say: AWS's words, one line
        raise _fail(aws_errors.said(exc), 4) from None


def _find_stack(name: str | None, local: bool) -> Any:
    from bluegreen.cli import deployed_stack as stacks  # noqa: PLC0415

    if not local:
        return stacks.from_cloudformation(name)
    from bluegreen.cli import local_commands, local_server  # noqa: PLC0415

    served = local_server.running()
    if served is None:
        try:
            return stacks.embedded()
        except stacks.StackNotFound:
            served = local_commands.served()
    local_server.use(served)  # this command's calls go to it
    return stacks.Stack(served.state_machine_arn, served.table_name, local=True, served=True)


def _follow(arn: str, json_output: bool) -> typer.Exit:
    """Watch a release to its end: progress on stdout, or on stderr and one JSON object on stdout (--json)."""
    from bluegreen.cli import commands  # noqa: PLC0415

    if not json_output:
        return typer.Exit(commands.watch(arn, progress.console()))
    result = commands.follow(arn, progress.console(stderr=True))
    typer.echo(json.dumps(commands.ended_json(result)))
    return typer.Exit(commands.EXIT_BY_OUTCOME[result.outcome])


def _said(json_output: bool, text: str, **fields: Any) -> None:
    """A command's one result: its line, or (--json) its fields as one JSON object."""
    typer.echo(json.dumps(fields) if json_output else text)


@app.command()
def deploy(
    input_file: Annotated[str | None, typer.Argument(help="Execution input JSON file ('-' for stdin).")] = None,
    function: Annotated[str | None, typer.Option("--function", help="functionName (overrides the file).")] = None,
    alias: Annotated[str | None, typer.Option("--alias", help="alias.")] = None,
    version: Annotated[str | None, typer.Option("--version", help="version (default: publish $LATEST).")] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="A predefined strategy name.")] = None,
    watch_it: Annotated[bool, typer.Option("--watch/--no-watch", help="Follow it until it ends.")] = True,
    stack: StackOption = None,
    local: LocalOption = False,
    json_output: JsonOption = False,
) -> None:
    """Start a release (and watch it). Exit: 0 promoted, 1 rolled back, 2 rejected, 3 failed."""
    from bluegreen.cli import commands  # noqa: PLC0415
    from bluegreen.contracts.request import parse_request  # noqa: PLC0415
    from bluegreen.errors import InvalidInput  # noqa: PLC0415

    try:
        request = commands.load_request(input_file, {
            "functionName": function, "alias": alias, "version": version, "strategy": strategy})
        parse_request(request)  # refuse a bad input here, before anything starts
    except InvalidInput as exc:
        raise _fail(str(exc), 2) from None
    with _stack(stack, local) as deployed:
        # Who asks, as the stack's AWS (or the embedded one) knows them.
        arn = commands.start(deployed, commands.with_cli_trigger(request))
        name = arn.rsplit(":", 1)[-1]
        if watch_it:
            typer.echo(f"started {name}", err=json_output)
            ended = _follow(arn, json_output)
            if deployed.served and ended.exit_code == 2:
                from bluegreen.cli.local_commands import hint_missing  # noqa: PLC0415

                hint_missing(request, input_file)
            raise ended
        _said(json_output, f"started {name}", execution=name, executionArn=arn, status="RUNNING")


@app.command()
def watch(execution: ExecutionArg, stack: StackOption = None, local: LocalOption = False,
          json_output: JsonOption = False) -> None:
    """Follow a release live: weights, every check's verdict and numbers, questions. Exit as deploy."""
    with _stack(stack, local) as deployed:
        arn = deployed.execution_arn(execution)
        try:
            raise _follow(arn, json_output)
        except _client_error() as exc:
            raise _fail(f"no execution {execution}: {_aws_said(exc)}", 4) from None


@app.command()
def status(execution: ExecutionArg, stack: StackOption = None, local: LocalOption = False,
           json_output: JsonOption = False) -> None:
    """Where a release is now. Exit 0 (4 if there is no such execution)."""
    from bluegreen.cli import commands  # noqa: PLC0415

    with _stack(stack, local) as deployed:
        try:
            state = commands.status(deployed, deployed.execution_arn(execution))
        except _client_error() as exc:
            raise _fail(f"no execution {execution}: {_aws_said(exc)}", 4) from None
    if json_output:
        typer.echo(json.dumps(state, default=str))
    else:
        commands.print_status(progress.console(), state)


def _answer(execution: str, decision: str, reason: str, stack: str | None, local: bool, json_output: bool) -> None:
    from bluegreen.cli import commands  # noqa: PLC0415

    with _stack(stack, local) as deployed:
        problem = commands.answer(deployed.execution_arn(execution), decision, reason)
    if problem:
        raise _fail(problem, 4)
    _said(json_output, f"{decision}d {execution}", execution=execution, decision=decision, reason=reason)


@app.command()
def approve(execution: ExecutionArg, reason: ReasonOption = "approved", stack: StackOption = None,
            local: LocalOption = False, json_output: JsonOption = False) -> None:
    """Approve the question a release waits on (approval gate or inconclusive evidence). Exit 4 if none."""
    _answer(execution, "approve", reason, stack, local, json_output)


@app.command()
def reject(execution: ExecutionArg, reason: ReasonOption = "rejected", stack: StackOption = None,
           local: LocalOption = False, json_output: JsonOption = False) -> None:
    """Reject the question a release waits on: it rolls back. Exit 4 if none."""
    _answer(execution, "reject", reason, stack, local, json_output)


@app.command("promote-now")
def promote_now(execution: ExecutionArg, reason: Annotated[str, typer.Option("--reason", help="Why (recorded).")],
                stack: StackOption = None, local: LocalOption = False, json_output: JsonOption = False) -> None:
    """Skip the remaining steps and promote at the next check (a failing check still rolls back)."""
    from bluegreen.cli import commands  # noqa: PLC0415

    with _stack(stack, local) as deployed:
        try:
            said = commands.promote_now(deployed, deployed.execution_arn(execution), reason)
        except LookupError as exc:
            raise _fail(str(exc), 4) from None
    _said(json_output, said, execution=execution, decision="promote-now", reason=reason, said=said)


@app.command()
def abort(execution: ExecutionArg, reason: ReasonOption = "aborted by an operator", stack: StackOption = None,
          local: LocalOption = False, json_output: JsonOption = False) -> None:
    """Stop a release; the abort guardian returns the alias 100% to the old version."""
    from bluegreen.cli import commands  # noqa: PLC0415

    with _stack(stack, local) as deployed:
        try:
            commands.abort(deployed, deployed.execution_arn(execution), reason)
        except _client_error() as exc:
            raise _fail(f"cannot stop {execution}: {_aws_said(exc)}", 4) from None
    _said(json_output, f"stopped {execution}: the guardian returns the alias to the old version",
          execution=execution, status="ABORTED", reason=reason)


@app.command("history")
def history_command(function: Annotated[str, typer.Argument(help="Function name.")],
                    alias: Annotated[str, typer.Option("--alias", help="Alias (default: prod).")] = "prod",
                    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
                    stack: StackOption = None, local: LocalOption = False, json_output: JsonOption = False) -> None:
    """A function alias's releases, newest first."""
    from rich.table import Table  # noqa: PLC0415

    from bluegreen.cli import commands  # noqa: PLC0415

    with _stack(stack, local) as deployed:
        rows = commands.history_rows(deployed, function, alias, limit)
    if json_output:
        typer.echo(json.dumps(rows, default=str))
        return
    if not rows:
        typer.echo(f"no releases of {function}:{alias} recorded")
        return
    table = Table("started", "status", "versions", "strategy", "checks", "trigger", "why")
    for row in rows:
        trigger = row.get("trigger", {})
        table.add_row(row.get("startedAt", "")[:19], row.get("status", ""),
                      f"{row.get('oldVersion')} → {row.get('newVersion')}", row.get("strategy", ""),
                      str(len(row.get("checks", []))),
                      f"{trigger.get('source')} {trigger.get('requestedBy') or ''}"
                      + (" (declared)" if trigger.get("requestedBy") else ""),
                      ": ".join(part for part in (row.get("error"), row.get("cause")) if part))
    progress.console().print(table)


@app.command()
def aliases(function: Annotated[str, typer.Argument(help="Function name.")],
            init: Annotated[bool, typer.Option(
                "--init", help="Create dev ($LATEST), test and prod (the newest published version, published now if "
                               "none) where missing; changes nothing that exists.")] = False,
            stack: StackOption = None, local: LocalOption = False, json_output: JsonOption = False) -> None:
    """Every alias of a function with its version(s) and weights, and every version with its date and code hash."""
    from rich.table import Table  # noqa: PLC0415

    from bluegreen.cli import environments  # noqa: PLC0415

    with _stack(stack, local):
        try:
            done = environments.init(function) if init else []
            described = environments.describe(function)
        except _client_error() as exc:
            raise _fail(f"cannot read {function}: {_aws_said(exc)}", 4) from None
    if json_output:
        typer.echo(json.dumps({**described, "initialised": done} if init else described))
        return
    console = progress.console()
    for line in done:
        console.print(line)
    table = Table("alias", "traffic")
    for alias in described["aliases"]:
        shares = alias["weights"].items()
        table.add_row(alias["alias"], ", ".join(f"{share:.0%} on {version}" for version, share in shares))
    console.print(table)
    versions = Table("version", "last modified", "code sha256")
    for version in described["versions"]:
        versions.add_row(version["version"], str(version["lastModified"])[:19], version["codeSha256"])
    console.print(versions)


@app.command()
def rollback(function: Annotated[str, typer.Argument(help="Function name.")],
             alias: Annotated[str, typer.Option("--alias", help="The alias to put back.")],
             reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the history and the event).")],
             to: Annotated[str | None, typer.Option(
                 "--to", help="The version to go back to (default: the one before its last release).")] = None,
             watch_it: Annotated[bool, typer.Option("--watch/--no-watch", help="Follow it until it ends.")] = True,
             stack: StackOption = None, local: LocalOption = False, json_output: JsonOption = False) -> None:
    """Put an alias back 100% on its previous version at once, through the state machine, under the alias's lock.

    Exit: 0 done, 2 refused (a release holds the alias, nothing to go back to), 3 failed, 4 no stack.
    """
    from bluegreen.cli import commands, environments  # noqa: PLC0415

    with _stack(stack, local) as deployed:
        try:
            request = environments.rollback_request(deployed, function, alias, to=to, reason=reason,
                                                          requested_by=commands.who())
        except environments.Refused as exc:
            raise _fail(f"{exc} (nothing changed)", 2) from None
        arn = commands.start(deployed, request, name=commands.execution_name(f"rollback-{function}-{alias}"))
        name = arn.rsplit(":", 1)[-1]
        said = f"started {name}\n{alias} goes back to version {request['version']}, at once"
        if watch_it:
            typer.echo(said, err=json_output)
            raise _follow(arn, json_output)
        _said(json_output, said, execution=name, executionArn=arn, status="RUNNING", version=request["version"])


@app.command()
def plan(input_file: Annotated[str | None, typer.Argument(help="Execution input JSON file ('-' for stdin).")] = None,
         function: Annotated[str | None, typer.Option("--function")] = None,
         alias: Annotated[str | None, typer.Option("--alias")] = None,
         strategy: Annotated[str | None, typer.Option("--strategy")] = None,
         stack: StackOption = None, local: LocalOption = False, offline: Annotated[bool, typer.Option(
             help="Do not read the alias's current version or traffic from AWS.")] = False,
         calls_per_minute: Annotated[float | None, typer.Option(
             "--calls-per-minute", min=0, help="The alias's calls per minute (every version), instead of its "
             "last hour's: what the canary can see at that traffic.")] = None,
         error_rate: Annotated[float | None, typer.Option(
             "--error-rate", min=0, max=1, help="The old version's error rate (default: its last hour's, "
             "or 0.01 with --calls-per-minute).")] = None,
         json_output: JsonOption = False) -> None:
    """Dry run: the steps, times, checks and AWS actions an input would perform, and what its canary can see
    at the alias's traffic (simulated releases judged by the real health check). Changes nothing."""
    from bluegreen.cli import commands  # noqa: PLC0415
    from bluegreen.errors import InvalidInput  # noqa: PLC0415

    try:
        request = commands.load_request(input_file, {"functionName": function, "alias": alias, "strategy": strategy})
        if offline:
            run = commands.plan(request, None)
            seen = commands.what_the_canary_sees(run, None, calls_per_minute, error_rate)
        else:
            with _stack(stack, local) as deployed:
                run = commands.plan(request, deployed)
                seen = commands.what_the_canary_sees(run, deployed, calls_per_minute, error_rate)
    except InvalidInput as exc:
        raise _fail(str(exc), 2) from None
    result = run.as_json()
    result["detection"] = seen
    if json_output:
        typer.echo(json.dumps(result))
        return
    _print_plan(result, seen)


def _print_plan(result: dict[str, Any], seen: dict[str, Any] | None) -> None:
    from bluegreen.cli import commands  # noqa: PLC0415

    console = progress.console()
    for target in result["targets"]:
        console.print(f"[bold]{target['functionName']}:{target['alias']}[/] {target['currentVersion'] or '?'} → "
                      f"{target['newVersion']} ({result['strategy']})")
    for step in result["schedule"]:
        more = (f", bakes {step['bakeSeconds']} s (up to {step['upToSeconds']} s while inconclusive), "
                f"{step['checks']} check(s)") if "bakeSeconds" in step else " (promote)"
        console.print(f"  at {step['startsAtSeconds']:>6} s: {step['weight']:>3}%{more}")
    transitions = (f"{result['stateTransitions']} state transitions (${result['costUsd']})"
                   if result["stateTransitions"] is not None
                   else "state transitions not counted (statemachine/deployment.asl.json not found)")
    console.print(f"  {result['durationSeconds']['ifHealthy']} s if healthy, at most "
                  f"{result['durationSeconds']['atMost']} s; {transitions}; "
                  f"history ≤ {result['historyEventsWorstCase']} events of 25,000")
    for verification in result["verification"]:
        checks = [*verification["beforeTraffic"], *(c for s in verification["stages"] for c in s["checks"]),
                  *verification["afterPromotion"]]
        for check in checks:
            console.print(f"  verify {verification['functionName']} {check['where']}: {json.dumps(check['check'])} "
                          f"(up to {check['worstCaseSeconds']} s)")
    seen_within = ", ".join(f"{name} {seconds} s" for name, seconds in result["failureSeenWithinSeconds"].items())
    console.print(f"  a failure is seen within (an interval, a period and the metric's delay): {seen_within}")
    if result["verificationWorstCaseSeconds"]:
        console.print(f"  verification adds at most {result['verificationWorstCaseSeconds']} s")
    for phase, actions in result["awsActions"].items():
        console.print(f"  {phase}: {', '.join(actions)}")
    if seen:
        for line in commands.describe_detection(seen):
            console.print(line)


@app.command()
def report(execution: ExecutionArg, out: Annotated[str, typer.Option("--out", help="FILE.html or FILE.svg.")],
           stack: StackOption = None, local: LocalOption = False, json_output: JsonOption = False) -> None:
    """Draw a release's timeline: weights, both versions' error rates and latency, checks and decisions."""
    from pathlib import Path  # noqa: PLC0415

    from bluegreen.cli import executions  # noqa: PLC0415
    from bluegreen.cli import report as reports  # noqa: PLC0415

    with _stack(stack, local) as deployed:
        try:
            result = executions.ended(deployed.execution_arn(execution))
        except LookupError:
            raise _fail(f"{execution} is still running: report it once it has ended", 4) from None
        except _client_error() as exc:
            raise _fail(f"no execution {execution}: {_aws_said(exc)}", 4) from None
    line = reports.timeline(result)
    Path(out).write_text(reports.svg(line) if out.endswith(".svg") else reports.page(line), encoding="utf-8")
    _said(json_output, f"wrote {out}", execution=execution, outcome=result.outcome, out=out)


def _client_error() -> type[Exception]:
    from botocore.exceptions import ClientError  # noqa: PLC0415

    return ClientError


def _aws_said(exc: Exception) -> str:
    from bluegreen.cli import aws_errors  # noqa: PLC0415

    return aws_errors.said(exc)
