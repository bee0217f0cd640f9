"""Local stand-in: the rules AWS Lambda's control plane enforces and moto does not.

moto accepts any alias routing config, ignores ``RevisionId`` on UpdateAlias and PublishVersion and
``CodeSha256`` on PublishVersion, never reports a code update in progress, and has no rate limit. The
release code depends on each of these (conditional writes, validation before the first write, retries
of throttles and conflicts), so the embedded run enforces them as the Lambda API reference documents:

- UpdateAlias with a ``RevisionId`` that is not the alias's current one: ``PreconditionFailedException``
  (412). Every alias write gives the alias a new RevisionId.
  https://docs.aws.amazon.com/lambda/latest/api/API_UpdateAlias.html
- CreateAlias/UpdateAlias routing configs: at most one additional version, a weight within 0.0..1.0
  (``ValidationException``), version keys that are version numbers (not ``$LATEST``), no weighted
  alias on ``$LATEST``, versions that exist (``ResourceNotFoundException``) and share an execution role
  and a dead-letter config (``InvalidParameterValueException``).
  https://docs.aws.amazon.com/lambda/latest/api/API_AliasRoutingConfiguration.html
  https://docs.aws.amazon.com/lambda/latest/dg/configuring-alias-routing.html
- PublishVersion with a ``CodeSha256`` other than ``$LATEST``'s: ``InvalidParameterValueException``;
  with a ``RevisionId`` other than the function's: ``PreconditionFailedException``; unchanged code
  and configuration give back the latest version (moto does this already).
  https://docs.aws.amazon.com/lambda/latest/api/API_PublishVersion.html
- For a while after UpdateFunctionCode or UpdateFunctionConfiguration, ``LastUpdateStatus`` is
  ``InProgress`` and another update or a PublishVersion meets ``ResourceConflictException`` (409).
  https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html
- Control-plane requests (all but Invoke, GetFunction and GetPolicy) above 15 per second per account
  and region: ``TooManyRequestsException`` (429), from a token bucket every caller shares.
  https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
- A new version is Pending for a while (SnapStart, or a slow function), refusing calls: ``lambda_versions``.
- Provisioned concurrency, which moto lacks: ``provisioned_concurrency``.
- Invoke runs the version or alias its ``Qualifier`` names: moto 5.2 reads a query parameter
  ``qualifier`` while the SDK sends ``Qualifier``, so every qualified invoke reached ``$LATEST``.
  https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import unquote

from moto.awslambda import urls as lambda_urls
from moto.awslambda.exceptions import InvalidParameterValueException, PreconditionFailedException
from moto.awslambda.responses import LambdaResponse
from moto.core.exceptions import JsonRESTError

from bluegreen.local.stand_ins.accounts import split_function_name
from bluegreen.local.stand_ins.lambda_versions import VersionReadiness
from bluegreen.local.stand_ins.provisioned_concurrency import ACTIONS as PROVISIONED_ACTIONS
from bluegreen.local.stand_ins.provisioned_concurrency import URL_PATHS as PROVISIONED_PATHS
from bluegreen.local.stand_ins.provisioned_concurrency import ProvisionedConcurrency

# Control-plane requests per second per account and region, and the ones that do not count.
CONTROL_PLANE_RATE = 15.0
NOT_CONTROL_PLANE = frozenset({"Invoke", "InvokeAsync", "InvokeWithResponseStream", "GetFunction", "GetPolicy"})


class TooManyRequests(JsonRESTError):
    code = 429

    def __init__(self) -> None:
        super().__init__("TooManyRequestsException", "Rate exceeded")


class ResourceConflict(JsonRESTError):
    code = 409

    def __init__(self, arn: str) -> None:
        super().__init__("ResourceConflictException", "The operation cannot be performed at this time. "
                                                      f"An update is in progress for resource: {arn}")


class ValidationError(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


class ResourceNotFound(JsonRESTError):
    code = 404

    def __init__(self, message: str) -> None:
        super().__init__("ResourceNotFoundException", message)


@dataclass
class TokenBucket:
    """``rate`` requests per second, in bursts of at most ``rate``; shared by every thread."""

    rate: float = CONTROL_PLANE_RATE
    tokens: float = CONTROL_PLANE_RATE
    clock: Callable[[], float] = time.monotonic  # a test's own clock counts exactly, whatever the machine's load
    updated: float = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.updated = self.clock()

    def take(self) -> bool:
        with self._lock:
            now = self.clock()
            self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1.0:
                return False
            self.tokens -= 1.0
            return True


@dataclass
class LambdaRules:
    """What the embedded Lambda enforces; a test may change a setting (a longer update, a lower rate)."""

    # How long a function's code or configuration update stays in progress.
    update_seconds: float = 0.3
    limit: TokenBucket = field(default_factory=TokenBucket)
    throttled: int = 0  # requests answered TooManyRequestsException, for the tests and the benchmark
    versions: VersionReadiness = field(default_factory=VersionReadiness)
    provisioned: ProvisionedConcurrency = field(default_factory=ProvisionedConcurrency)
    _updating_until: dict[str, float] = field(default_factory=dict)
    _revisions: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def updating(self, name: str) -> bool:
        with self._lock:
            return time.monotonic() < self._updating_until.get(name, 0.0)

    def updated(self, name: str) -> None:
        with self._lock:
            self._updating_until[name] = time.monotonic() + self.update_seconds
            self._revisions[name] = str(uuid.uuid4())

    def finish_updates(self) -> None:
        """Every update in progress done now (a test decides when, instead of a clock)."""
        with self._lock:
            self._updating_until.clear()

    def revision(self, name: str) -> str:
        with self._lock:
            return self._revisions.setdefault(name, str(uuid.uuid4()))


def _function_name(response: LambdaResponse) -> str:
    """The function in a request's path (/2015-03-31/functions/NAME/...), by its name."""
    after = response.path.split("/functions/", 1)[1]
    name = unquote(after.split("/", 1)[0])
    return split_function_name(name)[0]


