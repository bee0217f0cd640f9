"""What every handler shares: the logger, parsing a task input into its model, and how failures are named."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.logging import Logger
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from pydantic import BaseModel, ValidationError

from bluegreen.contracts.request import describe_validation_error
from bluegreen.errors import InvalidInput, TransientAwsError

logger = Logger(service="bluegreen")

ModelT = TypeVar("ModelT", bound=BaseModel)


def parse_task(model: type[ModelT], event: dict[str, Any]) -> ModelT:
    """The task input as ``model``; the execution id becomes the logs' correlation id."""
    try:
        task = model.model_validate(event)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc)) from None
    logger.set_correlation_id(getattr(task, "execution_arn", None))
    return task


# Error codes that mean "try again later", whatever the service.
TRANSIENT_CODES = frozenset({
    "ThrottlingException", "Throttling", "TooManyRequestsException", "RequestLimitExceeded",
    "ProvisionedThroughputExceededException", "ServiceException", "ServiceUnavailable", "ServiceUnavailableException",
    "InternalError", "InternalFailure", "InternalServerError", "InternalServiceError",
    "ResourceConflictException", "TransactionConflictException",
})

HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


def retryable(handler: HandlerT) -> HandlerT:
    """Report transient AWS failures as ``TransientAwsError``, the name the state machine retries;
    everything else keeps its own name and goes to the Catch."""

    @functools.wraps(handler)
    def wrapped(event: Any, context: Any) -> Any:
        try:
            return handler(event, context)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            if error.get("Code") in TRANSIENT_CODES or status >= 500:
                raise TransientAwsError(f"{exc.operation_name}: {error.get('Code')}: {error.get('Message')}") from exc
            raise
        except (ConnectionError, BotoConnectionError, HTTPClientError) as exc:
            raise TransientAwsError(f"connection to AWS failed: {exc}") from exc

    return wrapped  # type: ignore[return-value]


def to_json(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json", by_alias=True)


def own_region_and_account(context: Any) -> tuple[str, str | None]:
    """This Lambda's region and account, from its own ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)."""
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    if len(parts) >= 5:
        return parts[3], parts[4]
    return os.environ.get("AWS_REGION", "us-east-1"), None
