"""The subset of AWS Config's advanced query language that discovery generates, evaluated locally.

    SELECT p1, p2, ... WHERE c1 AND c2 ...

where each condition is ``prop = 'v'``, ``prop IN ('a', 'b', ...)`` or ``NOT prop = 'v'``, and a
property is a dotted path into a configuration item (arrays match when any element matches, as
Config documents for array properties). Anything else is refused, as Config refuses a malformed
expression: the emulator answers it with ``InvalidExpressionException``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<word>[A-Za-z_][\w.]*)|(?P<op>[=(),*]))")


class InvalidExpression(ValueError):
    """The expression is outside the supported subset."""


@dataclass(frozen=True)
class Condition:
    prop: str
    values: frozenset[str]
    negated: bool = False


@dataclass(frozen=True)
class Select:
    fields: tuple[str, ...]
    conditions: tuple[Condition, ...]

    def matches(self, item: Mapping[str, Any]) -> bool:
        for condition in self.conditions:
            hit = any(value in condition.values for value in values_at(item, condition.prop))
            if hit == condition.negated:
                return False
        return True

    def project(self, item: Mapping[str, Any]) -> dict[str, Any]:
        """The selected properties, nested as Config returns them."""
        out: dict[str, Any] = {}
        for path in self.fields:
            value = _get(item, path.split("."))
            if value is None:
                continue
            parts = path.split(".")
            target = out
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
        return out


def _tokens(expression: str) -> Iterator[tuple[str, str]]:
    position = 0
    while position < len(expression):
        if expression[position:].strip() == "":
            return
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            snippet = expression[position : position + 20]
            raise InvalidExpression(f"unexpected text at {position}: {snippet!r}")
        position = match.end()
        kind = match.lastgroup or ""
        yield kind, match.group(kind)


def parse(expression: str) -> Select:
    tokens = list(_tokens(expression))
    index = 0

    def take(kind: str | None = None, value: str | None = None) -> str:
        nonlocal index
        if index >= len(tokens):
            raise InvalidExpression("unexpected end of expression")
        got_kind, got = tokens[index]
        if (kind and got_kind != kind) or (value and got.upper() != value):
            raise InvalidExpression(f"expected {value or kind}, got {got!r}")
        index += 1
        return got

    def peek() -> str:
        return tokens[index][1].upper() if index < len(tokens) else ""

    take("word", "SELECT")
    fields = [take("word")]
    while peek() == ",":
        take("op")
        fields.append(take("word"))
    conditions: list[Condition] = []
    if peek() == "WHERE":
        take("word", "WHERE")
        while True:
            negated = False
            if peek() == "NOT":
                take("word", "NOT")
                negated = True
            prop = take("word")
            if peek() == "=":
                take("op")
                values = {_unquote(take("str"))}
            else:
                take("word", "IN")
                take("op", "(")
                values = {_unquote(take("str"))}
                while peek() == ",":
                    take("op")
                    values.add(_unquote(take("str")))
                take("op", ")")
            conditions.append(Condition(prop, frozenset(values), negated))
            if peek() != "AND":
                break
            take("word", "AND")
    if index != len(tokens):
        raise InvalidExpression(f"unsupported clause at {tokens[index][1]!r}")
    return Select(tuple(fields), tuple(conditions))


def _unquote(text: str) -> str:
    return text[1:-1].replace("''", "'")


def _get(item: Any, parts: list[str]) -> Any:
    current = item
    for position, part in enumerate(parts):
        if isinstance(current, list):
            found = [_get(element, parts[position:]) for element in current]
            found = [f for f in found if f is not None]
            return found or None
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def values_at(item: Mapping[str, Any], path: str) -> list[str]:
    found = _get(item, path.split("."))
    return [str(v) for v in _flatten(found)]


def _flatten(value: Any) -> Iterable[Any]:
    if value is None:
        return
    if isinstance(value, list):
        for element in value:
            yield from _flatten(element)
    else:
        yield value
