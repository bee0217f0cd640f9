"""Provisioned concurrency follows the release: the new version is warm before its first call, and the user's
configuration ends where they had it.

Teams pay for provisioned concurrency to keep cold starts from their callers; a canary that routes 10% of them to a
new version with none gives them cold starts, and the latency rule then judges those. Within Lambda's rules (an
alias or a version owns a configuration, not both; a weighted alias takes no new one; allocation takes minutes;
the account's unreserved pool keeps its floor):

==============  =================================  =====================================================
user's config   during the release                 after promotion / after a rollback
==============  =================================  =====================================================
on the version  the same amount on the new version  new version's kept, old version's removed / new
                (put and READY before any traffic)  version's removed, the old one's as it was
on the alias    the same amount on the new version  the alias's follows it to the new version (the
                (the alias's own follows its        release's own removed once READY) / the release's own
                weights, as Lambda splits it)      removed, the alias's back on the old version
==============  =================================  =====================================================

The release's own configuration is said in the alias's lease before it is put (``locks.note_provisioned``), so the
abort guardian can remove it whatever ended the execution; a publish task still in flight after the guardian ended
its lease removes what it put itself.
https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html
"""

from __future__ import annotations

import logging
import time
from typing import Any

from botocore.exceptions import ClientError

from bluegreen.aws import aliases, locks, readiness
from bluegreen.aws.clients import lambda_client
from bluegreen.contracts.state import ProvisionedMove, TargetPlan
from bluegreen.errors import InvalidInput, VersionNotReady

logger = logging.getLogger(__name__)
_MISSING = {"ProvisionedConcurrencyConfigNotFoundException", "ResourceNotFoundException"}
# How long a promotion waits for the alias's own configuration to be allocated on the new version before it removes
# the release's (Lambda's allocation takes a minute or two).
HANDOVER_SECONDS = 180
# Polls of an allocation: soon at first (a small one is quick), then every readiness.POLL_SECONDS.
_FIRST_POLLS = (1.0, 2.0)


def configured(name: str, qualifier: str) -> Any | None:
    """The configuration on a version or alias, or None."""
    try:
        return lambda_client().get_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _MISSING:
            return None
        raise


def remove(name: str, qualifier: str) -> bool:
    """Delete the configuration on a version or alias; whether there was one."""
    try:
        lambda_client().delete_provisioned_concurrency_config(FunctionName=name, Qualifier=qualifier)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _MISSING:
            return False
        raise
    return True


def every_configuration(name: str) -> dict[str, Any]:
    """The function's configurations by qualifier (a version or an alias): one call for all, paginated."""
    pages = lambda_client().get_paginator("list_provisioned_concurrency_configs").paginate(FunctionName=name)
    return {config["FunctionArn"].rsplit(":", 1)[-1]: config
            for page in pages for config in page.get("ProvisionedConcurrencyConfigs", [])}


def _put(name: str, version: str, amount: int) -> None:
    try:
        lambda_client().put_provisioned_concurrency_config(FunctionName=name, Qualifier=version,
                                                           ProvisionedConcurrentExecutions=amount)
    except ClientError as exc:
        error = exc.response["Error"]
        if error["Code"] in {"InvalidParameterValueException", "ResourceConflictException"}:
            raise InvalidInput(f"followProvisionedConcurrency: Lambda refused {amount} provisioned concurrency on "
                               f"version {version} of {name}: {error.get('Message')} (set "
                               "followProvisionedConcurrency: false to release without it)") from exc
        raise


def give(target: TargetPlan, old_version: str, execution_arn: str) -> bool:
    """The user's configuration put on the new version too (``wait_ready`` waits for it); whether the release gives
    it (not when the alias has none, or the new version has its own). A refusal refuses the release: what this
    release put is removed by the publish task's cleanup (``lease_cleanup``), nothing else has changed yet."""
    name, alias, new_version = target.function_name, target.alias, target.new_version
    configs = every_configuration(name)
    owner = next((o for o, qualifier in (("alias", alias), ("version", old_version)) if qualifier in configs), None)
    if owner is None:
        return False
    lease = locks.read(name, alias)
    mine = lease is not None and lease.provisioned is not None and lease.provisioned.on == new_version
    if new_version in configs and not mine:
        return False  # the user's own already: the release leaves every configuration as it is
    if new_version in configs:
        return True  # put by this release's earlier attempt
    amount = int(configs[alias if owner == "alias" else old_version]["RequestedProvisionedConcurrentExecutions"])
    move = ProvisionedMove(on=new_version, owner="alias" if owner == "alias" else "version", amount=amount)
    locks.note_provisioned(name, alias, execution_arn, move)
    _put(name, new_version, amount)
    try:
        locks.ensure_held(name, alias, execution_arn)
    except locks.LeaseLost:
        remove(name, new_version)  # the guardian ended the release meanwhile: undo this put
        raise
    return True


