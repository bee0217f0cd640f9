"""Aliases per environment: what each alias of a function points at (``bluegreen aliases``), the dev/test/prod
set a team starts from (``--init``), and the request that puts an alias back on its version before its last
release (``bluegreen rollback``), which runs through the state machine like any release."""

from __future__ import annotations

from typing import Any

from bluegreen.aws import history, locks
from bluegreen.aws.aliases import read_alias
from bluegreen.aws.clients import lambda_client
from bluegreen.cli import executions
from bluegreen.cli.deployed_stack import Stack

# The environments a function starts with: dev follows $LATEST; test and prod are released to.
DEV, TEST, PROD = "dev", "test", "prod"


class Refused(Exception):
    """Nothing was changed, for the reason given."""


def _paginated(operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    paginator: Any = lambda_client().get_paginator(operation)  # type: ignore[call-overload]
    for page in paginator.paginate(**kwargs):
        found.extend(page[key])
    return found


def describe(function_name: str) -> dict[str, Any]:
    """Every alias with its version(s) and weights, and every version (``$LATEST`` included) with its date and
    code hash."""
    versions = _paginated("list_versions_by_function", "Versions", FunctionName=function_name)
    aliases = _paginated("list_aliases", "Aliases", FunctionName=function_name)
    return {
        "functionName": function_name,
        "aliases": [{"alias": a["Name"], "version": a["FunctionVersion"],
                     "weights": _weights(a["FunctionVersion"], (a.get("RoutingConfig") or {}).get(
                         "AdditionalVersionWeights") or {})} for a in sorted(aliases, key=lambda a: a["Name"])],
        "versions": [{"version": v["Version"], "lastModified": v.get("LastModified"), "codeSha256": v.get("CodeSha256"),
                      "description": v.get("Description") or None} for v in versions],
    }


def _weights(version: str, extra: dict[str, float]) -> dict[str, float]:
    """Each version's share of the alias's traffic."""
    return {version: round(1.0 - sum(extra.values()), 6), **extra}


def _newest_published(function_name: str) -> str | None:
    published = [v["Version"] for v in _paginated("list_versions_by_function", "Versions", FunctionName=function_name)
                 if v["Version"] != "$LATEST"]
    return max(published, key=int) if published else None


def init(function_name: str) -> list[str]:
    """dev on $LATEST, test and prod on the newest published version (published now if there is none); an
    alias that exists is left as it is. Returns what was done, one line each."""
    lam = lambda_client()
    done = []
    newest = _newest_published(function_name)
    for alias, wanted in ((DEV, "$LATEST"), (TEST, None), (PROD, None)):
        existing = read_alias(function_name, alias)
        if existing is not None:
            done.append(f"{alias} left on version {existing.function_version}")
            continue
        version = wanted
        if version is None:
            if newest is None:
                newest = str(lam.publish_version(FunctionName=function_name,
                                                 Description="published by bluegreen aliases --init")["Version"])
                done.append(f"version {newest} published from $LATEST")
            version = newest
        lam.create_alias(FunctionName=function_name, Name=alias, FunctionVersion=version,
                         Description=f"{alias} environment (bluegreen aliases --init)")
        done.append(f"{alias} created on {version}")
    return done


def _holding_release(function_name: str, alias: str) -> str | None:
    """The name of the running release holding the alias, if one does."""
    arn = locks.holder(function_name, alias)
    if arn is None:
        return None
    status = executions.sfn_client().describe_execution(executionArn=arn)["status"]
    return arn.rsplit(":", 1)[-1] if status == "RUNNING" else None


def rollback_request(stack: Stack, function_name: str, alias: str, *, to: str | None, reason: str,
                     requested_by: str) -> dict[str, Any]:
    """The release that puts ``alias`` back at once: on ``to``, or on the version it had before its last
    promoted release (from the history). Raises Refused while a release holds the alias, or when there is
    nothing to go back to."""
    with stack.configured():
        holder = _holding_release(function_name, alias)
        if holder:
            raise Refused(f"release {holder} holds {function_name}:{alias}: abort it (bluegreen abort {holder}), "
                          "which puts the alias back, or wait for it to end")
        current = read_alias(function_name, alias)
        if current is None:
            raise Refused(f"{function_name} has no alias {alias}")
        if to is None:
            to = _version_before_last_release(function_name, alias, current.function_version)
        if to == current.function_version and not current.is_split:
            raise Refused(f"nothing to go back to: {alias} is already on version {to}")
    return {"functionName": function_name, "alias": alias, "version": to, "strategy": "AllAtOnce",
            "allowDowngrade": True,
            "trigger": {"source": "rollback", "requestedBy": requested_by, "reason": reason}}


def _version_before_last_release(function_name: str, alias: str, current: str) -> str:
    rows = history.list_deployments(function_name, alias, limit=50)
    last = next((r for r in rows if r.get("status") == "PROMOTED"
                 and (r.get("trigger") or {}).get("source") != "rollback"), None)
    if last is None:
        raise Refused(f"nothing to go back to: no promoted release of {function_name}:{alias} in the history; "
                      "name the version with --to")
    if str(last.get("newVersion")) != current:
        raise Refused(f"nothing to go back to: {alias} is on version {current}, not on version "
                      f"{last.get('newVersion')} that its last release promoted; name the version with --to")
    if not last.get("oldVersion"):
        raise Refused(f"nothing to go back to: the last release created {alias}; name the version with --to")
    return str(last["oldVersion"])
