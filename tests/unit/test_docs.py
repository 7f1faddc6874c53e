"""The documentation: generated blocks are current, relative links resolve, named tests exist, the README
stays short."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from scripts import gen_docs

ROOT = gen_docs.ROOT
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
README_MAX_BYTES = 12_500

FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`+[^`\n]*`+")
LINK = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)


def _strip_fences(text: str) -> str:
    return FENCE.sub("", text)


def _prose(text: str) -> str:
    """Markdown without code blocks and code spans, where a link is only text."""
    return INLINE_CODE.sub("", _strip_fences(text))


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in HEADING.findall(_strip_fences(text)):
        slug = re.sub(r"[^\w\- ]", "", heading.replace("`", "").strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def _relative_links(path: Path) -> list[str]:
    targets = LINK.findall(_prose(path.read_text(encoding="utf-8")))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:", t, re.IGNORECASE)]


def test_the_generated_blocks_are_current() -> None:
    assert gen_docs.stale() == [], "run `make docs`"
    assert gen_docs.main(["--check"]) == 0


def test_the_resource_types_table_lives_in_the_discovery_doc() -> None:
    discovery = (ROOT / "docs" / "discovery.md").read_text(encoding="utf-8")
    assert gen_docs.render_resource_types() in discovery
    assert "BEGIN resource-types" not in (ROOT / "README.md").read_text(encoding="utf-8")


def test_a_hand_edited_table_is_reported_stale(tmp_path: Path) -> None:
    for block in gen_docs.BLOCKS:
        target = tmp_path / block.path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / block.path, target)
    discovery = tmp_path / "docs" / "discovery.md"
    text = discovery.read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith("| `AWS::S3::Bucket`"))
    discovery.write_text(text.replace(row + "\n", ""), encoding="utf-8")

    assert gen_docs.stale(tmp_path) == ["docs/discovery.md"]


def test_missing_markers_are_an_error(tmp_path: Path) -> None:
    for block in gen_docs.BLOCKS:
        target = tmp_path / block.path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("# no generated block here\n", encoding="utf-8")

    with pytest.raises(gen_docs.MarkersNotFound):
        gen_docs.stale(tmp_path)


def test_the_readme_is_a_five_minute_read() -> None:
    size = (ROOT / "README.md").stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes; move detail into docs/"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files_and_headings(doc: Path) -> None:
    broken = []
    for target in _relative_links(doc):
        file_part, _, anchor = target.partition("#")
        resolved = (doc.parent / file_part).resolve() if file_part else doc
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved.read_text("utf-8")):
            broken.append(f"{target}: no heading #{anchor}")
    assert broken == []


def test_the_link_checker_sees_links_and_ignores_code() -> None:
    text = "See [a](docs/a.md#x) and ![b](img.png).\n`[c](no.md)`\n```\n[d](no.md)\n```\n[e](https://x.y)"
    targets = LINK.findall(_prose(text))
    assert targets == ["docs/a.md#x", "img.png", "https://x.y"]
    assert _anchors("# The `keyguard` command line\n## Exit codes\n## Exit codes\n") == {
        "the-keyguard-command-line",
        "exit-codes",
        "exit-codes-1",
    }


TEST_NODE = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_every_test_a_document_names_exists(path: Path) -> None:
    # A behaviour documented with its test ("the test that shows it") must point at a real test.
    missing = [
        f"{file}::{name}"
        for file, name in TEST_NODE.findall(path.read_text(encoding="utf-8"))
        if not (ROOT / file).is_file()
        or not re.search(rf"^def {name}\(", (ROOT / file).read_text(encoding="utf-8"), re.MULTILINE)
    ]
    assert missing == []
