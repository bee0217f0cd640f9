"""Local stand-in for what AWS does around a real function: callers invoking an alias (honouring its
weights, which moto ignores on invoke) and Lambda publishing per-version AWS/Lambda metrics (which moto
never emits)."""

from __future__ import annotations

import io
import random
import threading
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

from bluegreen.local.invoker import FakeContext, environment, load_handler
from bluegreen.local.stack import ACCOUNT, REGION

SAMPLE_HANDLER = "bluegreen.local.sample_app.handler"


def _code(marker: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("sample_app.py", f"# {marker}\n")
    return buf.getvalue()


@dataclass
class SampleFunction:
    name: str
    alias: str
    role_arn: str
    released: str = "1"

    def create(self, error_rate: float = 0.0) -> None:
        """The function with version 1 published and the alias on it."""
        lam = boto3.client("lambda", region_name=REGION)
        lam.create_function(FunctionName=self.name, Runtime="python3.12", Role=self.role_arn,
                            Handler="sample_app.handler", Code={"ZipFile": _code("v1")},
                            Environment={"Variables": {"ERROR_RATE": str(error_rate)}})
        self.released = lam.publish_version(FunctionName=self.name)["Version"]
        lam.create_alias(FunctionName=self.name, Name=self.alias, FunctionVersion=self.released)

    def stage(self, marker: str, error_rate: float, latency_ms: float = 20.0) -> str:
        """New code and configuration in $LATEST (not published); returns its CodeSha256."""
        lam = boto3.client("lambda", region_name=REGION)
        lam.update_function_code(FunctionName=self.name, ZipFile=_code(marker))
        lam.update_function_configuration(
            FunctionName=self.name,
            Environment={"Variables": {"ERROR_RATE": str(error_rate), "LATENCY_MS": str(latency_ms)}})
        return lam.get_function_configuration(FunctionName=self.name)["CodeSha256"]

    def publish(self, marker: str, error_rate: float) -> str:
        self.stage(marker, error_rate)
        return boto3.client("lambda", region_name=REGION).publish_version(FunctionName=self.name)["Version"]


@dataclass
class TrafficSample:
    """One tick of traffic: when, the alias weights then, and per-version invocations and errors."""

    at: float
    weights: dict[str, float]
    invocations: dict[str, int]
    errors: dict[str, int]


@dataclass
class TrafficSimulator:
    """Invokes the alias at ``rate`` requests per second in a background thread."""

    function_name: str
    alias: str
    rate: float = 200.0
    tick_seconds: float = 0.25
    seed: int = 7
    samples: list[TrafficSample] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _envs: dict[str, dict[str, str]] = field(default_factory=dict)
    _request: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lambda: Any = boto3.client("lambda", region_name=REGION)
        self._cloudwatch: Any = boto3.client("cloudwatch", region_name=REGION)
        self._handler = load_handler(SAMPLE_HANDLER)

    def _version_env(self, version: str) -> dict[str, str]:
        if version not in self._envs:
            config = self._lambda.get_function_configuration(FunctionName=self.function_name, Qualifier=version)
            self._envs[version] = config.get("Environment", {}).get("Variables", {})
        return self._envs[version]

    def tick(self) -> TrafficSample:
        alias = self._lambda.get_alias(FunctionName=self.function_name, Name=self.alias)
        extra = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        weights = {alias["FunctionVersion"]: 1.0 - sum(extra.values()), **extra}
        chosen = Counter(self._rng.choices(list(weights), weights=list(weights.values()),
                                           k=round(self.rate * self.tick_seconds)))
        invocations: dict[str, int] = {}
        errors: dict[str, int] = {}
        context = FakeContext(self.function_name, f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{self.function_name}")
        for version, count in chosen.items():
            failed = 0
            with environment(self._version_env(version)):
                for _ in range(count):
                    self._request += 1
                    try:
                        self._handler({"requestId": self._request}, context)
                    except Exception:
                        failed += 1
            invocations[version], errors[version] = count, failed
        self._publish_metrics(invocations, errors)
        sample = TrafficSample(time.time(), weights, invocations, errors)
        self.samples.append(sample)
        return sample

    def _publish_metrics(self, invocations: dict[str, int], errors: dict[str, int]) -> None:
        data = []
        for version, count in invocations.items():
            dims = [{"Name": "FunctionName", "Value": self.function_name},
                    {"Name": "Resource", "Value": f"{self.function_name}:{self.alias}"},
                    {"Name": "ExecutedVersion", "Value": version}]
            data.append({"MetricName": "Invocations", "Dimensions": dims, "Value": count, "Unit": "Count"})
            data.append({"MetricName": "Errors", "Dimensions": dims, "Value": errors[version], "Unit": "Count"})
        if data:
            self._cloudwatch.put_metric_data(Namespace="AWS/Lambda", MetricData=data)

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
