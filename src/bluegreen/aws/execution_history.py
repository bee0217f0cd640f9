"""An execution's history as Step Functions pages it: the one reader the guardian and the CLI share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def events(client: Any, execution_arn: str) -> Iterator[dict[str, Any]]:
    """Every event of the execution, oldest first, a page (of up to 1,000) read only when the caller gets to it."""
    for page in client.get_paginator("get_execution_history").paginate(
            executionArn=execution_arn, PaginationConfig={"PageSize": 1000}):
        for event in page["events"]:
            yield dict(event)
