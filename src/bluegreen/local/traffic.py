"""Local stand-in for what AWS does around a real function: callers invoking an alias (honouring its
weights, which moto ignores on invoke) and Lambda publishing per-version AWS/Lambda metrics (which moto
never emits).

Invoking is Lambda's data plane: the simulator reads the alias's weights and each version's
environment from moto's Lambda directly, not through the control-plane API, whose rate limit the
releases under test share (``lambda_rules``)."""

from __future__ import annotations

import math
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from statistics import NormalDist
from typing import Any

import boto3
from moto.awslambda.utils import get_backend as lambda_backend

from bluegreen.aws.settings import provided
from bluegreen.local.app_stack import code_package, wait_until_updated
from bluegreen.local.stack import project_root
from bluegreen.local.stand_ins import emf, provisioned_concurrency
from bluegreen.local.stand_ins.accounts import ACCOUNT, REGION, function_arn
from bluegreen.local.stand_ins.invoker import FakeContext, HandlerRouter, LocalFunction
from bluegreen.local.stand_ins.lambda_code import load_handler

# Duration values a tick per version (CloudWatch takes at most 150 in one datum): their percentiles stand
# for every call of the tick. Fewer let a p99 "trusted" on thousands of calls rest on a few dozen values, and
# two versions' p99s of the same latency differ by 1.5x in 2% of checks made two ticks into a step.
DURATION_SAMPLES = 150
# Calls a second on the alias by default: the local run compresses a step's minutes into seconds, so a few
# seconds of it carry the calls a busy function's step does (a 1 s step at 10%: 2,000 calls of the new
# version), enough for a pass to rule out the default mustRuleOut. A call costs about 3 us here.
RATE = 20_000.0
# How late a tick's datapoints become readable, as AWS/Lambda delivers them (stamped with the calls' start,
# emitted when they end, ingested later): compressed as the local run's minutes are (a check every 1-2 s
# stands for one every 60 s, so 1.5 s here is about a minute in AWS). The local stack judges data 2 s late
# (its MetricDelaySeconds), after it has all arrived.
INGESTION_DELAY_SECONDS = 1.5
_NORMAL = NormalDist()
# PutMetricData takes at most 1,000 metrics a call.
MAX_DATA_PER_PUT = 1000
__all__ = ["SampleFunction", "TrafficSimulator", "behaviour", "code", "sample_handler", "wait_for_metric",
           "wait_until_updated"]


# The sample function's code: the example application's (examples/orders-app).
SAMPLE_CODE = Path("examples") / "orders-app" / "src"
SAMPLE_HANDLER = "app.handler"


def code(marker: str) -> bytes:
    """A code package of the sample function, told apart from others by ``marker``."""
    return code_package(project_root() / SAMPLE_CODE, marker)


def sample_handler() -> Callable[[Any, Any], Any]:
    root = project_root()
    return load_handler(root / SAMPLE_CODE, SAMPLE_HANDLER, root)


