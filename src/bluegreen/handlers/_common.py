"""What every handler shares: the logger, and parsing a task input into its model."""

from __future__ import annotations

import os
from typing import Any, TypeVar

from aws_lambda_powertools.logging import Logger
from pydantic import BaseModel, ValidationError

from bluegreen.errors import InvalidInput
from bluegreen.models import describe_validation_error

logger = Logger(service="bluegreen")

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_task(model: type[ModelT], event: dict[str, Any]) -> ModelT:
    """The task input as ``model``; the execution id becomes the logs' correlation id."""
    try:
        task = model.model_validate(event)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from None
    logger.set_correlation_id(getattr(task, "execution_id", None))
    return task


def to_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def own_region_and_account(context: Any) -> tuple[str, str | None]:
    """This Lambda's region and account, from its own ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)."""
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    if len(parts) >= 5:
        return parts[3], parts[4]
    return os.environ.get("AWS_REGION", "us-east-1"), None
