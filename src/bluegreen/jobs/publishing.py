"""Publish the new versions, and return once Lambda says each is ready to take calls.

PublishVersion is idempotent (unchanged code gives back the last version), so the publish task's next attempt,
when a version is still Pending, publishes nothing new and waits on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from bluegreen.aws import readiness
from bluegreen.aws.clients import lambda_client
from bluegreen.contracts.request import TargetRequest
from bluegreen.errors import InvalidInput

if TYPE_CHECKING:
    from mypy_boto3_lambda.type_defs import FunctionConfigurationResponseTypeDef


def configuration(name: str, qualifier: str, field: str) -> FunctionConfigurationResponseTypeDef:
    try:
        return lambda_client().get_function_configuration(FunctionName=name, Qualifier=qualifier)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    if field == "version":
        # Tell a missing function from a missing version: the fix is different.
        configuration(name, "$LATEST", "functionName")
        raise InvalidInput(f"version: {qualifier} is not a published version of {name}")
    raise InvalidInput(f"functionName: function {name} does not exist")


def target_config(request: TargetRequest, name: str) -> FunctionConfigurationResponseTypeDef:
    """The configuration of what will be released: the given version, or $LATEST about to be published."""
    qualifier, field = (request.version, "version") if request.version else ("$LATEST", "functionName")
    config = configuration(name, qualifier, field)
    if request.code_sha256 and config["CodeSha256"] != request.code_sha256:
        label = f"version {qualifier}" if request.version else "$LATEST"
        hint = "" if request.version else "; was it updated again since the build?"
        raise InvalidInput(f"codeSha256: {label} of {name} has code {config['CodeSha256']}, "
                           f"not {request.code_sha256}{hint}")
    return config


def _publish(request: TargetRequest, name: str, config: Any, deadline: readiness.Deadline) -> tuple[str, Any]:
    """The new version and its configuration (whose State says whether it is ready yet)."""
    if request.version is not None:
        return request.version, config
    readiness.wait_for_update(name, config, deadline)
    # With CodeSha256, AWS refuses to publish if $LATEST changed since it was checked.
    published = (lambda_client().publish_version(FunctionName=name, CodeSha256=request.code_sha256)
                 if request.code_sha256 else lambda_client().publish_version(FunctionName=name))
    return published["Version"], published


def publish_ready(targets: list[tuple[TargetRequest, str, Any]], deadline: readiness.Deadline) -> list[str]:
    """Each target's new version, published (unless given) and Active: (request, function, configuration of the
    version to release or of $LATEST) in, versions out. Published first, waited for after: they get ready side by
    side."""
    published = [_publish(request, name, config, deadline) for request, name, config in targets]
    readiness.wait_until_active([(name, version, config) for (_, name, _), (version, config)
                                 in zip(targets, published, strict=True)], deadline)
    return [version for version, _ in published]
