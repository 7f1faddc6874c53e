"""Regenerate the generated blocks of the documentation from the code.

A block is the text between a ``<!-- BEGIN <name> ... -->`` line and the ``<!-- END <name> -->`` line
of a file under the repository root. ``python -m scripts.gen_docs`` rewrites every block;
``--check`` only reports the files whose blocks are stale or whose markers are missing (exit 1).

Blocks: ``resource-types`` in docs/discovery.md, the finder table, from the dependency registry;
``config-index-types`` in docs/discovery-index.md, the types AWS Config can answer, from the same.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from shared.dependencies import EVIDENCE, REGISTRY
from shared.dependencies.table import TableFinder

ROOT = Path(__file__).resolve().parent.parent
TIERS = ["database / data store", "volume / file system", "secret / configuration", "bucket", "other"]


class MarkersNotFound(ValueError):
    """A target file lacks a block's BEGIN/END markers (or has them in the wrong order)."""


def _finder_rows(finder: TableFinder) -> list[str]:
    calls = " → ".join(f"`{op}`" for op in finder.operations)
    actions = ", ".join(f"`{a}`" for a in finder.actions)
    region = f" (read in {', '.join(finder.regions)} only)" if finder.regions else ""
    notes = f"{finder.notes}{region}".strip()
    return [
        f"| `{rtype}` | {finder.service} | {TIERS[finder.tier]} | {calls} | {actions} | {notes} |"
        for rtype in finder.resource_types
    ]


def render_resource_types() -> str:
    """The finder table and the evidence finders, most critical tier first."""
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


@dataclass(frozen=True)
class Block:
    path: str  # relative to the repository root
    name: str
    render: Callable[[], str]

    def rewrite(self, text: str) -> str:
        """``text`` with this block's body replaced by a fresh rendering."""
        begin = re.search(rf"<!-- BEGIN {re.escape(self.name)}\b[^>]*-->\n", text)
        end = text.find(f"<!-- END {self.name} -->")
        if begin is None or end < begin.end():
            raise MarkersNotFound(f"{self.path}: {self.name} markers not found")
        return text[: begin.end()] + self.render() + text[end:]


def render_config_index_types() -> str:
    """The catalogued types AWS Config records a key field for, and whether the index answers them."""
    lines = [
        "| resource type | Config type | key field(s) | searched through |",
        "|---|---|---|---|",
    ]
    for finder in REGISTRY:
        if not isinstance(finder, TableFinder):
            continue
        for rtype, record in finder.config_records.items():
            fields = ", ".join(f"`{f}`" for f in record.fields)
            how = "the index" if finder.indexable else f"its API (not in Config's item: {record.missing})"
            if not finder.indexable and not record.missing:
                how = "its API: another type of the finder is not indexed"
            lines.append(f"| `{rtype}` | `{record.resource_type}` | {fields} | {how} |")
    return "\n".join(lines) + "\n"


BLOCKS: tuple[Block, ...] = (
    Block("docs/discovery.md", "resource-types", render_resource_types),
    Block("docs/discovery-index.md", "config-index-types", render_config_index_types),
)


def regenerate(root: Path = ROOT) -> dict[str, tuple[str, str]]:
    """Every target file's current and wanted text, keyed by its path relative to ``root``."""
    texts: dict[str, tuple[str, str]] = {}
    for block in BLOCKS:
        if block.path not in texts:
            text = (root / block.path).read_text(encoding="utf-8")
            texts[block.path] = (text, text)
        current, wanted = texts[block.path]
        texts[block.path] = (current, block.rewrite(wanted))
    return texts


def stale(root: Path = ROOT) -> list[str]:
    """The target files whose generated blocks differ from a fresh rendering."""
    return [path for path, (current, wanted) in regenerate(root).items() if current != wanted]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated block is stale")
    args = parser.parse_args(argv)
    try:
        texts = regenerate()
    except MarkersNotFound as error:
        sys.stderr.write(f"{error}\n")
        return 1
    changed = [path for path, (current, wanted) in texts.items() if current != wanted]
    if args.check:
        for path in changed:
            sys.stderr.write(f"{path}: generated block is stale: run `make docs`\n")
        return 1 if changed else 0
    for path in changed:
        (ROOT / path).write_text(texts[path][1], encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