def _check_invoke(rules: LambdaRules, response: LambdaResponse) -> None:
    """An Invoke of a version not ready yet is refused (a weighted alias's draw: the traffic simulator's)."""
    name, qualifier = _function_name(response), response.querystring.get("qualifier", [None])[0]
    version = qualifier or "$LATEST"
    if qualifier and not qualifier.isdigit() and qualifier != "$LATEST":
        alias: Any = response.backend.get_alias(qualifier, name)
        routing: dict[str, Any] = alias.routing_config or {}
        if routing.get("AdditionalVersionWeights"):
            return
        version = str(alias.function_version)
    rules.versions.check_invoke(response.backend, name, version)


def _body(response: LambdaResponse) -> dict[str, Any]:
    body = json.loads(response.body or "{}")
    return body if isinstance(body, dict) else {}


_WEIGHTS = "'routingConfig.additionalVersionWeights' failed to satisfy constraint"


def _check_weights(weights: dict[str, Any]) -> None:
    """The model's constraints on AdditionalVersionWeights: version-number keys, weights within 0.0..1.0."""
    for key, weight in weights.items():
        if not str(key).isdigit():
            raise ValidationError(f"1 validation error detected: Value '{key}' at {_WEIGHTS}: "
                                  "Member must satisfy regular expression pattern: [0-9]+")
        if not isinstance(weight, int | float) or not 0.0 <= weight <= 1.0:
            raise ValidationError(f"1 validation error detected: Value '{weight}' at {_WEIGHTS}: "
                                  "Member must have value between 0.0 and 1.0")


def _check_routing(response: LambdaResponse, name: str, version: str | None, routing: Any) -> None:
    weights = (routing or {}).get("AdditionalVersionWeights") or {}
    if not weights:
        return
    _check_weights(weights)
    if len(weights) > 1:
        raise InvalidParameterValueException(f"Number of additional versions in RoutingConfig must be 1, got "
                                             f"{len(weights)}")
    backend = response.backend
    primary = version or backend.get_alias(response.path.rsplit("/", 1)[-1], name).function_version
    if primary == "$LATEST":
        raise InvalidParameterValueException("$LATEST is not supported for an alias pointing to more than 1 version")
    (extra,) = weights
    if extra == primary:
        raise InvalidParameterValueException(f"Version {extra} is the alias's version; an additional version must "
                                             "be another one")
    configs = []
    for number in (primary, extra):
        try:
            configs.append(backend.get_function(name, number))
        except Exception:
            arn = f"arn:aws:lambda:{backend.region_name}:{backend.account_id}:function:{name}:{number}"
            raise ResourceNotFound(f"Function not found: {arn}") from None
    first, second = configs
    if first.role != second.role:
        raise InvalidParameterValueException("Specified versions must be associated with the same execution role")
    if (getattr(first, "dead_letter_config", None) or {}) != (getattr(second, "dead_letter_config", None) or {}):
        raise InvalidParameterValueException("Specified versions must be associated with the same dead letter config")


def _check_alias_write(rules: LambdaRules, response: LambdaResponse, action: str) -> None:
    name, body = _function_name(response), _body(response)
    if action == "UpdateAlias" and body.get("RevisionId"):
        alias = response.backend.get_alias(response.path.rsplit("/", 1)[-1], name)
        if body["RevisionId"] != alias.revision_id:
            raise PreconditionFailedException("The Revision Id provided does not match the latest Revision Id. "
                                              "Call the GetAlias API to retrieve the latest Revision Id")
    _check_routing(response, name, body.get("FunctionVersion"), body.get("RoutingConfig"))
    if action == "UpdateAlias":
        rules.provisioned.alias_moving(response.backend, name, response.path.rsplit("/", 1)[-1])


