"""boto3 clients, created once per Lambda container and only when first used.

Creating a client costs tens of milliseconds; doing it lazily keeps cold starts of handlers
that never talk to CloudWatch (say) free of that cost.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import boto3
from botocore.config import Config

from bluegreen.aws.pacing import on_lambda_call

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_stepfunctions import SFNClient

# Standard retry mode backs off on throttling (TooManyRequestsException) inside the call;
# what still fails after that surfaces to the state machine's Retry.
_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


@cache
def lambda_client() -> LambdaClient:
    client = boto3.client("lambda", config=_CONFIG)
    # Every Lambda API call waits for the thread's pacer (a multi-function release), if it has one.
    client.meta.events.register("before-call.lambda", on_lambda_call)
    return client


@cache
def invoke_client() -> LambdaClient:
    """Lambda's data plane (Invoke), for verification checks: not paced (the control plane's limit is not
    its limit), and read for as long as a check may take (900 s), so that no slow check is cut short by the
    SDK's 60 s default and invoked again; each check's own bound is the caller's."""
    return boto3.client("lambda", config=_CONFIG.merge(Config(read_timeout=910, connect_timeout=10)))


@cache
def cloudwatch_client() -> CloudWatchClient:
    return boto3.client("cloudwatch", config=_CONFIG)


@cache
def dynamodb_client() -> DynamoDBClient:
    return boto3.client("dynamodb", config=_CONFIG)


@cache
def events_client() -> EventBridgeClient:
    return boto3.client("events", config=_CONFIG)


@cache
def stepfunctions_client() -> SFNClient:
    return boto3.client("stepfunctions", config=_CONFIG)
