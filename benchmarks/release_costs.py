"""What a release costs and how fast it reacts, measured on the real template, state machine and handlers
in the embedded local run (``make bench``).

Time is compressed: each strategy runs with its own steps and its own number of checks per step (the
default 60 s check interval), but every second of the strategy is ``1 / COMPRESSION`` s here, so a
30-minute canary takes 30 s. Counts (transitions, history events, AWS calls) do not depend on the
compression; latencies are reported back in the strategy's own seconds.

    python benchmarks/release_costs.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.client import BaseClient

from bluegreen.contracts import state_names
from bluegreen.decisions import strategy as strategies
from bluegreen.local import execution
from bluegreen.local.stack import REGION, LocalStack, running_stack
from bluegreen.local.stand_ins import invoker
from bluegreen.local.traffic import SampleFunction, TrafficSimulator, wait_for_metric

COMPRESSION = 60  # one minute of a strategy = one second here
PRICE_PER_TRANSITION = 0.025 / 1000
HISTORY_LIMIT = 25_000
# The functions' handlers, as the template names them (CodeUri functions/<job>/, Handler app.lambda_handler).
HANDLERS = ("publish", "shift_traffic", "check_health", "promote", "rollback")
WRITES = {"UpdateAlias", "PublishVersion", "CreateAlias"}
CONTROL_PLANE = {"GetAlias", "UpdateAlias", "PublishVersion", "CreateAlias", "GetFunctionConfiguration",
                 "ListProvisionedConcurrencyConfigs", "GetProvisionedConcurrencyConfig",
                 "PutProvisionedConcurrencyConfig", "DeleteProvisionedConcurrencyConfig"}


@dataclass
class CallLog:
    """Every AWS call the handlers make, with when."""

    calls: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def install(self) -> None:
        real = BaseClient._make_api_call  # type: ignore[attr-defined]

        def record(client: BaseClient, operation: str, params: Any) -> Any:
            if invoker.current_function() is not None:
                with self.lock:
                    self.calls.append((time.monotonic(), operation))
            return real(client, operation, params)

        BaseClient._make_api_call = record  # type: ignore[attr-defined]

    def peak_control_plane_rate(self, scale: float) -> float:
        """Highest number of Lambda control-plane calls in any one second (real time: AWS rate-limits per second)."""
        times = sorted(t for t, op in self.calls if op in CONTROL_PLANE)
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= 1.0 / scale:
                start += 1
            best = max(best, end - start + 1)
        return float(best)


def compressed(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A predefined strategy's steps, each minute one second, checked every (compressed) minute."""
    plan = strategies.plan_predefined(name)
    if not plan.weights:
        return {"strategy": name}, {}
    bake = max(1, plan.bake_seconds // COMPRESSION)
    return ({"strategy": {"steps": [*plan.weights, 100], "intervalSeconds": bake}},
            {"checkIntervalSeconds": max(1, 60 // COMPRESSION)})


def waited_seconds(events: list[dict[str, Any]]) -> float:
    total, entered = 0.0, None
    for event in events:
        if event["type"] == "WaitStateEntered":
            entered = event["timestamp"]
        elif event["type"] == "WaitStateExited" and entered is not None:
            total += (event["timestamp"] - entered).total_seconds()
    return total


def _back_to(by_id: dict[int, dict[str, Any]], event: dict[str, Any] | None,
             found: Any) -> dict[str, Any] | None:
    """The first event at or before ``event`` on its chain of previous events for which ``found`` holds."""
    while event is not None and not found(event):
        event = by_id.get(event.get("previousEventId", 0))
    return event


def _entered(event: dict[str, Any]) -> bool:
    return "stateEnteredEventDetails" in event


def timed_out_states(events: list[dict[str, Any]]) -> list[str]:
    """The states whose task ran past its TimeoutSeconds, each time it did (following each event's cause back)."""
    by_id = {event["id"]: event for event in events}
    causes = [_back_to(by_id, event, _entered) for event in events if event["type"].endswith("TimedOut")]
    return [cause["stateEnteredEventDetails"]["name"] if cause else "?" for cause in causes]


def state_seconds(events: list[dict[str, Any]], name: str) -> float:
    """From entering the state to leaving it, retries included (its first time)."""
    entered = next(e["timestamp"] for e in events if e.get("stateEnteredEventDetails", {}).get("name") == name)
    left = next(e["timestamp"] for e in events if e.get("stateExitedEventDetails", {}).get("name") == name)
    return float(round((left - entered).total_seconds(), 1))


def longest_task_seconds(events: list[dict[str, Any]]) -> dict[str, float]:
    """Per task state, its longest run (scheduled to its end, as the event chain links them)."""
    by_id = {event["id"]: event for event in events}
    longest: dict[str, float] = {}
    for event in events:
        if not event["type"].startswith("LambdaFunction") or event["type"] in {
                "LambdaFunctionScheduled", "LambdaFunctionStarted"}:
            continue
        start = _back_to(by_id, event, lambda e: e["type"] == "LambdaFunctionScheduled")
        entered = _back_to(by_id, start, _entered)
        if start is None or entered is None:
            continue
        name = entered["stateEnteredEventDetails"]["name"]
        seconds = (event["timestamp"] - start["timestamp"]).total_seconds()
        longest[name] = max(longest.get(name, 0.0), round(seconds, 1))
    return longest


def run_strategy(name: str) -> dict[str, Any]:
    calls = CallLog()
    with running_stack({"ManagedFunctions": "orders-api"}) as stack:
        calls.install()
        sample = SampleFunction("orders-api", "prod", stack.role_arn)
        sample.create()
        version = sample.publish("v2", 0.0)
        traffic = TrafficSimulator("orders-api", "prod")
        traffic.start()
        strategy, health = compressed(name)
        started = time.monotonic()
        try:
            result = execution.run(stack, {"functionName": "orders-api", "alias": "prod", "version": version,
                                           **strategy, "health": {"minInvocations": 5, **health}}, timeout=900)
        finally:
            traffic.stop()
        wall = time.monotonic() - started
    ops = Counter(op for _, op in calls.calls)
    return {
        "strategy": name, "outcome": result.outcome, "transitions": result.state_transitions,
        "cost": result.state_transitions * PRICE_PER_TRANSITION, "historyEvents": len(result.events),
        "calls": dict(sorted(ops.items())), "writes": sum(v for k, v in ops.items() if k in WRITES),
        "peakControlPlanePerSecond": calls.peak_control_plane_rate(1.0),
        "overheadSeconds": wall - waited_seconds(result.events),
        "checks": len(result.checks()),
    }


def readiness_release(ready_seconds: float | None, provisioned_seconds: float | None = None) -> dict[str, Any]:
    """One AllAtOnce release of $LATEST, its function with SnapStart (its new version Pending ``ready_seconds``)
    or without (None), with provisioned concurrency on its alias (allocated in ``provisioned_seconds``) or
    without: what waiting for the version to be Active, and for its provisioned concurrency, adds."""
    calls = CallLog()
    with running_stack({"ManagedFunctions": "orders-api"}) as stack:
        sample = SampleFunction("orders-api", "prod", stack.role_arn)
        sample.create()
        lam = boto3.client("lambda", region_name=REGION)
        if ready_seconds is not None:
            lam.update_function_configuration(FunctionName="orders-api", SnapStart={"ApplyOn": "PublishedVersions"})
            stack.lambda_rules.versions.ready_seconds = ready_seconds
        if provisioned_seconds is not None:
            stack.lambda_rules.provisioned.ready_seconds = 0.0
            lam.put_provisioned_concurrency_config(FunctionName="orders-api", Qualifier="prod",
                                                   ProvisionedConcurrentExecutions=10)
            stack.lambda_rules.provisioned.ready_seconds = provisioned_seconds
        sha = sample.stage("v2", 0.0)
        calls.install()
        result = execution.run(stack, {"functionName": "orders-api", "alias": "prod", "codeSha256": sha,
                                       "strategy": "AllAtOnce"}, timeout=900)
    ops = Counter(op for _, op in calls.calls)
    return {"snapStart": ready_seconds is not None, "readySeconds": ready_seconds,
            "provisionedSeconds": provisioned_seconds, "outcome": result.outcome,
            "publishSeconds": state_seconds(result.events, state_names.PUBLISH),
            "promoteSeconds": state_seconds(result.events, state_names.PROMOTE),
            "transitions": result.state_transitions, "getFunctionConfiguration": ops["GetFunctionConfiguration"],
            "provisionedConcurrencyCalls": sum(v for k, v in ops.items() if "ProvisionedConcurrency" in k),
            "controlPlaneCalls": sum(v for k, v in ops.items() if k in CONTROL_PLANE)}


def largest_state(result: execution.ExecutionResult) -> int:
    """The largest input, output or parameters any state had, in bytes of JSON (Step Functions' quota: 256 KiB)."""
    return max((len(str(details[key]).encode()) for event in result.events for name, details in event.items()
                if name.endswith("EventDetails") and isinstance(details, dict)
                for key in ("input", "output", "parameters") if key in details), default=0)


def multi_function_release(count: int, name: str = "Linear10PercentEvery10Minutes") -> dict[str, Any]:
    """One release of ``count`` functions with the longest predefined strategy, compressed (each step's minutes
    in seconds, checked every second): wall time, AWS calls, the peak Lambda control-plane rate, the calls the
    embedded Lambda refused at its 15 a second, and the largest state."""
    calls = CallLog()
    with running_stack({"ManagedFunctions": "orders-*"}) as stack:
        calls.install()
        targets, sims = [], []
        for i in range(count):
            sample = SampleFunction(f"orders-fn{i}", "prod", stack.role_arn)
            sample.create()
            targets.append({"functionName": sample.name, "alias": "prod", "version": sample.publish("v2", 0.0)})
            # Beyond 50 functions the simulators' own PutMetricData calls (one a tick each) would starve the 2
            # cores the whole embedded AWS shares, and push the check task past its TimeoutSeconds: fewer ticks.
            sims.append(TrafficSimulator(sample.name, "prod", rate=40 if count <= 50 else 10,
                                         tick_seconds=0.5 if count <= 50 else 2.0, seed=i))
        for sim in sims:
            sim.start()
        strategy, health = compressed(name)
        throttled = stack.lambda_rules.throttled
        started = time.monotonic()
        try:
            # About cost, pacing and size, not evidence: a few calls per function rule out only wide tolerances.
            result = execution.run(stack, {"targets": targets, **strategy, "health": {
                "minInvocations": 5, **health, "mustRuleOut": {
                    "errorRateMargin": 0.5, "throttleRate": 0.5, "missingShare": 1.0, "latencyRatio": 10}}},
                timeout=3600)
        finally:
            for sim in sims:
                sim.stop()
        wall = time.monotonic() - started
        refused = stack.lambda_rules.throttled - throttled
    ops = Counter(op for _, op in calls.calls)
    control = sum(v for k, v in ops.items() if k in CONTROL_PLANE)
    return {"functions": count, "strategy": name, "outcome": result.outcome, "error": result.error,
            "cause": result.cause, "wallSeconds": wall,
            "waitedSeconds": waited_seconds(result.events), "transitions": result.state_transitions,
            "historyEvents": len(result.events), "calls": sum(ops.values()), "controlPlaneCalls": control,
            "controlPlanePerFunction": control / count, "getMetricData": ops["GetMetricData"],
            "checks": len(result.checks()), "peakControlPlanePerSecond": calls.peak_control_plane_rate(1.0),
            "refusedByTheRateLimit": refused, "largestStateBytes": largest_state(result),
            "timedOut": timed_out_states(result.events), "longestTaskSeconds": longest_task_seconds(result.events)}


# AWS/Lambda's metrics, as the bench's releases judge them: 180 s late (the default MetricDelaySeconds), the
# datapoints arriving 120 s after their calls (about what AWS shows), compressed as the strategy is.
METRIC_DELAY_SECONDS, INGESTION_SECONDS = 180, 120


def _onset_to_rollback(stack: LocalStack, traffic: TrafficSimulator, execution_input: dict[str, Any],
                       after: float, regress: Callable[[], None], *,
                       ready: Callable[[], None] = lambda: None) -> float:
    """Seconds (here) from ``regress`` (called ``after`` s into the first step's bake) to the rollback state; the
    release starts once the callers run and ``ready`` returns."""
    traffic.start()
    try:
        ready()
        arn = execution.start(stack, execution_input)
        deadline = time.monotonic() + 60
        while not any(e["type"] == "WaitStateEntered" for e in execution.history(arn)):
            if time.monotonic() > deadline:
                raise TimeoutError("the step never started baking")
            time.sleep(0.05)
        time.sleep(after)
        regress()
        regressed = time.time()
        result = execution.wait(arn, timeout=120)
    finally:
        traffic.stop()
    rolled = next(float(e["timestamp"].timestamp()) for e in result.events
                  if e.get("stateEnteredEventDetails", {}).get("name") == "Roll back to the old version")
    return rolled - regressed


def detection_latency(interval: int, repeats: int) -> list[float]:
    """Seconds (of the strategy's own time) from a regression starting mid-step to the rollback state,
    with checks every ``interval`` s of strategy time and the metrics 180 s late (compressed 10x: 60 s of
    strategy = 6 s here)."""
    scale = 10
    check = max(1, interval // scale)
    latencies = []
    # AWS/Lambda's one-minute resolution, compressed as the strategy is: 6 s here.
    with running_stack({"ManagedFunctions": "orders-*", "MetricDelaySeconds": METRIC_DELAY_SECONDS // scale},
                       resolution=60 // scale) as stack:
        for attempt in range(repeats):
            function = f"orders-bench{attempt}"
            sample = SampleFunction(function, "live", stack.role_arn)
            sample.create()
            version = sample.publish("v2", 0.0)
            traffic = TrafficSimulator(function, "live", delay_seconds=INGESTION_SECONDS / scale)

            def regress(traffic: TrafficSimulator = traffic, version: str = version) -> None:
                traffic.override(version, error_rate=0.3)

            # Regress between two checks, at a different point of the interval each time.
            latencies.append(scale * _onset_to_rollback(
                stack, traffic, {"functionName": function, "alias": "live", "version": version,
                                 "strategy": {"steps": [20, 100], "intervalSeconds": 4 * check},
                                 "health": {"checkIntervalSeconds": check}}, check * (1 + attempt % 3) / 3, regress))
    return latencies


# The application metric's reaction row, in strategy time (compressed, REACTION_SCALE): one-second metrics (embedded
# metric format) arriving 7.5 s after their calls and judged 20 s late, checks every 10 s on 10 s periods, beside
# AWS/Lambda's metrics 180 s late; the new version starts answering 500 to 20% of requests (no Lambda error), at
# 2,400 new-version calls a minute. The bound: an interval, a period and the delay.
APP_METRIC_DELAY_SECONDS, APP_CHECK_SECONDS = 20, 10


# How much the reaction row compresses strategy time: 5x (a 10 s check every 2 s here). The local run's own costs
# (a task's run time, the Wait states' whole seconds, the callers' 0.2 s tick) count that many times over; at 10x
# they alone took a run 13 s past the bound.
REACTION_SCALE = 5


def app_metric_reaction(repeats: int, scale: int = REACTION_SCALE) -> list[float]:
    """Seconds (strategy time, compressed ``scale`` times) from a 5xx regression's onset mid-step to the rollback
    state, judged on the application's own one-second metric."""
    metric = {"name": "http-5xx", "namespace": "OrdersApp", "failures": "Responses5xx", "total": "Requests",
              "dimensions": {"Service": "orders"}, "metricDelaySeconds": APP_METRIC_DELAY_SECONDS // scale,
              "storageResolution": 1}
    latencies = []
    with running_stack({"ManagedFunctions": "orders-*", "MetricDelaySeconds": METRIC_DELAY_SECONDS // scale},
                       resolution=60 // scale) as stack:
        for attempt in range(repeats):
            function = f"orders-app{attempt}"
            sample = SampleFunction(function, "live", stack.role_arn)
            sample.create(metrics_namespace="OrdersApp")
            version = sample.publish("v2", 0.0, metrics_namespace="OrdersApp")
            traffic = TrafficSimulator(function, "live", rate=2_000, delay_seconds=INGESTION_SECONDS / scale,
                                       emf_delay_seconds=APP_METRIC_DELAY_SECONDS / scale * 3 / 8)
            execution_input = {"functionName": function, "alias": "live", "version": version,
                               "strategy": {"steps": [20, 100], "intervalSeconds": 60},
                               "health": {"checkIntervalSeconds": APP_CHECK_SECONDS // scale, "metrics": [metric]}}

            def regress(traffic: TrafficSimulator = traffic, version: str = version) -> None:
                traffic.override(version, server_error_rate=0.2)

            # The release starts once the old version's metrics are listed; the new version regresses a few
            # seconds into the step, at a different point of a check interval each time.
            latencies.append(scale * _onset_to_rollback(stack, traffic, execution_input, 3 + (attempt % 4) / 4,
                                                        regress,
                                                        ready=lambda: wait_for_metric("OrdersApp", "Responses5xx")))
    return latencies


def import_ratios() -> dict[str, float]:
    """Cold import time of each handler over a bare ``import boto3``, each in a fresh interpreter: the handler
    loaded from its file as the Lambda runtime loads it, the shared package importable as from its layer."""

    def cost(statement: str) -> float:
        samples = []
        for _ in range(5):
            code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                 env={"PYTHONPATH": "src"})
            samples.append(float(out.stdout.strip()))
        return statistics.median(samples)

    base = cost("import boto3")
    load = ("import importlib.util as u; s = u.spec_from_file_location('app', 'functions/{}/app.py'); "
            "s.loader.exec_module(u.module_from_spec(s))")
    return {handler: cost(load.format(handler)) / base for handler in HANDLERS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the shortest strategies, one latency run each")
    args = parser.parse_args(argv)
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    names = ["AllAtOnce", "Canary10Percent5Minutes", "Linear10PercentEvery1Minute"] if args.quick \
        else list(strategies.PREDEFINED)
    rows = []
    for name in names:
        row = run_strategy(name)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr)
    print("| strategy | outcome | checks | state transitions | cost per release | history events (of 25,000) | "
          "AWS calls by the Lambdas | Lambda writes | peak Lambda control-plane calls/s | overhead |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        calls = ", ".join(f"{k} {v}" for k, v in r["calls"].items())
        print(f"| {r['strategy']} | {r['outcome']} | {r['checks']} | {r['transitions']} | ${r['cost']:.4f} | "
              f"{r['historyEvents']} ({r['historyEvents'] / HISTORY_LIMIT:.1%}) | {calls} | {r['writes']} | "
              f"{r['peakControlPlanePerSecond']:.0f} | {r['overheadSeconds']:.1f} s |")
    print()
    print("| functions in one release (Linear10PercentEvery10Minutes) | outcome | wall time | of which waits | "
          "checks | GetMetricData | state transitions | history events (of 25,000) | AWS calls by the Lambdas | "
          "Lambda control-plane calls (per function) | peak control-plane calls/s | refused at 15/s | "
          "largest state (of 262,144 bytes) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for count in (1, 10) if args.quick else (1, 50, 200):
        m = multi_function_release(count)
        print(json.dumps(m), file=sys.stderr)
        print(f"| {m['functions']} | {m['outcome']} | {m['wallSeconds']:.1f} s | {m['waitedSeconds']:.1f} s | "
              f"{m['checks']} | {m['getMetricData']} | {m['transitions']} | {m['historyEvents']} | {m['calls']} | "
              f"{m['controlPlaneCalls']} ({m['controlPlanePerFunction']:.1f}) | {m['peakControlPlanePerSecond']:.0f} | "
              f"{m['refusedByTheRateLimit']} | {m['largestStateBytes']:,} |")
    print()
    print("| function (AllAtOnce) | outcome | publish task | promote task | GetFunctionConfiguration | "
          "provisioned-concurrency calls | Lambda control-plane calls | state transitions |")
    print("|---|---|---|---|---|---|---|---|")
    for ready, allocated, label in ((None, None, "no SnapStart, no provisioned concurrency"),
                                    (12.0, None, "SnapStart, Pending 12 s"),
                                    (None, 12.0, "provisioned concurrency on the alias, allocated in 12 s")):
        r = readiness_release(ready, allocated)
        print(json.dumps(r), file=sys.stderr)
        print(f"| {label} | {r['outcome']} | {r['publishSeconds']:.1f} s | {r['promoteSeconds']:.1f} s | "
              f"{r['getFunctionConfiguration']} | {r['provisionedConcurrencyCalls']} | {r['controlPlaneCalls']} | "
              f"{r['transitions']} |")
    print()
    print("| check interval | onset → rollback (strategy seconds, metrics 180 s late): median | max | "
          "interval + delay + a period (AWS/Lambda's: a minute at least) + 5 s |")
    print("|---|---|---|---|")
    for interval in (10, 30, 60):
        latencies = detection_latency(interval, 1 if args.quick else 3)
        print(f"| {interval} s | {statistics.median(latencies):.1f} s | {max(latencies):.1f} s | "
              f"{interval + METRIC_DELAY_SECONDS + max(interval, 60) + 5} s |")
    print()
    print(f"| judged on (checks every 10 s, 10 s periods; compressed {REACTION_SCALE}x) | onset → rollback (strategy "
          "seconds): median | max | runs | interval + period + delay |")
    print("|---|---|---|---|---|")
    reactions = app_metric_reaction(3 if args.quick else 20)
    print(f"| application metric (one-second, judged {APP_METRIC_DELAY_SECONDS} s late; AWS/Lambda's 180 s) | "
          f"{statistics.median(reactions):.1f} s | {max(reactions):.1f} s | {len(reactions)} | "
          f"{2 * APP_CHECK_SECONDS + APP_METRIC_DELAY_SECONDS} s |")
    print()
    ratios = import_ratios()
    print("| handler | cold import / bare `import boto3` |")
    print("|---|---|")
    for handler, ratio in ratios.items():
        print(f"| {handler} | {ratio:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