def behaviour(error_rate: float, latency_ms: float = 20.0, throttle_rate: float = 0.0,
              status_code: int = 200, hang_rate: float = 0.0, *, server_error_rate: float = 0.0,
              metrics_namespace: str | None = None) -> dict[str, str]:
    """A version's environment: the share of calls that fail, its typical duration, its throttled share, the
    status its answers carry, the share of calls that hang (they never end while the release runs: no
    datapoint of theirs ever arrives), the share answered with a 500, and the namespace of the metrics it
    emits (none without)."""
    # No namespace: no metrics emitted (the example's template sets one; each call's metrics cost about 0.1 ms here,
    # and the embedded callers make thousands of calls a second).
    return {"ERROR_RATE": str(error_rate), "LATENCY_MS": str(latency_ms), "THROTTLE_RATE": str(throttle_rate),
            "STATUS_CODE": str(status_code), "HANG_RATE": str(hang_rate), "SERVER_ERROR_RATE": str(server_error_rate),
            "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace or ""}


@dataclass
class SampleFunction:
    """A function of the example application's code, created without its template (the tests' own)."""

    name: str
    alias: str
    role_arn: str
    released: str = "1"
    # Serves invocations of the function (checks invoke it); without, only the traffic simulator calls it.
    router: HandlerRouter | None = None

    def create(self, error_rate: float = 0.0, latency_ms: float = 20.0, metrics_namespace: str | None = None) -> None:
        """The function with version 1 published and the alias on it."""
        lam = boto3.client("lambda", region_name=REGION)
        arn = lam.create_function(FunctionName=self.name, Runtime="python3.12", Role=self.role_arn,
                                  Handler=SAMPLE_HANDLER, Code={"ZipFile": code("v1")},
                                  Environment={"Variables": behaviour(
                                      error_rate, latency_ms, metrics_namespace=metrics_namespace)})["FunctionArn"]
        if self.router is not None:
            root = project_root()
            self.router.register(LocalFunction(self.name, arn, root / SAMPLE_CODE, SAMPLE_HANDLER, root))
        self.released = lam.publish_version(FunctionName=self.name)["Version"]
        lam.create_alias(FunctionName=self.name, Name=self.alias, FunctionVersion=self.released)

    def stage(self, marker: str, error_rate: float, latency_ms: float = 20.0, throttle_rate: float = 0.0,
              status_code: int = 200, *, hang_rate: float = 0.0, server_error_rate: float = 0.0,
              metrics_namespace: str | None = None) -> str:
        """New code and configuration in $LATEST (not published); returns its CodeSha256. Each update is
        waited for, as AWS requires before the next one (LastUpdateStatus)."""
        lam = boto3.client("lambda", region_name=REGION)
        wait_until_updated(lam, self.name)  # someone else's update first
        lam.update_function_code(FunctionName=self.name, ZipFile=code(marker))
        wait_until_updated(lam, self.name)
        lam.update_function_configuration(
            FunctionName=self.name,
            Environment={"Variables": behaviour(error_rate, latency_ms, throttle_rate, status_code, hang_rate,
                                                server_error_rate=server_error_rate,
                                                metrics_namespace=metrics_namespace)})
        return str(wait_until_updated(lam, self.name)["CodeSha256"])

    def publish(self, marker: str, error_rate: float, status_code: int = 200, throttle_rate: float = 0.0,
                hang_rate: float = 0.0, *, server_error_rate: float = 0.0, metrics_namespace: str | None = None,
                latency_ms: float = 20.0) -> str:
        self.stage(marker, error_rate, latency_ms, throttle_rate=throttle_rate, status_code=status_code,
                   hang_rate=hang_rate, server_error_rate=server_error_rate, metrics_namespace=metrics_namespace)
        return boto3.client("lambda", region_name=REGION).publish_version(FunctionName=self.name)["Version"]


def wait_for_metric(namespace: str, name: str, timeout: float = 15.0, history_seconds: float = 3.0) -> None:
    """Until CloudWatch lists a metric the callers' calls emit (the old version's, before a release names it: one
    naming a metric CloudWatch does not list is refused, as in AWS), and ``history_seconds`` more: publish judges
    the alias's traffic from its settled periods, which a second or two of calls leave mostly partial."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    deadline = time.monotonic() + timeout
    while not cloudwatch.list_metrics(Namespace=namespace, MetricName=name)["Metrics"]:
        if time.monotonic() > deadline:
            raise RuntimeError(f"no {namespace} {name} metric arrived in {timeout:g} s")
        time.sleep(0.1)
    time.sleep(history_seconds)


def _lambda_backend() -> Any:
    return lambda_backend(ACCOUNT, REGION)  # moto's, as its Lambda API uses it


def _due(owed: float, amount: float) -> tuple[int, float]:
    """The whole number of calls due once ``amount`` joins the fraction ``owed``, and the fraction carried on."""
    total = owed + amount
    return int(total), total - int(total)


@dataclass
class TrafficSample:
    """One tick of traffic: when, the alias weights then, and per-version invocations, errors and throttles."""

    at: float
    weights: dict[str, float]
    invocations: dict[str, int]
    errors: dict[str, int]
    throttles: dict[str, int]
    # Calls routed to a version that was not Active yet: refused by Lambda, in none of its metrics.
    not_ready: dict[str, int] = field(default_factory=dict)
    # Calls a version ran on demand (cold) while its function has provisioned concurrency somewhere.
    cold: dict[str, int] = field(default_factory=dict)


@dataclass
class TrafficSimulator:
    """Invokes the alias at ``rate`` requests per second in a background thread, as Lambda would:
    each version by its alias weight, throttled on part of its requests (THROTTLE_RATE), taking
    about LATENCY_MS per call, and reporting Invocations, Errors, Throttles and Duration.

    Each version's failures, throttles and durations are its exact shares, spread evenly over its calls (the
    sample function fails by its calls' numbers), not draws: the end-to-end tests run the machinery, and a
    healthy release must not be rolled back by the 1% of chance the judge allows (the benchmarks measure
    that chance, over thousands of releases). Only which version serves a call is drawn, as Lambda does."""

    function_name: str
    alias: str
    rate: float = RATE
    tick_seconds: float = 0.2
    seed: int = 7
    delay_seconds: float = INGESTION_DELAY_SECONDS
    # How late the metrics extracted from the calls' log lines arrive (default: as AWS/Lambda's).
    emf_delay_seconds: float | None = None
    samples: list[TrafficSample] = field(default_factory=list)
    # Datapoints on their way: (when readable, namespace, data stamped as AWS stamps them).
    _pending: list[tuple[float, str, list[dict[str, Any]]]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _envs: dict[str, dict[str, str]] = field(default_factory=dict)
    _calls: Counter[str] = field(default_factory=Counter)  # each version's calls so far: the requests' numbers
    _throttles_owed: dict[str, float] = field(default_factory=dict)  # shares of a throttle carried over
    _hangs_owed: dict[str, float] = field(default_factory=dict)  # ... and of a hanging call
    _owed: float = 0.0  # fractions of a request carried to the next tick, so low rates still call
    _last_tick: float | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._cloudwatch: Any = boto3.client("cloudwatch", region_name=REGION)
        self._handler = sample_handler()

    def _version_env(self, version: str) -> dict[str, str]:
        if version not in self._envs:
            self._envs[version] = dict(_lambda_backend().get_function(self.function_name, version).environment_vars)
        return self._envs[version]

    def override(self, version: str, error_rate: float | None = None, latency_ms: float | None = None,
                 hang_rate: float | None = None, server_error_rate: float | None = None) -> None:
        """Change how a published version behaves from now on (a regression that starts mid-step)."""
        env = dict(self._version_env(version))
        for key, value in (("ERROR_RATE", error_rate), ("LATENCY_MS", latency_ms), ("HANG_RATE", hang_rate),
                           ("SERVER_ERROR_RATE", server_error_rate)):
            if value is not None:
                env[key] = str(value)
        self._envs[version] = env

    def _throttled(self, version: str, env: dict[str, str], count: int) -> int:
        throttled, self._throttles_owed[version] = _due(self._throttles_owed.get(version, 0.0),
                                                        count * float(env.get("THROTTLE_RATE", "0")))
        return throttled

    @staticmethod
    def _durations(env: dict[str, str], count: int) -> list[float]:
        # At most DURATION_SAMPLES values a tick (see there), the quantiles of a lognormal spread around
        # LATENCY_MS; moto stores every value (Invocations, not Duration's SampleCount, counts the calls).
        typical, n = float(env.get("LATENCY_MS", "20")), min(count, DURATION_SAMPLES)
        return [round(typical * math.exp(0.3 * _NORMAL.inv_cdf((i + 0.5) / n)), 2) for i in range(n)]

    def tick(self) -> TrafficSample:
        alias = _lambda_backend().get_alias(self.alias, self.function_name)
        extra = (alias.routing_config or {}).get("AdditionalVersionWeights") or {}
        weights = {alias.function_version: 1.0 - sum(extra.values()), **extra}
        # Each version as the tick's calls find it, read with the weights: a tick's handlers take a while to run,
        # and a version's state or provisioned concurrency read after them would judge its calls by a later moment.
        active = {v: _lambda_backend().get_function(self.function_name, v).state == "Active" for v in weights}
        warm = {v: provisioned_concurrency.warm(_lambda_backend(), self.function_name, v) for v in weights}
        # Callers do not slow down when this machine does: a late tick makes up the calls of the time it missed.
        now, started = time.monotonic(), datetime.now(UTC)
        elapsed = self.tick_seconds if self._last_tick is None else min(now - self._last_tick, 5 * self.tick_seconds)
        self._last_tick = now
        requests, self._owed = _due(self._owed, self.rate * elapsed)
        chosen = Counter(self._rng.choices(list(weights), weights=list(weights.values()), k=requests))
        invocations: dict[str, int] = {}
        errors: dict[str, int] = {}
        throttles: dict[str, int] = {}
        durations: dict[str, list[float]] = {}
        not_ready: dict[str, int] = {}
        cold: dict[str, int] = {}
        printed: list[str] = []
        for version, count in chosen.items():
            if not active[version]:
                not_ready[version] = count  # SnapStartNotReadyException (or a conflict) to each caller
                continue
            if warm[version] is False:
                cold[version] = count
            env = self._version_env(version)
            throttles[version] = self._throttled(version, env, count)
            # Calls that hang end after the release: none of their datapoints arrive while it runs.
            hanging, self._hangs_owed[version] = _due(self._hangs_owed.get(version, 0.0),
                                                      (count - throttles[version]) * float(env.get("HANG_RATE", "0")))
            served = count - throttles[version] - hanging
            failed = 0
            context = FakeContext(self.function_name, f"{function_arn(self.function_name)}:{self.alias}",
                                  function_version=version)
            with provided(env), emf.captured() as lines:
                for _ in range(served):
                    self._calls[version] += 1
                    try:
                        self._handler({"requestId": str(self._calls[version])}, context)
                    except Exception:
                        failed += 1
            printed += lines
            invocations[version], errors[version] = served, failed
            durations[version] = self._durations(env, served)
        lambda_data = self._metric_data(invocations, errors, throttles, durations)
        self._pending.append((now + self.delay_seconds, "AWS/Lambda",
                              [{**datum, "Timestamp": started} for datum in lambda_data]))
        # What the calls printed in the embedded metric format: metrics CloudWatch Logs extracts, as late.
        if printed and not emf.routing():
            raise RuntimeError("the function emits metrics to stdout, and the local run is not routing it")
        emf_delay = self.delay_seconds if self.emf_delay_seconds is None else self.emf_delay_seconds
        for namespace, data in emf.metric_data(printed).items():
            self._pending.append((now + emf_delay, namespace, data))
        self._pending.sort(key=lambda pending: pending[0])  # delivered in the order they arrive
        self._deliver(now)
        sample = TrafficSample(time.time(), weights, invocations, errors, throttles, not_ready, cold)
        self.samples.append(sample)
        return sample

    def _deliver(self, now: float) -> None:
        """Put into CloudWatch the ticks whose datapoints have arrived by ``now``, stamped with their calls' start."""
        while self._pending and self._pending[0][0] <= now:
            _, namespace, data = self._pending.pop(0)
            for first in range(0, len(data), MAX_DATA_PER_PUT):
                self._cloudwatch.put_metric_data(Namespace=namespace, MetricData=data[first:first + MAX_DATA_PER_PUT])

    def _metric_data(self, invocations: dict[str, int], errors: dict[str, int], throttles: dict[str, int],
                     durations: dict[str, list[float]]) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = []
        for version, count in invocations.items():
            dims = [{"Name": "FunctionName", "Value": self.function_name},
                    {"Name": "Resource", "Value": f"{self.function_name}:{self.alias}"},
                    {"Name": "ExecutedVersion", "Value": version}]
            data.append({"MetricName": "Invocations", "Dimensions": dims, "Value": count, "Unit": "Count"})
            data.append({"MetricName": "Errors", "Dimensions": dims, "Value": errors[version], "Unit": "Count"})
            data.append({"MetricName": "Throttles", "Dimensions": dims, "Value": throttles[version], "Unit": "Count"})
            if durations[version]:
                data.append({"MetricName": "Duration", "Dimensions": dims, "Values": durations[version],
                             "Unit": "Milliseconds"})
        return data

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.tick()
            self._stop.wait(max(0.0, self.tick_seconds - (time.monotonic() - started)))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="traffic", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
