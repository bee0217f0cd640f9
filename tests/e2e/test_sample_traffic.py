"""The embedded traffic gives each version its exact share of failures, throttles and latency in every
stretch of calls, so an end-to-end test's verdict does not ride on the 1% of chance the judge allows a
healthy release (a healthy release at 0.5% errors was once rolled back, p=0.0029, on an unlucky draw)."""

from __future__ import annotations

import time

import boto3

from bluegreen.local.stack import REGION, LocalStack
from bluegreen.local.traffic import SampleFunction, TrafficSimulator
from tests.conftest import ALIAS, FUNCTION

TICKS = 30


def test_each_version_fails_its_exact_share_of_every_tick(stack: LocalStack) -> None:
    # Given version 1 failing 0.5% of calls, version 2 failing 3% and throttled on 2%, split 90/10
    sample = SampleFunction(FUNCTION, ALIAS, stack.role_arn)
    sample.create(error_rate=0.005)
    version = sample.publish("v2", error_rate=0.03, throttle_rate=0.02)
    boto3.client("lambda", region_name=REGION).update_alias(
        FunctionName=FUNCTION, Name=ALIAS, RoutingConfig={"AdditionalVersionWeights": {version: 0.1}})
    traffic = TrafficSimulator(FUNCTION, ALIAS, rate=10_000, tick_seconds=0.05)

    # When callers invoke the alias for a while
    samples = []
    for _ in range(TICKS):
        samples.append(traffic.tick())
        time.sleep(0.05)

    # Then every tick, and the whole run, holds each version's share of failures give or take four calls
    # (binomial draws of 5,000 calls at 0.5% stray by more than 8 in one run in twenty)
    shares = {"1": 0.005, version: 0.03}
    for v, share in shares.items():
        for tick in samples:
            assert abs(tick.errors.get(v, 0) - share * tick.invocations.get(v, 0)) <= 4
        total = sum(t.invocations.get(v, 0) for t in samples)
        assert total > 0
        assert abs(sum(t.errors.get(v, 0) for t in samples) - share * total) <= 4
    # and version 2's throttles are 2% of its requests, to the call.
    throttled = sum(t.throttles.get(version, 0) for t in samples)
    requests = throttled + sum(t.invocations.get(version, 0) for t in samples)
    assert requests > 500 and abs(throttled - 0.02 * requests) <= 1
