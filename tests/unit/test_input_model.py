"""The execution-input contract: accepted shapes, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from bluegreen.errors import InvalidInput
from bluegreen.models import parse_input

BASE = {"functionName": "orders-api", "alias": "prod"}


def test_minimal_input_takes_the_defaults() -> None:
    request = parse_input(BASE)
    assert request.strategy == "Canary10Percent5Minutes"
    assert request.health.max_error_rate == 0.01
    assert request.version is None
    assert request.step_plan().weights == (10,)


def test_full_input_from_the_issue() -> None:
    request = parse_input({**BASE, "version": "7", "codeSha256": "a" * 43 + "=",
                           "strategy": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
                           "health": {"maxErrorRate": 0.02, "alarms": ["orders-api-errors"]}})
    assert request.step_plan().bake_seconds == 60
    assert request.health.alarms == ["orders-api-errors"]


def test_arn_is_accepted() -> None:
    assert parse_input({**BASE, "functionName": "arn:aws:lambda:us-east-1:123456789012:function:orders-api"})


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"functionName": None}, "functionName", "Field required"),
        ({"alias": None}, "alias", "Field required"),
        ({"functionName": 42}, "functionName", "valid string"),
        ({"functionName": "orders api; rm -rf"}, "functionName", "function name"),
        ({"functionName": "x" * 65}, "functionName", "function name"),
        ({"functionName": "arn:aws:lambda:us-east-1:123456789012:function:orders-api:prod"}, "functionName", "alias"),
        ({"alias": "$LATEST"}, "alias", "not $LATEST"),
        ({"alias": "123"}, "alias", "not only digits"),
        ({"version": "$LATEST"}, "version", "$LATEST cannot be released"),
        ({"version": "seven"}, "version", "published version number"),
        ({"version": 7}, "version", "valid string"),
        ({"codeSha256": "abc"}, "codeSha256", "base64 SHA-256"),
        ({"strategy": "Canary99Percent1Minute"}, "strategy", "unknown strategy"),
        ({"strategy": {"steps": [10, 50], "intervalSeconds": 5}}, "strategy.steps", "end at 100"),
        ({"strategy": {"steps": [10, 150], "intervalSeconds": 5}}, "strategy.steps", "between 1 and 100"),
        ({"strategy": {"steps": [10, 100], "intervalSeconds": 0}}, "strategy.intervalSeconds", "greater than"),
        ({"strategy": {"linearPercent": 0, "intervalSeconds": 5}}, "strategy.linearPercent", "greater than"),
        ({"strategy": {"bogus": 1}}, "strategy", "predefined name"),
        ({"health": {"maxErrorRate": 2}}, "health.maxErrorRate", "less than or equal to 1"),
        ({"health": {"alarms": "one"}}, "health.alarms", "valid list"),
        ({"surprise": True}, "surprise", "unknown field"),
    ],
)
def test_bad_input_names_the_field(change: dict[str, Any], field: str, words: str) -> None:
    event = {**BASE, **change}
    event = {k: v for k, v in event.items() if v is not None}
    with pytest.raises(InvalidInput) as caught:
        parse_input(event)
    message = str(caught.value)
    assert f"{field}:" in message
    assert words in message
