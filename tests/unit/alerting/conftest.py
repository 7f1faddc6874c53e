"""Fixtures for the alerting tests.

Golden files: ``tests/golden/<sample>.txt`` (``render_text``) and ``tests/golden/<sample>.chat.json``
(``render_chat``) hold the reviewed output for each document in ``samples.py``. After an intended
change to the rendering, regenerate them and review the diff before committing:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/alerting -q
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

GOLDEN_DIR = Path(__file__).resolve().parents[2] / "golden"


@pytest.fixture
def golden() -> Callable[[str, str], None]:
    """Compare ``actual`` with a golden file, or rewrite the file when UPDATE_GOLDEN=1."""

    def check(name: str, actual: str) -> None:
        path = GOLDEN_DIR / name
        if os.environ.get("UPDATE_GOLDEN") == "1":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(actual, encoding="utf-8")
            return
        assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review it"
        assert actual == path.read_text(encoding="utf-8"), (
            f"{name} differs from the golden file; if the change is intended, run with UPDATE_GOLDEN=1"
        )

    return check


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials and a region, so that no test can reach a real account."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    return