def _before(rules: LambdaRules, response: LambdaResponse, action: str) -> None:
    """The checks AWS makes before the action; raises its error."""
    if action not in NOT_CONTROL_PLANE and not rules.limit.take():
        rules.throttled += 1
        raise TooManyRequests()
    if action in {"UpdateAlias", "CreateAlias"}:
        _check_alias_write(rules, response, action)
    if action in {"UpdateFunctionCode", "UpdateFunctionConfiguration", "PublishVersion"}:
        name = _function_name(response)
        if rules.updating(name):
            raise ResourceConflict(response.backend.get_function(name).function_arn)
    if action == "PublishVersion":
        name, body = _function_name(response), _body(response)
        latest = response.backend.get_function(name)
        if body.get("CodeSha256") and body["CodeSha256"] != latest.code_sha_256:
            raise InvalidParameterValueException(
                f"CodeSHA256 ({body['CodeSha256']}) is different from current CodeSHA256 in $LATEST "
                f"({latest.code_sha_256}). Please try again with the CodeSHA256 in $LATEST.")
        if body.get("RevisionId") and body["RevisionId"] != rules.revision(name):
            raise PreconditionFailedException("The Revision Id provided does not match the latest Revision Id. "
                                              "Call the GetFunction/GetAlias API to retrieve the latest Revision Id")


def _after(rules: LambdaRules, response: LambdaResponse, action: str, result: Any) -> Any:
    """What AWS changes or reports after the action succeeded."""
    if action in {"UpdateAlias", "CreateAlias"}:
        alias = response.backend.get_alias(response.path.rsplit("/", 1)[-1] if action == "UpdateAlias"
                                           else _body(response)["Name"], _function_name(response))
        if action == "UpdateAlias":
            alias.revision_id = str(uuid.uuid4())  # a new revision per write, as in AWS
        status, headers, _ = result
        return status, headers, json.dumps(alias.to_json())
    if action == "CreateFunction":
        rules.versions.configured(split_function_name(_body(response)["FunctionName"])[0], _body(response))
    if action == "UpdateFunctionConfiguration":
        rules.versions.configured(_function_name(response), _body(response))
    if action in {"UpdateFunctionCode", "UpdateFunctionConfiguration"}:
        rules.updated(_function_name(response))
    if action == "PublishVersion":
        rules.versions.published(response.backend, _function_name(response), json.loads(result[2])["Version"])
    if action in {"GetFunctionConfiguration", "GetFunction", "UpdateFunctionCode", "UpdateFunctionConfiguration",
                  "PublishVersion"}:
        return _with_status(rules, response, result)
    return result


def _with_status(rules: LambdaRules, response: LambdaResponse, result: Any) -> Any:
    """A configuration as AWS reports it: $LATEST's LastUpdateStatus and RevisionId, a version's State."""
    status, headers, body = result
    if not isinstance(body, str) or int(status) >= 300:
        return result
    document = json.loads(body)
    config = document.get("Configuration", document)
    name = config["FunctionName"]
    if config.get("Version") == "$LATEST":
        config["LastUpdateStatus"] = "InProgress" if rules.updating(name) else "Successful"
        config["RevisionId"] = rules.revision(name)
    else:
        config["State"] = rules.versions.state(response.backend, name, config["Version"])
    rules.versions.describe(config)
    return status, headers, json.dumps(document)


@contextmanager
def enforced(rules: LambdaRules) -> Iterator[LambdaRules]:
    """moto's Lambda API answering by ``rules`` while the block runs."""
    original = LambdaResponse.call_action

    def call_action(self: LambdaResponse) -> Any:
        action = self._get_action()
        if action == "Invoke" and "Qualifier" in self.querystring:
            # The SDK's spelling, which moto's Invoke does not read (it reads "qualifier").
            self.querystring["qualifier"] = self.querystring["Qualifier"]
        rules.versions.refresh(self.backend)
        if action == "Invoke":
            _check_invoke(rules, self)
        _before(rules, self, action)
        if action in PROVISIONED_ACTIONS:
            return rules.provisioned.answer(self, action, _function_name(self))
        result = original(self)
        status = int(result[0])
        return _after(rules, self, action, result) if status < 300 else result

    with mock.patch.object(LambdaResponse, "call_action", call_action), \
            mock.patch.dict(lambda_urls.url_paths, dict.fromkeys(PROVISIONED_PATHS, LambdaResponse.dispatch)):
        yield rules
