"""Lambda's names as the input gives them: function names and ARNs, aliases, versions, code hashes, alarms."""

from __future__ import annotations

import re

FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
FUNCTION_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:(?P<name>[A-Za-z0-9_-]{1,64})$"
)
ALIAS_NAME = re.compile(r"^(?!\d+$)[A-Za-z0-9_-]{1,128}$")
VERSION = re.compile(r"^[1-9]\d{0,9}$")
CODE_SHA256 = re.compile(r"^[A-Za-z0-9+/]{43}=$")
ALARM_NAME = re.compile(r"^[^\x00-\x1f]{1,255}$")


def short_name(function: str) -> str:
    """A function's name, from its name or its (unqualified) ARN."""
    match = FUNCTION_ARN.match(function)
    return match["name"] if match else function


def valid_function_name(value: str) -> str:
    if FUNCTION_NAME.match(value) or FUNCTION_ARN.match(value):
        return value
    if ":function:" in value and value.count(":") > 6:
        raise ValueError("give the unqualified function name or ARN; put the alias in the 'alias' field")
    raise ValueError("must be a function name (letters, digits, '-' or '_', at most 64) or an unqualified function ARN")


def valid_alias_name(value: str) -> str:
    if value == "$LATEST" or not ALIAS_NAME.match(value):
        raise ValueError("must be an alias name: 1-128 letters, digits, '-' or '_', not only digits, not $LATEST")
    return value


def valid_version(value: str) -> str:
    if value == "$LATEST":
        raise ValueError("$LATEST cannot be released: a weighted alias needs a published version "
                         "(leave 'version' out to publish $LATEST now)")
    if not VERSION.match(value):
        raise ValueError("must be a published version number such as \"7\"")
    return value


def valid_code_sha256(value: str) -> str:
    if not CODE_SHA256.match(value):
        raise ValueError("must be the base64 SHA-256 of the code, as GetFunction's CodeSha256 reports it")
    return value
