"""Two versions can share a weighted alias only with the same role and dead-letter config.

moto stores no DeadLetterConfig, so this rule is tested on the configurations directly; the role case
also runs end to end in tests/e2e.
"""

from __future__ import annotations

import pytest

from bluegreen.errors import InvalidInput
from bluegreen.jobs.release import _check_compatible

ROLE = "arn:aws:iam::123456789012:role/orders"
DLQ = {"TargetArn": "arn:aws:sqs:us-east-1:123456789012:orders-dlq"}


def test_same_role_and_no_dead_letter_config_is_compatible() -> None:
    _check_compatible("orders-api", {"Role": ROLE}, {"Role": ROLE, "DeadLetterConfig": {}}, "1", "2")


def test_different_dead_letter_configs_are_refused() -> None:
    with pytest.raises(InvalidInput, match="version: versions 1 and 2 of orders-api have different dead-letter"):
        _check_compatible("orders-api", {"Role": ROLE}, {"Role": ROLE, "DeadLetterConfig": DLQ}, "1", "2")


def test_different_roles_are_refused() -> None:
    with pytest.raises(InvalidInput, match="different execution roles"):
        _check_compatible("orders-api", {"Role": ROLE}, {"Role": ROLE + "-v2"}, "1", "2")
