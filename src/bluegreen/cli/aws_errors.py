"""AWS's errors as one line a person reads: the error code in plain words where it has a plain meaning, then AWS's
own code and message; never botocore's sentence ("An error occurred (X) when calling the Y operation: ...")."""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

NO_REGION = "no AWS region: export AWS_REGION=... (or AWS_DEFAULT_REGION), or give your profile one (aws configure)"
NO_CREDENTIALS = "no AWS credentials: aws configure, or AWS_PROFILE (aws sts get-caller-identity checks them)"
_BAD_CREDENTIALS = "your AWS credentials are not valid here (aws sts get-caller-identity checks them)"
_EXPIRED = "your AWS credentials have expired"
_THROTTLED = "AWS throttled the call: try again in a moment"
_DENIED = "access denied: your credentials' policy does not allow {operation}"
# The codes a command meets, in plain words (the AWS code and message follow in brackets).
PLAIN = {
    "ExecutionDoesNotExist": "no such execution",
    "StateMachineDoesNotExist": "no such state machine (is the stack deployed in this region?)",
    "ResourceNotFoundException": "not found",
    "TaskDoesNotExist": "the question was answered already",
    "TaskTimedOut": "the question timed out",
    "InvalidToken": "the question was answered already, or timed out",
    "AccessDeniedException": _DENIED,
    "AccessDenied": _DENIED,
    "UnrecognizedClientException": _BAD_CREDENTIALS,
    "InvalidClientTokenId": _BAD_CREDENTIALS,
    "InvalidSignatureException": _BAD_CREDENTIALS,
    "ExpiredToken": _EXPIRED,
    "ExpiredTokenException": _EXPIRED,
    "ThrottlingException": _THROTTLED,
    "TooManyRequestsException": _THROTTLED,
    "Throttling": _THROTTLED,
}
AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)


def said(exc: Exception) -> str:
    """``exc`` (an AWS call's error) as one line."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code, message = error.get("Code", "Unknown"), error.get("Message", "")
        own = f"{code}: {message}" if message else code
        plain = PLAIN.get(code)
        return f"{plain.format(operation=exc.operation_name)} ({own})" if plain else own
    if isinstance(exc, NoRegionError):
        return NO_REGION
    if isinstance(exc, NoCredentialsError):
        return NO_CREDENTIALS
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach AWS at {exc.kwargs.get('endpoint_url', 'its endpoint')} (network, or the region's name?)"
    return str(exc)
