"""A bad environment never crashes the command line with a traceback.

``AWS_PROFILE`` naming a profile that does not exist used to crash every command (``--help``
included) at import time: importing the X-Ray SDK built an X-Ray client from the environment.
Each command now either works (``--help``, the embedded demo) or fails with the documented
one-line error and exit code (``docs/cli.md``: 6, no credentials).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keyguard_cli.errors import ExitCode
from tests.cli.conftest import cli_env, run_cli_process

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    return cli_env(None, AWS_PROFILE="does-not-exist")


@pytest.mark.parametrize(
    "args",
    [
        ("audit",),
        ("impact", "alias/prod-db"),
        ("replay", str(ROOT / "events" / "disable_key.json")),
    ],
)
def test_a_missing_profile_is_a_one_line_error_with_its_exit_code(args: tuple[str, ...]) -> None:
    result = run_cli_process(*args, env=_env())

    assert result.returncode == ExitCode.NO_CREDENTIALS, result.stderr
    assert result.stderr == "keyguard: AWS profile not found: does-not-exist\n"
    assert "Traceback" not in result.stderr


def test_help_works_with_a_missing_profile() -> None:
    result = run_cli_process("--help", env=_env())

    assert result.returncode == 0, result.stderr
    assert "usage: keyguard" in result.stdout
    assert result.stderr == ""


def test_the_demo_works_with_a_missing_profile() -> None:
    result = run_cli_process(
        "replay", "--demo", "--json", str(ROOT / "events" / "disable_key.json"), env=_env()
    )

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
