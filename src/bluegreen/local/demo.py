"""``bluegreen demo``: a whole release of a sample function, in moto, with live progress."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from rich.console import Console
from rich.table import Table

from bluegreen.aws import history, settings
from bluegreen.cli import report as reports
from bluegreen.cli.progress import ProgressPrinter, describe_verification, ms
from bluegreen.cli.progress import console as progress_console
from bluegreen.contracts import state_names
from bluegreen.decisions import strategy as strategies
from bluegreen.errors import InvalidInput
from bluegreen.local import execution
from bluegreen.local.app_stack import alias_behind_route, deploy_app, redeploy
from bluegreen.local.stack import REGION, LocalStack, project_root, running_stack
from bluegreen.local.traffic import TrafficSimulator, behaviour, wait_for_metric


@dataclass(frozen=True)
class Scenario:
    """How the old and the new version behave, and how much traffic the alias gets."""

    summary: str
    new_error_rate: float
    old_error_rate: float = 0.002
    new_latency_ms: float = 20.0
    old_latency_ms: float = 20.0
    # A healthy 1 s step at 10% (the tests' demos): 5,000 calls of the new version, whose 0.2% errors
    # leave the bound on its error rate well inside mustRuleOut's 1 point.
    requests_per_second: float = 50_000.0
    # What every answer of the new version says (500: broken, though it raises nothing).
    new_status_code: int = 200
    # The share of the new version's answers that are 500s (Lambda counts them as successes).
    new_server_error_rate: float = 0.0
    # Judge the application's own metrics too (health.metrics: its HTTP 5xx rate per version). Each call then
    # runs Powertools Metrics here (about 0.1 ms), so such scenarios call less often.
    app_metrics: bool = False
    # How the release should end: what the scenario shows (--as-intended exits 0 when it did).
    intends: str = "rolled_back"


SCENARIOS = {
    "healthy": Scenario("works like the old one (0.2% errors, 20 ms)", 0.002, intends="promoted"),
    "failing": Scenario("fails 30% of calls", 0.3),
    "slow": Scenario("answers in 60 ms where the old one takes 20 ms", 0.002, new_latency_ms=60.0),
    "flaky": Scenario("fails 3% of calls where the old one fails 0.5%", 0.03, old_error_rate=0.005),
    "low-traffic": Scenario("works, but the alias gets 2 calls a second: too few to judge", 0.0,
                            requests_per_second=2.0),
    "noisy-baseline": Scenario("fails 5% of calls, as the old one does", 0.05, old_error_rate=0.05,
                               intends="promoted"),
    "smoke-fails": Scenario("answers 500 to every call: its smoke check at test fails, prod is never touched",
                            0.0, new_status_code=500),
    "http-500": Scenario("answers 500 to 20% of requests (no Lambda error: its smoke check passes); judged on the "
                         "app's own Responses5xx per version", 0.0, old_error_rate=0.0, new_server_error_rate=0.2,
                         requests_per_second=2_000.0, app_metrics=True),
}
# The application metric the http-500 scenario judges (events/http-500.json names the same).
METRICS_NAMESPACE = "OrdersApp"
HTTP_5XX = {"name": "http-5xx", "namespace": METRICS_NAMESPACE, "failures": "Responses5xx", "total": "Requests",
            "dimensions": {"Service": "orders"}, "versionDimension": "FunctionVersion",
            "storageResolution": 1}
EXIT_CODES = {"promoted": 0, "rolled_back": 1, "rejected": 2, "failed": 3}
SAMPLE_FUNCTION = "orders-api"
SAMPLE_ALIAS = "prod"
# The stage the new version passes before prod takes traffic, and its smoke check (a GET /orders).
TEST_STAGE = "test"
SMOKE_CHECK = {"invoke": {"payload": {"httpMethod": "GET", "path": "/orders",
                                      "requestContext": {"requestId": "smoke"}}},
               "expect": {"statusCode": 200}}


def demo_strategy(strategy: str | None, interval: int) -> Any:
    """The strategy to release with. Predefined names keep their step plan but bake ``interval``
    seconds per step, so a 30-minute canary shows in seconds; JSON is passed as given."""
    if strategy is None:
        return {"steps": [10, 50, 100], "intervalSeconds": interval}
    if strategy.lstrip().startswith("{"):
        try:
            return json.loads(strategy)
        except ValueError as exc:
            raise InvalidInput(f"--strategy: not JSON: {exc}") from None
    try:
        plan = strategies.plan_predefined(strategy)
    except ValueError:
        return strategy  # the state machine rejects it, as it would in AWS
    if not plan.weights:
        return strategy
    return {"steps": [*plan.weights, 100], "intervalSeconds": interval}


def summarise(result: execution.ExecutionResult, calls: dict[str, int], wall: float,
              verification: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The demo's JSON result, read from the execution's history and the alias itself; ``verification``: each
    check's result as the release's history recorded it."""
    verification = verification or []
    outcome = result.outcome
    plans = result.task_outputs(state_names.PUBLISH)
    targets = plans[0]["plan"]["targets"] if plans else []
    plan = targets[0] if targets else {}
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
             "reason": out["health"]["reason"], "ruledOut": out["health"].get("ruledOut")}
            for out in result.checks()
        ],
        "verification": verification,
        "stages": {TEST_STAGE: {"functionVersion": boto3.client("lambda", region_name=REGION).get_alias(
            FunctionName=SAMPLE_FUNCTION, Name=TEST_STAGE)["FunctionVersion"]}},
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
    report: str | None = "bluegreen-demo-report.html"  # the timeline picture written at the end
    # Exit 0 when the release ended as the scenario intends (a rollback the scenario shows is not a failure).
    as_intended: bool = False


