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
from typing import Any

import boto3
from moto.awslambda.utils import get_backend as lambda_backend

from bluegreen.contracts.request import ReleaseRequest, parse_request
from bluegreen.local.stack import LocalStack, running_stack
from bluegreen.local.stand_ins.accounts import ACCOUNT, REGION, split_function_name
from bluegreen.local.traffic import SampleFunction, TrafficSimulator, wait_until_updated

# Functions the embedded run manages besides those an input names (the tests' and the demo's).
SAMPLE_MANAGED = ("orders-*", "payments-api")




def _create_target(stack: LocalStack, request: ReleaseRequest, index: int) -> TrafficSimulator:
    target = request.targets[index]
    name = split_function_name(target.function_name)[0]
    fn = SampleFunction(name, target.alias, stack.role_arn, router=stack.router)
    fn.create()
    lam = boto3.client("lambda", region_name=REGION)
    wanted = int(target.version) if target.version else 1
    for number in range(2, wanted + 1):
        fn.stage(f"v{number}", error_rate=0.0)
        lam.publish_version(FunctionName=name)
    if wanted > 1:
        lam.update_alias(FunctionName=name, Name=target.alias, FunctionVersion=str(wanted - 1))
    for stage in request.stages_of(target):
        lam.create_alias(FunctionName=name, Name=stage.alias, FunctionVersion=str(max(wanted - 1, 1)))
    if target.version is None:
        fn.stage("next", error_rate=0.0)
        if target.code_sha256:
            lambda_backend(ACCOUNT, REGION).get_function(name).code_sha_256 = target.code_sha256
        wait_until_updated(lam, name)
    return TrafficSimulator(name, target.alias, seed=index)


def _create_alarms(names: list[str]) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    for name in names:
        cloudwatch.put_metric_alarm(AlarmName=name, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum",
                                    Period=60, EvaluationPeriods=1, Threshold=1,
                                    ComparisonOperator="GreaterThanOrEqualToThreshold")
        cloudwatch.set_alarm_state(AlarmName=name, StateValue="OK", StateReason="the embedded run's sample")


@contextmanager
def world_for(execution_input: dict[str, Any], echo_logs: bool = False) -> Iterator[LocalStack]:
    """A fresh embedded run in which ``execution_input`` can run as written, callers on every alias it moves."""
    request = parse_request(execution_input)
    names = sorted({split_function_name(t.function_name)[0] for t in request.targets})
    parameters = {"ManagedFunctions": ",".join([*SAMPLE_MANAGED, *names])}
    with running_stack(parameters, echo_logs=echo_logs) as stack, ExitStack() as callers:
        _create_alarms(request.health.alarms)
        for index in range(len(request.targets)):
            traffic = _create_target(stack, request, index)
            traffic.start()
            callers.callback(traffic.stop)
        yield stack
