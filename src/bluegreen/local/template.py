"""Read template.yaml (CloudFormation short-form tags included) and resolve the intrinsics the local run needs."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import yaml


class _CfnLoader(yaml.SafeLoader):
    """YAML loader that turns ``!Ref x`` into ``{"Ref": x}`` and ``!GetAtt a.b`` into ``{"Fn::GetAtt": [a, b]}``."""


def _construct_tag(loader: _CfnLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict[str, Any]:
    data = yaml.load(path.read_text(), Loader=_CfnLoader)
    if not isinstance(data, dict) or "Resources" not in data:
        raise ValueError(f"{path} is not a CloudFormation template")
    return data


@dataclass
class Resolver:
    """Evaluates Ref, GetAtt (Arn), Sub, Join, Split, If, Equals and Not against the local stack's values."""

    parameters: dict[str, Any]
    pseudo: dict[str, str]
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> name (Ref)
    arns: dict[str, str] = field(default_factory=dict)  # logical id -> ARN (GetAtt .Arn)
    # (logical id, attribute) -> value, for GetAtt of other attributes (an AWS::Lambda::Version's Version).
    attributes: dict[tuple[str, str], Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)  # the template's Conditions section

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.conditions[name]))

    def ref(self, name: str) -> Any:
        for source in (self.parameters, self.pseudo, self.physical):
            if name in source:
                return source[name]
        raise KeyError(f"cannot resolve Ref {name} locally")

    def sub(self, text: str, local_vars: dict[str, Any]) -> str:
        def repl(match: re.Match[str]) -> str:
            key = match.group(1)
            if key in local_vars:
                return str(local_vars[key])
            if "." in key:
                logical, attr = key.split(".", 1)
                return str(self.resolve({"Fn::GetAtt": [logical, attr]}))
            return str(self.ref(key))

        return re.sub(r"\$\{([^}!]+)\}", repl, text)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            intrinsic = self._INTRINSICS.get(key)
            if intrinsic is not None:
                return intrinsic(self, arg)
        return {k: self.resolve(v) for k, v in value.items()}

    def _get_att(self, arg: list[str]) -> Any:
        logical, attr = arg
        if (logical, attr) in self.attributes:
            return self.attributes[(logical, attr)]
        if attr != "Arn" or logical not in self.arns:
            raise KeyError(f"cannot resolve GetAtt {logical}.{attr} locally")
        return self.arns[logical]

    def _sub(self, arg: Any) -> str:
        text, local_vars = (arg, {}) if isinstance(arg, str) else arg
        return self.sub(text, {k: self.resolve(v) for k, v in local_vars.items()})

    def _join(self, arg: list[Any]) -> str:
        sep, items = arg
        return str(self.resolve(sep)).join(str(i) for i in self.resolve(items))

    def _split(self, arg: list[Any]) -> list[str]:
        sep, text = arg
        return str(self.resolve(text)).split(self.resolve(sep))

    def _equals(self, arg: list[Any]) -> bool:
        left, right = self.resolve(arg)
        return str(left) == str(right)

    def _not(self, arg: list[Any]) -> bool:
        (condition,) = arg
        return not self.resolve(condition)

    def _if(self, arg: list[Any]) -> Any:
        name, when_true, when_false = arg
        return self.resolve(when_true if self.condition(name) else when_false)

    _INTRINSICS: ClassVar[dict[str, Callable[[Resolver, Any], Any]]] = {
        "Ref": lambda self, arg: self.ref(arg),
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::Join": _join,
        "Fn::Split": _split,
        "Fn::Equals": _equals,
        "Fn::If": _if,
        "Fn::Not": _not,
    }