def lease_cleanup(name: str, alias: str, execution_arn: str) -> None:
    """What a refused (or ended) release put, removed: the lease says it, whether or not the plan was made."""
    lease = locks.read(name, alias)
    if lease is not None and lease.holder == execution_arn and lease.provisioned is not None:
        remove(name, lease.provisioned.on)


def wait_ready(versions: list[tuple[str, str]], deadline: readiness.Deadline) -> None:
    """Every (function, version)'s allocation READY, polled together; VersionNotReady for one that FAILED."""
    readiness.poll_together([found for found in versions if not _allocated(*found)], lambda found: _allocated(*found),
                            deadline, lambda found: f"provisioned concurrency for version {found[1]} of {found[0]}",
                            _FIRST_POLLS)


def _allocated(name: str, version: str) -> bool:
    config = configured(name, version)
    status = config["Status"] if config else "FAILED"
    if status == "FAILED":
        reason = (config or {}).get("StatusReason", "the configuration was removed")
        raise VersionNotReady(f"provisioned concurrency for version {version} of {name} failed: {reason}; "
                              "nothing was shifted")
    return status == "READY"


def given(target: TargetPlan) -> ProvisionedMove | None:
    """What the release put on the new version, as its lease says (only read for a target that has some)."""
    if not target.provisioned or target.old_version is None:
        return None
    lease = locks.read(target.function_name, target.alias)
    return lease.provisioned if lease is not None else None


def after_promotion(target: TargetPlan, move: ProvisionedMove | None, wait_seconds: float,
                    execution_arn: str | None = None) -> None:
    """The user's configuration where they had it, on the new version: a version's moved (the old one's removed),
    an alias's allocated on the new version before the release's own is removed (up to ``wait_seconds``). With
    ``execution_arn`` (the promote task), only while the release still holds the alias."""
    if move is None or target.old_version is None:
        return
    name = target.function_name
    if move.owner == "version":
        if execution_arn is None:
            remove(name, target.old_version)
            return
        # Under the lease, as an alias write: a guardian that ended it meanwhile puts the alias (and this) back.
        locks.ensure_held(name, target.alias, execution_arn)
        remove(name, target.old_version)
        try:
            locks.ensure_held(name, target.alias, execution_arn)
        except locks.LeaseLost:
            _put(name, target.old_version, move.amount)  # undo: the release did not end promoted
            raise
        return
    if execution_arn is None and configured(name, move.on) is None:
        return  # removed already (the promote task did; this is the guardian)
    until = time.monotonic() + wait_seconds
    config = configured(name, target.alias)
    while config is not None and config["Status"] == "IN_PROGRESS" and time.monotonic() < until:
        time.sleep(min(readiness.POLL_SECONDS, max(0.0, until - time.monotonic())))
        config = configured(name, target.alias)
    if config is not None and config["Status"] != "READY":
        logger.warning("the alias's provisioned concurrency is not READY on the new version yet; the release's own "
                       "is removed as promised: calls may run cold until Lambda has allocated it",
                       extra={"functionName": name, "alias": target.alias, "status": config["Status"]})
    remove(name, move.on)


def settle_unpromoted(target: TargetPlan, move: ProvisionedMove | None) -> None:
    """A release that did not promote (rolled back, left alone, aborted): its own configuration removed unless the
    alias routes to the new version now (a person moved it there: it stays warm), the old version's as it was."""
    if move is None:
        return
    now = aliases.read_alias(target.function_name, target.alias)
    if now is not None and move.on in {now.function_version, *now.additional_weights}:
        return
    after_rollback(target, move)


def after_rollback(target: TargetPlan, move: ProvisionedMove | None) -> None:
    """Nothing the release allocated left: its own configuration removed; a version's the user had, there again
    (a promotion that another function's failure undid had moved it)."""
    if move is None or target.old_version is None:
        return
    remove(target.function_name, move.on)
    if move.owner == "version" and configured(target.function_name, target.old_version) is None:
        lambda_client().put_provisioned_concurrency_config(FunctionName=target.function_name,
                                                           Qualifier=target.old_version,
                                                           ProvisionedConcurrentExecutions=move.amount)
