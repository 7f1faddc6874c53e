"""Fixtures for the contract tests that hold template.yaml against the code."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import cfn_yaml


@pytest.fixture(scope="session")
def template() -> dict[str, Any]:
    return cfn_yaml.load()


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    return template["Resources"]
