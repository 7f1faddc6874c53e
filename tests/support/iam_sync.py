"""Keep the DependencyDiscovery IAM statement in template.yaml in step with the finder registry.

    python -m tests.support.iam_sync          # rewrite the statement's Action list
    python -m tests.support.iam_sync --check  # exit 1 (and show the difference) when out of date

Only the ``Action`` list of the statement whose ``Sid`` is ``DependencyDiscovery`` is touched; the
rest of the file (comments, order, layout) is kept byte for byte.

An action the same role already grants in another statement is left out: that statement grants it
on the resources it needs (``cassandra:Select`` on the system keyspaces, the KMS reads on the
account's keys), and repeating it on ``Resource: "*"`` would undo the scoping.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from tests.support.cfn_yaml import TEMPLATE_PATH, loads

SID = "DependencyDiscovery"

_SID_LINE = re.compile(rf"^(?P<indent>\s*)(?:- )?Sid:\s*[\"']?{SID}[\"']?\s*$")
_ACTION_LINE = re.compile(r"^(?P<indent>\s*)Action:\s*$")
_ITEM_LINE = re.compile(r"^(?P<indent>\s*)- (?P<value>\S.*?)\s*$")


class StatementNotFound(LookupError):
    """The template has no block-style Action list under Sid DependencyDiscovery."""


def _statement_indent(sid_line: str) -> int:
    """Column of the statement's keys (``- Sid:`` puts them two columns right of the dash)."""
    stripped = sid_line.lstrip()
    indent = len(sid_line) - len(stripped)
    return indent + 2 if stripped.startswith("- ") else indent


def _locate(lines: list[str]) -> tuple[int, int, str]:
    """(first item line, end line exclusive, item indent) of the statement's Action list."""
    for number, line in enumerate(lines):
        if not _SID_LINE.match(line):
            continue
        key_indent = _statement_indent(line)
        for index in range(number + 1, len(lines)):
            current = lines[index]
            if not current.strip() or current.lstrip().startswith("#"):
                continue
            indent = len(current) - len(current.lstrip())
            if indent < key_indent or (indent == key_indent and current.lstrip().startswith("- ")):
                break  # left the statement
            action = _ACTION_LINE.match(current)
            if action and indent == key_indent:
                start = end = index + 1
                item_indent = " " * (key_indent + 2)
                while end < len(lines):
                    item = _ITEM_LINE.match(lines[end])
                    if not item or len(item.group("indent")) <= key_indent:
                        break
                    item_indent = item.group("indent")
                    end += 1
                return start, end, item_indent
        raise StatementNotFound(f"statement {SID!r} has no block-style 'Action:' list")
    raise StatementNotFound(f"no IAM statement with Sid {SID!r}")


def current_actions(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    start, end, _ = _locate(lines)
    return [_ITEM_LINE.match(line).group("value").strip("\"'") for line in lines[start:end]]  # type: ignore[union-attr]


def render(text: str, actions: Iterable[str]) -> str:
    """``text`` with the DependencyDiscovery Action list replaced by ``sorted(actions)``."""
    lines = text.splitlines(keepends=True)
    start, end, indent = _locate(lines)
    newline = "\r\n" if lines[start - 1].endswith("\r\n") else "\n"
    items = [f"{indent}- {action}{newline}" for action in sorted(set(actions))]
    return "".join([*lines[:start], *items, *lines[end:]])


def registry_actions() -> set[str]:
    from shared.dependencies import required_actions

    return set(required_actions())


def granted_elsewhere(text: str) -> set[str]:
    """Actions the role holding the statement allows in its other unconditional statements."""
    for body in loads(text).get("Resources", {}).values():
        documents = [
            policy.get("PolicyDocument")
            for policy in body.get("Properties", {}).get("Policies", [])
            if isinstance(policy, dict) and isinstance(policy.get("PolicyDocument"), dict)
        ]
        statements = [s for document in documents for s in document.get("Statement", [])]
        if not any(s.get("Sid") == SID for s in statements):
            continue
        actions: set[str] = set()
        for statement in statements:
            if statement.get("Sid") != SID and statement.get("Effect") == "Allow":
                action = statement.get("Action", [])
                actions |= {action} if isinstance(action, str) else set(action)
        return actions
    return set()


def wanted_actions(text: str) -> set[str]:
    """What the statement must list: the registry's actions not already granted, scoped, elsewhere."""
    return registry_actions() - granted_elsewhere(text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.support.iam_sync", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="report drift instead of rewriting")
    parser.add_argument("--template", type=Path, default=TEMPLATE_PATH)
    args = parser.parse_args(argv)

    text = args.template.read_text(encoding="utf-8")
    wanted = wanted_actions(text)
    have = set(current_actions(text))
    if args.check:
        if have == wanted:
            print(f"{args.template.name}: {SID} grants the {len(wanted)} actions the registry needs")
            return 0
        for action in sorted(wanted - have):
            print(f"missing: {action}")
        for action in sorted(have - wanted):
            print(f"not needed: {action}")
        print(f"run `python -m tests.support.iam_sync` to update {args.template.name}")
        return 1
    updated = render(text, wanted)
    if updated != text:
        args.template.write_text(updated, encoding="utf-8")
        print(f"{args.template.name}: {SID} now grants {len(wanted)} actions")
    else:
        print(f"{args.template.name}: already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
