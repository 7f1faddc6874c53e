"""A small reference matcher for EventBridge event patterns, for what moto does not emulate.

It follows the matching rules AWS documents in its Event Ruler library (github.com/aws/event-ruler,
README: "Ruler by Example", "$or", "JSON Array Matching"): fields AND, values in a list OR; a list
in the event matches if any element matches; an array of objects is "crushed out", each object
treated as the value of the parent field (a field inside an array of objects matches element by
element, and all fields of one nested pattern must match within the same element). moto matches
arrays of plain values but not fields inside arrays of objects (TagResource's ``tags[].tagKey``).

Only the operators the template uses are implemented: exact values, prefix, suffix, wildcard,
anything-but (a value or a list), exists, and ``$or`` at any level.
"""

from __future__ import annotations

import re
from typing import Any

_MISSING = object()


def matches(pattern: dict[str, Any], event: Any) -> bool:
    """Whether ``event`` (an object, or an array of objects) satisfies every field of ``pattern``."""
    if isinstance(event, list):
        return any(matches(pattern, element) for element in event)
    if not isinstance(event, dict):
        return False
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(alternative, event) for alternative in expected):
                return False
            continue
        value = event.get(key, _MISSING)
        if isinstance(expected, dict):
            if value is _MISSING or not matches(expected, value):
                return False
        elif not _leaf(expected, value):
            return False
    return True


def _leaf(expected: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_one(rule, item) for rule in expected for item in values)


def _one(rule: Any, value: Any) -> bool:
    if not isinstance(rule, dict):
        return value is not _MISSING and rule == value
    ((operator, operand),) = rule.items()
    if operator == "exists":
        return (value is not _MISSING) is operand
    if value is _MISSING or not isinstance(value, str | int | float) or isinstance(value, bool):
        return False
    text = str(value)
    if operator == "prefix":
        return text.startswith(operand)
    if operator == "suffix":
        return text.endswith(operand)
    if operator == "wildcard":
        return re.fullmatch(".*".join(re.escape(part) for part in operand.split("*")), text) is not None
    if operator == "anything-but":
        excluded = operand if isinstance(operand, list) else [operand]
        return value not in excluded
    raise ValueError(f"operator {operator!r} is not implemented here")
