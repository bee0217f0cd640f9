"""What an input names, made to exist in a fresh embedded run: so that ``bluegreen deploy events/X.json --local``
runs the sample as shipped instead of being refused for a function, a version or an alarm this machine never had.

For each target: the function (the example application's code, healthy), versions published up to the one the
input names with the alias on the one before, the stage aliases, and callers on the alias; a ``codeSha256``
becomes $LATEST's (there is no build of the user's here to hash: a stand-in of the local run only); the
health alarms exist, in OK. (A hook is the team's own function: none exists here, so a hook check is refused
as one outside the stack's VerificationHooks.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.awslambda.utils import get_backend as lambda_backend

from bluegreen.contracts.request import ReleaseRequest, parse_request
from bluegreen.local.stack import LocalStack, running_stack
from bluegreen.local.stand_ins.accounts import ACCOUNT, REGION, split_function_name
from bluegreen.local.traffic import RATE, SampleFunction, TrafficSimulator, wait_for_metric, wait_until_updated

# Functions the embedded run manages besides those an input names (the tests' and the demo's).
SAMPLE_MANAGED = ("orders-*", "payments-api")

# The metrics the example application emits (with POWERTOOLS_METRICS_NAMESPACE set): an input's health.metrics
# naming these report; any other name does not, and publish refuses it as AWS would (CloudWatch has no such metric).
EMITTED = ("Requests", "Responses5xx", "CheckoutLatency")
# Calls a second on an alias whose function emits its metrics: each call runs Powertools Metrics (about 0.1 ms).
EMITTING_RATE = 2_000.0


@dataclass(frozen=True)
class Callers:
    """The callers of one alias an input names, how often they call (a simulator made on demand: one stopped is
    done)."""

    function: str
    alias: str
    rate: float
    seed: int

    def simulator(self) -> TrafficSimulator:
        return TrafficSimulator(self.function, self.alias, seed=self.seed, rate=self.rate)


@dataclass(frozen=True)
class Created:
    """What ``create`` made: the callers of each alias it created, and the functions already there (left alone)."""

    callers: list[Callers]
    existing: list[str]


def _create_target(stack: LocalStack, request: ReleaseRequest, index: int) -> Callers:
    target = request.targets[index]
    name = split_function_name(target.function_name)[0]
    fn = SampleFunction(name, target.alias, stack.role_arn, router=stack.router)
    namespace = next((m.namespace for m in request.health.metrics), None)
    fn.create(metrics_namespace=namespace)
    lam = boto3.client("lambda", region_name=REGION)
    wanted = int(target.version) if target.version else 1
    for number in range(2, wanted + 1):
        fn.stage(f"v{number}", error_rate=0.0, metrics_namespace=namespace)
        lam.publish_version(FunctionName=name)
    if wanted > 1:
        lam.update_alias(FunctionName=name, Name=target.alias, FunctionVersion=str(wanted - 1))
    for stage in request.stages_of(target):
        lam.create_alias(FunctionName=name, Name=stage.alias, FunctionVersion=str(max(wanted - 1, 1)))
    if target.version is None:
        fn.stage("next", error_rate=0.0, metrics_namespace=namespace)
        if target.code_sha256:
            lambda_backend(ACCOUNT, REGION).get_function(name).code_sha_256 = target.code_sha256
        wait_until_updated(lam, name)
    return Callers(name, target.alias, EMITTING_RATE if namespace is not None else RATE, seed=index)


def _create_alarms(names: list[str]) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    existing = {a["AlarmName"] for a in cloudwatch.describe_alarms(AlarmNames=names)["MetricAlarms"]} if names \
        else set()
    for name in (n for n in names if n not in existing):
        cloudwatch.put_metric_alarm(AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                                    Period=60, EvaluationPeriods=1, Threshold=1,
                                    ComparisonOperator="GreaterThanOrEqualToThreshold")
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="the embedded run's sample")


def create(stack: LocalStack, request: ReleaseRequest) -> Created:
    """What ``request`` names, made in ``stack``'s AWS: its alarms, and each target's function unless one of that
    name is there already (then left as it is: a person's, or an earlier input's)."""
    _create_alarms(request.health.alarms)
    lam = boto3.client("lambda", region_name=REGION)
    existing = {f["FunctionName"] for page in lam.get_paginator("list_functions").paginate() for f in page["Functions"]}
    callers, kept = [], []
    for index, target in enumerate(request.targets):
        name = split_function_name(target.function_name)[0]
        if name in existing:
            kept.append(name)
            continue
        callers.append(_create_target(stack, request, index))
        existing.add(name)
    return Created(callers, kept)


def emitted_metrics(request: ReleaseRequest) -> list[tuple[str, str]]:
    """The (namespace, name) of each application metric the input names that the sample functions emit."""
    return [(metric.namespace, emitted) for metric in request.health.metrics
            for emitted in sorted(n for n in (metric.failures, metric.total, metric.latency) if n in EMITTED)]


def wait_for_metrics(request: ReleaseRequest) -> None:
    """Until CloudWatch lists the application metrics the input names (their callers calling meanwhile): the old
    versions' metrics are reported before a release names them, as in AWS (else it is refused)."""
    for namespace, name in emitted_metrics(request):
        wait_for_metric(namespace, name)


@contextmanager
def world_for(execution_input: dict[str, Any], echo_logs: bool = False) -> Iterator[LocalStack]:
    """A fresh embedded run in which ``execution_input`` can run as written, callers on every alias it moves."""
    request = parse_request(execution_input)
    names = sorted({split_function_name(t.function_name)[0] for t in request.targets})
    parameters = {"ManagedFunctions": ",".join([*SAMPLE_MANAGED, *names])}
    with running_stack(parameters, echo_logs=echo_logs) as stack, ExitStack() as callers:
        for made in create(stack, request).callers:
            traffic = made.simulator()
            traffic.start()
            callers.callback(traffic.stop)
        wait_for_metrics(request)
        yield stack
