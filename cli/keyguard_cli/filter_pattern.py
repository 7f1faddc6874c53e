"""A small evaluator for CloudWatch Logs JSON filter patterns (the ``{ $.field = value }`` form).

It answers one question: would this metric filter count a given CloudTrail record? That is what
"implements CIS 4.7" means, independently of how any particular checker compares the pattern text.
Supported: ``&&``, ``||``, parentheses, ``=`` / ``!=`` with quoted or bare values and ``*``
wildcards, numeric comparisons, ``EXISTS`` / ``NOT EXISTS`` and ``IS NULL`` / ``IS TRUE`` /
``IS FALSE``. Anything else raises ``PatternError``; an unparseable pattern implements nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Record = Mapping[str, Any]
Predicate = Callable[[Record], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<and>&&) | (?P<or>\|\|) | (?P<lp>\() | (?P<rp>\)) |
        (?P<op>!=|<=|>=|=|<|>) |
        (?P<selector>\$(?:\.[A-Za-z0-9_\-@]+|\[[0-9*]+\])+) |
        (?P<quoted>"(?:[^"\\]|\\.)*") |
        (?P<bare>[^\s()&|=!<>"]+)
    )""",
    re.VERBOSE,
)


class PatternError(ValueError):
    """The pattern is not a JSON filter pattern this evaluator understands."""


def _tokenize(text: str) -> list[tuple[str, str]]:
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise PatternError("not a JSON filter pattern (expected { ... })")
    body = body[1:-1]
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(body):
        if body[position:].strip() == "":
            break
        match = _TOKEN.match(body, position)
        if not match or match.end() == position:
            raise PatternError(f"unexpected text at {body[position : position + 20]!r}")
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _lookup(record: Record, selector: str) -> tuple[bool, Any]:
    value: Any = record
    for part in re.findall(r"\.([A-Za-z0-9_\-@]+)|\[([0-9*]+)\]", selector):
        name, index = part
        if name:
            if not isinstance(value, Mapping) or name not in value:
                return False, None
            value = value[name]
        else:
            if not isinstance(value, list) or index == "*" or int(index) >= len(value):
                return False, None
            value = value[int(index)]
    return True, value


def _text_matches(actual: Any, expected: str) -> bool:
    if actual is None or isinstance(actual, Mapping | list):
        return False
    text = str(actual).lower() if isinstance(actual, bool) else str(actual)
    regex = "^" + ".*".join(re.escape(part) for part in expected.split("*")) + "$"
    return re.match(regex, text, re.DOTALL) is not None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, kind: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (kind and token[0] != kind):
            raise PatternError(f"expected {kind or 'more'}, found {token[1] if token else 'the end'}")
        self.index += 1
        return token

    def parse(self) -> Predicate:
        predicate = self.expr()
        if self.peek() is not None:
            raise PatternError(f"unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return predicate

    def expr(self) -> Predicate:
        terms = [self.conjunction()]
        while self.peek() and self.peek()[0] == "or":  # type: ignore[index]
            self.take("or")
            terms.append(self.conjunction())
        if len(terms) == 1:
            return terms[0]

        def either(record: Record, options: tuple[Predicate, ...] = tuple(terms)) -> bool:
            return any(p(record) for p in options)

        return either

    def conjunction(self) -> Predicate:
        terms = [self.atom()]
        while self.peek() and self.peek()[0] == "and":  # type: ignore[index]
            self.take("and")
            terms.append(self.atom())
        if len(terms) == 1:
            return terms[0]

        def both(record: Record, parts: tuple[Predicate, ...] = tuple(terms)) -> bool:
            return all(p(record) for p in parts)

        return both

    def atom(self) -> Predicate:
        token = self.peek()
        if token and token[0] == "lp":
            self.take("lp")
            inner = self.expr()
            self.take("rp")
            return inner
        return self.comparison()

    def comparison(self) -> Predicate:
        selector = self.take("selector")[1]
        token = self.take()
        if token[0] == "bare" and token[1].upper() in ("EXISTS", "NOT", "IS"):
            return self._keyword(selector, token[1].upper())
        if token[0] != "op":
            raise PatternError(f"expected an operator after {selector}")
        op = token[1]
        kind, raw = self.take()
        if kind not in ("quoted", "bare"):
            raise PatternError(f"expected a value after {selector} {op}")
        value = raw[1:-1].replace('\\"', '"') if kind == "quoted" else raw
        return self._compare(selector, op, value)

    def _keyword(self, selector: str, word: str) -> Predicate:
        if word == "EXISTS":
            return lambda r: _lookup(r, selector)[0]
        if word == "NOT":
            if self.take("bare")[1].upper() != "EXISTS":
                raise PatternError("expected EXISTS after NOT")
            return lambda r: not _lookup(r, selector)[0]
        what = self.take("bare")[1].upper()
        expected: Any = {"NULL": None, "TRUE": True, "FALSE": False}.get(what, PatternError)
        if expected is PatternError:
            raise PatternError(f"unsupported IS {what}")
        return lambda r: _lookup(r, selector) == (True, expected)

    @staticmethod
    def _compare(selector: str, op: str, value: str) -> Predicate:
        if op in ("=", "!="):
            wanted = op == "="

            def equals(record: Record) -> bool:
                found, actual = _lookup(record, selector)
                if not found:
                    return False
                return _text_matches(actual, value) is wanted

            return equals
        limit = _number(value)
        if limit is None:
            raise PatternError(f"{op} needs a number, got {value!r}")
        compare: Callable[[float, float], bool] = {
            "<": lambda a, b: a < b,
            ">": lambda a, b: a > b,
            "<=": lambda a, b: a <= b,
            ">=": lambda a, b: a >= b,
        }[op]

        def numeric(record: Record) -> bool:
            found, actual = _lookup(record, selector)
            number = _number(actual) if found else None
            return number is not None and compare(number, limit)

        return numeric


def compile_pattern(text: str) -> Predicate:
    """A predicate over JSON log events; raises ``PatternError`` for what it does not understand."""
    return _Parser(_tokenize(text)).parse()
