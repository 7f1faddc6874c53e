"""The alerting package sits below the responder: it renders and publishes, and reaches back up to
nothing that orchestrates."""

from __future__ import annotations

import ast
from pathlib import Path

import shared.alerting

PACKAGE = Path(shared.alerting.__file__).parent
# What rendering and publishing may use outside the package.
ALLOWED = {
    "shared.document",
    "shared.events",  # the KMS event table: data, importing only the models
    "shared.sanitize",
    "shared.aws",
    "shared.observability",
    "shared.errors",
}


def _shared_imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name == "shared" or name.startswith("shared.")}


def test_modules_import_only_the_layers_below() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        outside = {name for name in _shared_imports(path) if not name.startswith("shared.alerting")}
        assert outside <= ALLOWED, f"{path.name} imports {sorted(outside - ALLOWED)}"


def test_modules_inside_the_package_import_each_other_without_a_cycle() -> None:
    graph = {
        path.stem: {
            name.removeprefix("shared.alerting.")
            for name in _shared_imports(path)
            if name.startswith("shared.alerting.")
        }
        for path in PACKAGE.glob("*.py")
        if path.stem != "__init__"
    }
    done: set[str] = set()
    while len(done) < len(graph):
        ready = {name for name, needs in graph.items() if name not in done and needs <= done}
        assert ready, f"import cycle among {sorted(set(graph) - done)}"
        done |= ready
