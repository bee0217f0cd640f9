"""The health verdict from evidence: no evidence is never healthy."""

from __future__ import annotations

from bluegreen.health import Evidence, judge
from bluegreen.models import HealthConfig

CONFIG = HealthConfig(max_error_rate=0.01, min_invocations=20)


def test_no_invocations_is_inconclusive_not_healthy() -> None:
    verdict, reason = judge(Evidence(0, 0), CONFIG, "2")
    assert verdict == "inconclusive"
    assert "not enough evidence" in reason


def test_too_few_invocations_is_inconclusive() -> None:
    assert judge(Evidence(19, 0), CONFIG, "2")[0] == "inconclusive"


def test_error_rate_above_the_maximum_fails() -> None:
    verdict, reason = judge(Evidence(100, 2), CONFIG, "2")
    assert verdict == "fail"
    assert "2.00%" in reason


def test_error_rate_at_the_maximum_passes() -> None:
    assert judge(Evidence(100, 1), CONFIG, "2")[0] == "pass"


def test_alarm_in_alarm_fails_whatever_the_metrics() -> None:
    verdict, reason = judge(Evidence(1000, 0, ("orders-api-errors",)), CONFIG, "2")
    assert verdict == "fail"
    assert "orders-api-errors" in reason


def test_alarm_fails_even_without_traffic() -> None:
    assert judge(Evidence(0, 0, ("x",)), CONFIG, "2")[0] == "fail"
