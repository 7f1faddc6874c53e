"""What the functions ship: template.yaml's CodeUri holds only function code, and the check that
``make test`` runs on the built packages (``scripts/package_check.py``) tells a clean package from
one carrying the command line, the demo, tests or development dependencies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from scripts import package_check

from tests.support.cfn_yaml import TEMPLATE_PATH, of_type

ROOT = TEMPLATE_PATH.parent
FUNCTION_CODE = {"handlers", "shared", "requirements.txt"}


def test_every_function_is_built_from_src(template: dict[str, Any], resources: dict[str, Any]) -> None:
    assert template["Globals"]["Function"]["CodeUri"] == "src/"
    for name, function in of_type(resources, "AWS::Serverless::Function").items():
        assert "CodeUri" not in function["Properties"], name


def test_src_holds_only_what_the_functions_import() -> None:
    entries = {p.name for p in (ROOT / "src").iterdir() if p.name != "__pycache__"}
    entries = {e for e in entries if not e.endswith(".egg-info")}  # a local editable install's
    assert entries == FUNCTION_CODE


def _dist(root: Path, name: str, top: str) -> None:
    (root / top).mkdir()
    (root / top / "__init__.py").write_text("")
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(f"{top}/__init__.py,,\n{info.name}/RECORD,,\n")


@pytest.fixture
def package(tmp_path: Path) -> Path:
    """A built function as sam build lays it out: our code, its requirements, one distribution."""
    function = tmp_path / "KeyEventsFunction"
    for top in ("handlers", "shared"):
        (function / top).mkdir(parents=True)
        (function / top / "__init__.py").write_text("from shared.config import Settings\n")
    (function / "requirements.txt").write_text("pydantic\n")
    _dist(function, "pydantic", "pydantic")
    return function


def test_a_package_of_function_code_and_its_requirements_passes(package: Path) -> None:
    assert package_check.main([str(package.parent)]) == 0


def _cli(function: Path) -> None:
    (function / "keyguard_cli").mkdir()
    (function / "keyguard_cli" / "__init__.py").write_text("")


def _tests(function: Path) -> None:
    (function / "tests").mkdir()


def _test_module(function: Path) -> None:
    (function / "shared" / "test_policy.py").write_text("")


def _demo_import(function: Path) -> None:
    (function / "shared" / "helpers.py").write_text("from keyguard_cli.demo.emulation import MOTO_LACKS\n")


def _moto(function: Path) -> None:
    _dist(function, "moto", "moto")


def _single_module(function: Path, name: str = "six") -> None:
    """A distribution installed as one module at the root, compiled by ``make build``."""
    (function / f"{name}.py").write_text("")
    info = function / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "RECORD").write_text(f"{name}.py,,\n{info.name}/RECORD,,\n")
    (function / "__pycache__").mkdir(exist_ok=True)
    (function / "__pycache__" / f"{name}.cpython-313.pyc").write_bytes(b"")


def _stray_bytecode(function: Path) -> None:
    (function / "__pycache__").mkdir()
    (function / "__pycache__" / "keyguard_cli.cpython-313.pyc").write_bytes(b"")


def test_the_bytecode_of_a_shipped_root_module_passes(package: Path) -> None:
    _single_module(package)

    assert package_check.main([str(package.parent)]) == 0


def _no_shared(function: Path) -> None:
    for path in sorted((function / "shared").iterdir()):
        path.unlink()
    (function / "shared").rmdir()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_cli, "keyguard_cli: not function code"),
        (_tests, "tests: not function code"),
        (_test_module, "shared/test_policy.py: test code"),
        (_demo_import, "shared/helpers.py: imports keyguard_cli"),
        (_moto, "moto is not a runtime dependency"),
        (_no_shared, "shared: missing"),
        (_stray_bytecode, "keyguard_cli.cpython-313.pyc: not the bytecode of a shipped module"),
    ],
    ids=["cli", "tests", "test-module", "demo-import", "moto", "no-shared", "stray-bytecode"],
)
def test_anything_else_fails_the_check(
    package: Path, capsys: pytest.CaptureFixture[str], change: Callable[[Path], None], reason: str
) -> None:
    change(package)

    assert package_check.main([str(package.parent)]) == 1
    assert reason in capsys.readouterr().err


def test_no_build_fails_the_check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert package_check.main([str(tmp_path / "missing")]) == 1
    assert "run `make build` first" in capsys.readouterr().err


def test_the_report_splits_the_size(package: Path, capsys: pytest.CaptureFixture[str]) -> None:
    package_check.main([str(package.parent)])
    report = capsys.readouterr().out
    assert report.startswith("KeyEventsFunction:")
    for group in ("AWS SDK", "Powertools", "pydantic", "own code"):
        assert group in report
