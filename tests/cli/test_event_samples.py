"""Every sample in ``events/`` is realistic and runs through ``make demo ARGS="--event NAME"``."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from keyguard_cli.replay import not_routed
from tests.cli.conftest import ROOT, cli_env

EVENTS = sorted((Path(__file__).resolve().parents[2] / "events").glob("*.json"))


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.stem)
def test_a_cli_user_agent_names_the_samples_own_call(path: Path) -> None:
    event = json.loads(path.read_text(encoding="utf-8"))
    detail = event.get("detail", event)
    agent, name = detail.get("userAgent") or "", detail.get("eventName") or ""
    command = re.search(r"command/kms\.([a-z-]+)", agent)
    if command:
        assert command.group(1) == re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.stem)
def test_every_sample_runs_in_the_demo_and_an_unrouted_one_says_so(path: Path) -> None:
    # As `make demo ARGS="--event NAME --json-only"` runs it
    result = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "keyguard_cli.demo", "--event", path.stem, "--json-only"],
        env={**cli_env(None), "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("src", "cli"))},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    out, err = result.stdout, result.stderr
    assert result.returncode == 0, err
    if not_routed(json.loads(path.read_text(encoding="utf-8"))):
        assert out == ""
        assert "no alert, by design" in err
    elif out:
        assert json.loads(out)["alert_id"]
    else:
        assert "no alert, by design" in err