@contextmanager
def sample_release(scenario: Scenario, echo_logs: bool = False) -> Iterator[tuple[LocalStack, str]]:
    """The template in moto; the example application (examples/orders-app) deployed as its team would, then
    deployed again with new code ($LATEST only: dev follows it, test and prod stay on version 1); callers on
    the alias the API's production route invokes for as long as the block runs. Yields the stack and
    $LATEST's CodeSha256."""
    with running_stack({"ManagedFunctions": SAMPLE_FUNCTION}, echo_logs=echo_logs) as stack:
        namespace = METRICS_NAMESPACE if scenario.app_metrics else None
        app = deploy_app(stack.router, project_root(), environment=behaviour(
            scenario.old_error_rate, scenario.old_latency_ms, metrics_namespace=namespace))
        redeploy(app, stack.router, code="v2", environment=behaviour(
            scenario.new_error_rate, scenario.new_latency_ms, status_code=scenario.new_status_code,
            server_error_rate=scenario.new_server_error_rate, metrics_namespace=namespace))
        code_sha = str(boto3.client("lambda", region_name=REGION).get_function(
            FunctionName=SAMPLE_FUNCTION)["Configuration"]["CodeSha256"])
        traffic = TrafficSimulator(SAMPLE_FUNCTION, alias_behind_route(app, "OrdersApi", "/orders"),
                                   rate=scenario.requests_per_second)
        traffic.start()
        try:
            if scenario.app_metrics:
                wait_for_metric(METRICS_NAMESPACE, str(HTTP_5XX["failures"]))
            yield stack, code_sha
        finally:
            traffic.stop()


def recorded_verification(stack: LocalStack) -> list[dict[str, Any]]:
    """The verification checks the release's history recorded (a failed check returns nothing to the
    execution: the history has it)."""
    with settings.provided({settings.DEPLOYMENTS_TABLE: stack.tables["DeploymentsTable"]}):
        rows = history.list_deployments(SAMPLE_FUNCTION, SAMPLE_ALIAS, limit=1)
    return list(rows[0].get("verification", [])) if rows else []


