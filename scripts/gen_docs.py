"""Regenerate the README's table of resource types from the dependency registry.

``python -m scripts.gen_docs`` rewrites the text between the ``BEGIN resource-types`` and
``END resource-types`` markers of README.md; ``--check`` only reports whether it is stale (exit 1).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from shared.dependencies import EVIDENCE, REGISTRY
from shared.dependencies.table import TableFinder

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = re.compile(r"<!-- BEGIN resource-types[^>]*-->\n")
END = "<!-- END resource-types -->"
TIERS = ["database / data store", "volume / file system", "secret / configuration", "bucket", "other"]


def _finder_rows(finder: TableFinder) -> list[str]:
    calls = " → ".join(f"`{op}`" for op in finder.operations)
    actions = ", ".join(f"`{a}`" for a in finder.actions)
    region = f" (read in {', '.join(finder.regions)} only)" if finder.regions else ""
    notes = f"{finder.notes}{region}".strip()
    return [
        f"| `{rtype}` | {finder.service} | {TIERS[finder.tier]} | {calls} | {actions} | {notes} |"
        for rtype in finder.resource_types
    ]


def render() -> str:
    finders = sorted(REGISTRY, key=lambda f: f.tier)  # stable: registry order within a tier
    services = {f.service for f in REGISTRY}
    types = [t for f in REGISTRY for t in f.resource_types]
    lines = [
        f"Discovery checks **{len(types)} resource types across {len(services)} services** in the key's "
        "region and every multi-Region replica's region, most critical first:",
        "",
        "| resource type | service | alert tier | API calls | IAM actions | notes |",
        "|---|---|---|---|---|---|",
    ]
    for finder in finders:
        lines += _finder_rows(finder)
    lines += ["", "Evidence of use, reported next to the resources:", ""]
    for evidence in EVIDENCE:
        lines.append(f"- `{evidence.name}`: {', '.join(f'`{a}`' for a in evidence.actions)}")
    return "\n".join(lines) + "\n"


def rewrite(text: str) -> str:
    begin = BEGIN.search(text)
    end = text.find(END)
    if begin is None or end < begin.end():
        raise SystemExit("README.md: resource-types markers not found")
    return text[: begin.end()] + render() + text[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    wanted = rewrite(current)
    if args.check:
        if wanted != current:
            sys.stderr.write("README.md resource-types table is stale: run `make docs`\n")
            return 1
        return 0
    if wanted != current:
        README.write_text(wanted, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
