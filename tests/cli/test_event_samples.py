"""Every sample in ``events/`` is realistic and runs through ``make demo ARGS="--event NAME"``."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from keyguard_cli.demo.__main__ import main as demo_main
from keyguard_cli.replay import not_routed
from tests.cli.conftest import ROOT, cli_env
from tests.support.process_state import restored_process_state

EVENTS = sorted((Path(__file__).resolve().parents[2] / "events").glob("*.json"))


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.stem)
def test_a_cli_user_agent_names_the_samples_own_call(path: Path) -> None:
    event = json.loads(path.read_text(encoding="utf-8"))
    detail = event.get("detail", event)
    agent, name = detail.get("userAgent") or "", detail.get("eventName") or ""
    command = re.search(r"command/kms\.([a-z-]+)", agent)
    if command:
        assert command.group(1) == re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()


def _demo(argv: list[str]) -> tuple[int, str, str]:
    """``python -m keyguard_cli.demo ARGS`` in this process (the smoke test below runs it for real)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with restored_process_state(), contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = demo_main(argv)
    return code, stdout.getvalue(), stderr.getvalue()


@pytest.mark.parametrize("path", EVENTS, ids=lambda p: p.stem)
def test_every_sample_runs_in_the_demo_and_an_unrouted_one_says_so(path: Path) -> None:
    # As `make demo ARGS="--event NAME --json-only"` runs it
    code, out, err = _demo(["--event", path.stem, "--json-only"])
    assert code == 0, err
    if not_routed(json.loads(path.read_text(encoding="utf-8"))):
        assert out == ""
        assert "no alert, by design" in err
    elif out:
        assert json.loads(out)["alert_id"]
    else:
        assert "no alert, by design" in err


def test_the_demo_module_prints_one_json_document_on_stdout() -> None:
    # One real process, as `make demo ARGS="--event disable_key --json-only" | jq .` runs it
    result = subprocess.run(
        [sys.executable, "-m", "keyguard_cli.demo", "--event", "disable_key", "--json-only"],
        env={**cli_env(None), "PYTHONPATH": os.pathsep.join(str(ROOT / d) for d in ("src", "cli"))},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["event"]["name"] == "DisableKey"