def run_demo(options: DemoOptions) -> int:
    """Run one demo release; print progress and a summary (or one JSON object); return the exit code."""
    scenario = SCENARIOS[options.scenario]
    as_json, verbose = options.as_json, options.verbose
    console = progress_console(stderr=as_json)
    if not verbose:
        logging.getLogger("moto").setLevel(logging.CRITICAL)
    with sample_release(scenario, echo_logs=verbose) as (stack, code_sha):
        console.print(f"[bold]bluegreen demo[/] ({options.scenario}): template.yaml deployed into moto; "
                      f"state machine {stack.state_machine_arn.rsplit(':', 1)[-1]}")
        console.print(f"Example app examples/orders-app: GET /orders → {SAMPLE_FUNCTION}:{SAMPLE_ALIAS} (version 1, "
                      f"{scenario.requests_per_second:g} calls/s), /test/orders → {TEST_STAGE}, /dev/orders → dev "
                      f"($LATEST); redeployed with new code that {scenario.summary}")
        execution_input = {"functionName": SAMPLE_FUNCTION, "alias": SAMPLE_ALIAS, "codeSha256": code_sha,
                           "strategy": demo_strategy(options.strategy, options.interval),
                           "stages": [{"alias": TEST_STAGE, "verify": [SMOKE_CHECK]}],
                           "health": {"checkIntervalSeconds": options.check_interval,
                                      **({"metrics": [HTTP_5XX]} if scenario.app_metrics else {})}}
        console.print(f"Starting execution with input: {json.dumps(execution_input)}")
        started = time.monotonic()
        result = execution.run(stack, execution_input, timeout=600, on_event=ProgressPrinter(console))
        wall = time.monotonic() - started
        summary = summarise(result, dict(stack.router.calls), wall, recorded_verification(stack))
    if options.report:
        line = reports.timeline(result)
        Path(options.report).write_text(reports.svg(line) if options.report.endswith(".svg") else reports.page(line),
                                        encoding="utf-8")
        console.print(f"Timeline picture: {options.report}")
    summary["asIntended"] = summary["outcome"] == scenario.intends
    if as_json:
        print(json.dumps(summary))
    else:
        print_summary(console, summary)
        said = "as the scenario intends" if summary["asIntended"] else f"NOT as intended ({scenario.intends})"
        console.print(f"{options.scenario}: {summary['outcome'].replace('_', ' ')}, {said}")
    if options.as_intended:
        return 0 if summary["asIntended"] else 1
    return EXIT_CODES[summary["outcome"]]


def print_summary(console: Console, summary: dict[str, Any]) -> None:
    # At most 120 wide: a log's 200 columns (progress.PIPED_WIDTH) would pad every short row to the longest one.
    table = Table(title=f"Deployment {summary['outcome'].upper()}", show_header=False, width=min(console.width, 120))
    alias = summary["alias"]
    weights = alias["additionalVersionWeights"]
    table.add_row("execution", summary["executionStatus"] + (f" ({summary['error']})" if summary["error"] else ""))
    if summary["cause"]:
        table.add_row("cause", summary["cause"])
    table.add_row("alias", f"{summary['function']}:{alias['name']} → version {alias['functionVersion']}"
                           + (f" + {weights}" if weights else " (no routing config)"))
    table.add_row("versions", f"{summary['previousVersion']} → {summary['newVersion']}")
    for check in summary["verification"]:
        table.add_row("verified", describe_verification(check))
    for name, stage in summary["stages"].items():
        table.add_row(f"{name} alias", f"version {stage['functionVersion']}")
    for i, check in enumerate(summary["checks"], 1):
        numbers = (f"new {check['errors']}/{check['invocations']} errors, p99 {ms(check['p99Ms'])}; "
                   f"old {check['baselineErrors']}/{check['baselineInvocations']}, p99 {ms(check['baselineP99Ms'])}")
        table.add_row(f"check {i}", f"{check['weight']}%: {check['verdict']} → {check['decision']} ({numbers})")
    if summary["outcome"] == "promoted" and summary["checks"] and summary["checks"][-1]["ruledOut"]:
        table.add_row("ruled out", summary["checks"][-1]["ruledOut"])  # why it was safe to promote
    table.add_row("state transitions", str(summary["stateTransitions"]))
    table.add_row("AWS calls", ", ".join(f"{k} {v}" for k, v in summary["awsCalls"].items()))
    table.add_row("wall time", f"{summary['wallSeconds']} s")
    console.print(table)
