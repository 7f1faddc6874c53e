"""The function code's imports flow one way: handlers → shared, never back, and no loops.

Read from the source (``ast``), so a module that imports lazily inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
MAX_LINES = 450
DATA_MODULES = {"shared.dependencies.catalog"}  # declarative finder rows


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _imports(path: Path, package: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            names.add(f"{base}.{node.module}" if node.module else base)
    return names


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        graph[name] = {dep for dep in _imports(path, package) if dep in modules and dep != name}
    return graph


def test_shared_never_imports_handlers_or_the_command_line() -> None:
    for name, path in _modules().items():
        if name.startswith("shared"):
            package = name if path.name == "__init__.py" else name.rpartition(".")[0]
            outward = {
                dep
                for dep in _imports(path, package)
                if dep.startswith(("handlers", "keyguard_cli", "tests"))
            }
            assert not outward, f"{name} imports {sorted(outward)}"


def test_there_is_no_import_loop() -> None:
    graph = _graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            # A package's __init__ re-exporting its own submodules is not a loop.
            if dep.startswith(node + ".") or node.startswith(dep + "."):
                continue
            if state.get(dep) == 1:
                raise AssertionError("import loop: " + " -> ".join([*path, node, dep]))
            if dep not in state:
                visit(dep, [*path, node])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_no_module_is_over_450_lines_except_the_finder_catalog() -> None:
    for name, path in _modules().items():
        if name not in DATA_MODULES:
            lines = len(path.read_text(encoding="utf-8").splitlines())
            assert lines <= MAX_LINES, f"{name} has {lines} lines"
