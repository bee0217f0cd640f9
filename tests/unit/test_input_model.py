"""The execution-input contract: accepted shapes, and errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from bluegreen.contracts.request import MAX_TARGETS, ReleaseRequest, parse_request
from bluegreen.errors import InvalidInput

BASE = {"functionName": "orders-api", "alias": "prod"}


def test_minimal_input_takes_the_defaults() -> None:
    request = parse_request(BASE)
    # One function is a release of one target.
    assert isinstance(request, ReleaseRequest) and len(request.targets) == 1
    assert request.strategy == "Canary10Percent5Minutes"
    assert request.health.max_error_rate == 0.01
    assert (request.targets[0].function_name, request.targets[0].alias, request.targets[0].version) == \
        ("orders-api", "prod", None)
    assert request.step_plan().weights == (10,)


def test_full_input_from_the_issue() -> None:
    request = parse_request({**BASE, "version": "7", "codeSha256": "a" * 43 + "=",
                           "strategy": "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
                           "health": {"maxErrorRate": 0.02, "alarms": ["orders-api-errors"]}})
    assert request.step_plan().bake_seconds == 60
    assert request.health.alarms == ["orders-api-errors"]


def test_arn_is_accepted() -> None:
    assert parse_request({**BASE, "functionName": "arn:aws:lambda:us-east-1:123456789012:function:orders-api"})


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
        parse_request(event)
    message = str(caught.value)
    assert f"{field}:" in message
    assert words in message


def test_targets_share_one_strategy_and_health_block() -> None:
    request = parse_request({"targets": [BASE, {"functionName": "orders-cart", "alias": "prod", "version": "4"}],
                           "strategy": "Linear10PercentEvery1Minute", "health": {"maxErrorRate": 0.02}})
    assert [(t.function_name, t.version) for t in request.targets] == [("orders-api", None), ("orders-cart", "4")]
    assert request.health.max_error_rate == 0.02 and len(request.step_plan().weights) == 9


@pytest.mark.parametrize(
    ("request_input", "words"),
    [
        ({"targets": []}, "targets: List should have at least 1 item"),
        ({"targets": [BASE, BASE]}, "alias prod of orders-api is listed twice"),
        ({"targets": [BASE], **BASE}, "functionName, alias: give each function in 'targets'"),
        ({"targets": [{"functionName": "orders-api"}]}, "targets.0.alias: Field required"),
        ({"targets": [{**BASE, "version": "$LATEST"}]}, "targets.0.version: $LATEST cannot be released"),
        ({"targets": [{**BASE, "strategy": "AllAtOnce"}]}, "targets.0.strategy: unknown field"),
        ({"targets": [{"functionName": f"fn-{i}", "alias": "prod"} for i in range(MAX_TARGETS + 1)]},
         f"targets: List should have at most {MAX_TARGETS} items"),
    ],
)
def test_bad_targets_name_the_field(request_input: dict[str, Any], words: str) -> None:
    with pytest.raises(InvalidInput, match=words.replace("$", r"\$").replace("(", r"\(")):
        parse_request(request_input)
