"""Load CloudFormation / SAM YAML with its short-form intrinsics, and evaluate the simple ones.

``load`` turns ``!Ref X`` into ``{"Ref": "X"}``, ``!GetAtt A.B`` into ``{"Fn::GetAtt": ["A", "B"]}``,
``!Condition C`` into ``{"Condition": "C"}`` and every other ``!Fn`` into ``{"Fn::Fn": value}`` -
the same shape as the template's JSON form, which is what samtranslator and CloudFormation see.

``Resolver`` evaluates conditions, ``Fn::If``, ``Ref`` to parameters and ``Fn::Sub`` for a chosen
set of parameter values, so tests can ask "what does the role grant when RemediationMode=enforce?".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "template.yaml"

_FUNCTIONS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "If",
    "ImportValue",
    "Join",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "Transform",
)


class CfnLoader(yaml.SafeLoader):
    """A safe loader that knows the CloudFormation short-form tags."""


def _construct(node: yaml.Node, loader: yaml.SafeLoader) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}", node.start_mark)


def _fn(name: str):  # type: ignore[no-untyped-def]
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        return {f"Fn::{name}": _construct(node, loader)}

    return construct


def _ref(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Ref": _construct(node, loader)}


def _condition(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    return {"Condition": _construct(node, loader)}


def _get_att(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
    value = _construct(node, loader)
    if isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {"Fn::GetAtt": value}


CfnLoader.add_constructor("!Ref", _ref)
CfnLoader.add_constructor("!Condition", _condition)
CfnLoader.add_constructor("!GetAtt", _get_att)
for _name in _FUNCTIONS:
    CfnLoader.add_constructor(f"!{_name}", _fn(_name))


def loads(text: str) -> dict[str, Any]:
    return yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader subclass


def load(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    return loads(path.read_text(encoding="utf-8"))


def of_type(resources: Mapping[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """The resources of one type, by logical id."""
    return {name: body for name, body in resources.items() if body["Type"] == resource_type}


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

PSEUDO_PARAMETERS = {
    "AWS::AccountId": "111122223333",
    "AWS::Region": "us-east-1",
    "AWS::Partition": "aws",
    "AWS::StackName": "kms-keyguard",
    "AWS::URLSuffix": "amazonaws.com",
}

_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


class Resolver:
    """Evaluates conditions and the simple intrinsics of a template for given parameter values.

    ``Ref`` to a resource and ``Fn::GetAtt`` are kept as they are (they are only known at deploy
    time); inside ``Fn::Sub`` they become ``<Resource>`` / ``<Resource.Attribute>`` placeholders.
    Given ``physical`` (logical id -> {"Ref": value, "<Attribute>": value}), they resolve to those
    values instead, as CloudFormation would once the resources exist.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        overrides: Mapping[str, str] | None = None,
        physical: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.template = template
        params = {name: spec.get("Default") for name, spec in template.get("Parameters", {}).items()}
        params.update({k: v for k, v in (overrides or {}).items() if not k.startswith("AWS::")})
        self.parameters: dict[str, Any] = {k: v if v is None else str(v) for k, v in params.items()}
        # Pseudo parameters (AWS::StackName, ...) may be overridden like parameters.
        pseudo = {k: v for k, v in (overrides or {}).items() if k.startswith("AWS::")}
        self.pseudo = {**PSEUDO_PARAMETERS, **pseudo}
        self.physical = physical or {}
        self._conditions: dict[str, bool] = {}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            self._conditions[name] = bool(self.resolve(self.template["Conditions"][name]))
        return self._conditions[name]

    def resource_exists(self, logical_id: str) -> bool:
        condition = self.template["Resources"][logical_id].get("Condition")
        return condition is None or self.condition(condition)

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if "Ref" in self.physical.get(name, {}):
            return self.physical[name]["Ref"]
        return {"Ref": name}

    def _get_att(self, value: Any) -> Any:
        resource, attribute = value if isinstance(value, list) else str(value).split(".", 1)
        known = self.physical.get(resource, {})
        return known.get(attribute, {"Fn::GetAtt": [resource, attribute]})

    def _sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else (value[0], value[1])

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name:
                attribute = self._get_att(name)
                return f"<{name}>" if isinstance(attribute, dict) else str(attribute)
            resolved = self._ref(name)
            return f"<{name}>" if isinstance(resolved, dict) else str(resolved)

        return _SUB_VARIABLE.sub(replace, text).replace("${!", "${")

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            ((key, value),) = node.items()
            if key == "Ref":
                return self._ref(value)
            if key == "Condition" and isinstance(value, str):
                return self.condition(value)
            if key == "Fn::If":
                name, when_true, when_false = value
                return self.resolve(when_true if self.condition(name) else when_false)
            if key == "Fn::Equals":
                left, right = (self.resolve(v) for v in value)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(value[0])
            if key == "Fn::And":
                return all(self.resolve(v) for v in value)
            if key == "Fn::Or":
                return any(self.resolve(v) for v in value)
            if key == "Fn::Sub":
                return self._sub(value)
            if key == "Fn::Join":
                separator, parts = value
                return separator.join(str(p) for p in self.resolve(parts))
            if key == "Fn::GetAtt":
                return self._get_att(value)
            if key == "Fn::FindInMap":
                mapping, top, second = (self.resolve(v) for v in value)
                return self.template["Mappings"][mapping][str(top)][str(second)]
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}
