"""The Lambda package (src/requirements.txt, bundled by `sam build`) carries one consistent AWS SDK.

The Lambda Python runtime ships its own boto3/botocore, whose version AWS changes without notice; the
package therefore bundles boto3, botocore and s3transfer, pinned together with every transitive
dependency and its hashes (pip switches to --require-hashes mode when a requirement has a hash),
compiled for the target platform from pyproject.toml with `uv pip compile`.
"""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from tests.support.cfn_yaml import TEMPLATE_PATH, load

ROOT = TEMPLATE_PATH.parent
LOCK = ROOT / "src" / "requirements.txt"
SDK = ("boto3", "botocore", "s3transfer")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, tuple[Version, int]]:
    """name -> (pinned version, number of hashes)."""
    pins: dict[str, tuple[Version, int]] = {}
    name = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line.startswith(" "):
            requirement = line.split(" \\")[0].strip()
            assert "==" in requirement, f"not pinned: {requirement}"
            name, version = requirement.split("==")
            name = _canonical(name.split("[")[0])
            pins[name] = (Version(version), 0)
        elif "--hash=sha256:" in line and name:
            pins[name] = (pins[name][0], pins[name][1] + 1)
    return pins


def test_every_locked_requirement_is_pinned_with_hashes() -> None:
    pins = locked()
    assert pins
    for name, (_, hashes) in pins.items():
        assert hashes >= 1, f"{name} has no hash: pip --require-hashes would refuse the file"


def test_the_lock_is_compiled_for_the_lambda_runtime_and_architecture() -> None:
    template = load()
    assert template["Globals"]["Function"]["Runtime"] == "python3.13"
    assert template["Globals"]["Function"]["Architectures"] == ["arm64"]
    header = LOCK.read_text(encoding="utf-8").splitlines()[:3]
    command = " ".join(header)
    for part in ("uv pip compile pyproject.toml", "--generate-hashes", "--python-version 3.13"):
        assert part in command
    assert "--python-platform aarch64-manylinux" in command


def test_the_lock_holds_every_runtime_dependency_of_the_project() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    pins = locked()
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = _canonical(requirement.name)
        assert name in pins, f"{name} is not in src/requirements.txt"
        assert requirement.specifier.contains(pins[name][0]), f"{name} {pins[name][0]} is not {requirement}"


@pytest.mark.parametrize("name", SDK)
def test_the_whole_sdk_is_bundled(name: str) -> None:
    assert name in locked()


def test_the_sdk_parts_are_pinned_together() -> None:
    # boto3's own requirements decide which botocore and s3transfer it works with; read them from
    # the installed boto3, which is the pinned one.
    pins = locked()
    assert Version(metadata.version("boto3")) == pins["boto3"][0], "the test environment runs another boto3"
    for package in ("boto3", "s3transfer"):
        for spec in metadata.requires(package) or []:
            requirement = Requirement(spec)
            if requirement.marker is not None or _canonical(requirement.name) not in SDK:
                continue
            pinned = pins[_canonical(requirement.name)][0]
            assert requirement.specifier.contains(pinned, prereleases=True), f"{package} needs {requirement}"
