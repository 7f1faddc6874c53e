"""Check what ``sam build`` put in each function's package, and say how big it is.

    python -m scripts.package_check .aws-sam/build     # after `make build`; exit 1 on a violation

A function package may hold the first-party code the functions import (``handlers/``, ``shared/``),
the ``requirements.txt`` it was built from, and the distributions that file installs. Anything
else of ours (the command line, the demo, tests, tooling) is a violation, and so is a development
distribution (moto, pytest, ...) or a first-party module that imports code the package does not
hold. The report gives each package's size, split into the AWS SDK (botocore and what it pulls in),
Powertools and pydantic, and our own code.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

FIRST_PARTY = frozenset({"handlers", "shared"})
ALLOWED_FILES = frozenset({"requirements.txt"})
# Distributions that belong to development or the command line, never to a function.
FORBIDDEN_DISTRIBUTIONS = frozenset({"moto", "pytest", "rich", "hypothesis", "jsonschema", "kms_keyguard"})
# Top-level modules a first-party module may not import: they are not in the package.
FORBIDDEN_IMPORTS = frozenset({"keyguard_cli", "tests", "scripts", "bench", "moto", "pytest"})
GROUPS: dict[str, frozenset[str]] = {
    "AWS SDK (botocore, urllib3, jmespath, dateutil, six)": frozenset(
        {"boto3", "botocore", "s3transfer", "urllib3", "jmespath", "python_dateutil", "six"}
    ),
    "Powertools + X-Ray SDK + wrapt": frozenset({"aws_lambda_powertools", "aws_xray_sdk", "wrapt"}),
    "pydantic (+ core, typing helpers)": frozenset(
        {"pydantic", "pydantic_core", "annotated_types", "typing_extensions", "typing_inspection"}
    ),
}


@dataclass
class Package:
    path: Path
    owner: dict[str, str] = field(default_factory=dict)  # top-level entry -> distribution

    @property
    def name(self) -> str:
        return self.path.name

    def entries(self) -> list[str]:
        return sorted(p.name for p in self.path.iterdir())


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _distribution(dist_info: Path) -> str:
    return dist_info.name.split("-", 1)[0].lower().replace("-", "_")


def read_package(path: Path) -> Package:
    """Which distribution installed each top-level entry (from the ``.dist-info`` RECORD files)."""
    package = Package(path)
    for dist_info in path.glob("*.dist-info"):
        dist = _distribution(dist_info)
        package.owner[dist_info.name] = dist
        record = dist_info / "RECORD"
        lines = record.read_text(encoding="utf-8").splitlines() if record.exists() else []
        for line in lines:
            top = line.split(",", 1)[0].split("/", 1)[0]
            if top and top != "..":
                package.owner.setdefault(top, dist)
    return package


def _imports(source: Path) -> Iterator[str]:
    tree = ast.parse(source.read_text(encoding="utf-8"), filename=str(source))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".", 1)[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".", 1)[0]


def _stray_bytecode(package: Package) -> list[str]:
    """The root ``__pycache__`` (``make build`` compiles the package) may hold only the bytecode of
    single-module distributions installed at the root, such as ``six.py``."""
    found = []
    for compiled in sorted((package.path / "__pycache__").iterdir()):
        module = compiled.name.split(".", 1)[0]
        if compiled.suffix != ".pyc" or f"{module}.py" not in package.owner:
            found.append(f"{package.name}/__pycache__/{compiled.name}: not the bytecode of a shipped module")
    return found


def violations(package: Package) -> list[str]:
    found = []
    for entry in package.entries():
        if entry in package.owner:
            dist = package.owner[entry]
            if dist in FORBIDDEN_DISTRIBUTIONS:
                found.append(f"{package.name}/{entry}: {dist} is not a runtime dependency")
        elif entry == "__pycache__":
            found += _stray_bytecode(package)
        elif entry not in FIRST_PARTY | ALLOWED_FILES:
            found.append(f"{package.name}/{entry}: not function code (only {sorted(FIRST_PARTY)} may ship)")
    for top in sorted(FIRST_PARTY):
        if not (package.path / top).is_dir():
            found.append(f"{package.name}/{top}: missing")
            continue
        for source in sorted((package.path / top).rglob("*.py")):
            relative = source.relative_to(package.path)
            if "tests" in relative.parts or source.name.startswith("test_"):
                found.append(f"{package.name}/{relative}: test code")
            for module in sorted(set(_imports(source)) & FORBIDDEN_IMPORTS):
                found.append(f"{package.name}/{relative}: imports {module}, which the function does not hold")
    return found


def sizes(package: Package) -> dict[str, int]:
    """Bytes (apparent size, as Lambda counts the unzipped package) per group and for our own code."""
    result = {group: 0 for group in GROUPS} | {"other distributions": 0, "own code": 0}
    for entry in package.entries():
        size = _size(package.path / entry)
        dist = package.owner.get(entry)
        if dist is None:
            result["own code"] += size
            continue
        group = next((g for g, members in GROUPS.items() if dist in members), "other distributions")
        result[group] += size
    return result


def _mb(size: int) -> str:
    return f"{size / 1_000_000:5.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.package_check", description=__doc__.splitlines()[0]
    )
    parser.add_argument("build_dir", type=Path, help="sam build's output directory (.aws-sam/build)")
    args = parser.parse_args(argv)
    functions = sorted(p for p in args.build_dir.iterdir() if p.is_dir()) if args.build_dir.is_dir() else []
    if not functions:
        sys.stderr.write(f"{args.build_dir}: no built functions; run `make build` first\n")
        return 1
    problems: list[str] = []
    for path in functions:
        package = read_package(path)
        problems += violations(package)
        split = sizes(package)
        sys.stdout.write(f"{package.name}: {_mb(sum(split.values()))}\n")
        for group, size in split.items():
            sys.stdout.write(f"    {_mb(size)}  {group}\n")
    for problem in problems:
        sys.stderr.write(f"package check: {problem}\n")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
