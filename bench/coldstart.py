"""Cold start of the responder on Python 3.13: handler import and first client, with and without
compiled bytecode in the package (``python -m bench.coldstart``; ``make bench`` runs it).

Lambda's ``/var/task`` is read-only, so a package without ``__pycache__`` compiles every module in
memory on every cold start. ``make build`` therefore compiles the built package
(``compileall --invalidation-mode unchecked-hash``: the zip's 2-second timestamps would otherwise
make timestamp-checked bytecode look stale). This measures the difference on this machine's
Python 3.13 (x86_64; the function runs on arm64, so the deployed package, with arm64 wheels, cannot
be imported here): the function's code and its bundled requirements are installed for 3.13 into a
scratch directory, boto3 beside it already compiled (Lambda's runtime provides it), and each
variant is imported by fresh interpreters that may not write bytecode, as in Lambda.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5
PROBE = """
import json, time
started = time.perf_counter()
import handlers.key_events
imported = time.perf_counter()
from shared.aws import ClientFactory
ClientFactory().client("kms", "us-east-1")
client = time.perf_counter()
print(json.dumps({"import": imported - started, "first_client": client - imported}))
"""


def python313() -> Path | None:
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S607
    candidate = Path(root) / "versions" / "3.13.0" / "bin" / "python3.13"
    return candidate if candidate.exists() else None


def _install(python: Path, target: Path, requirements: list[str]) -> None:
    uv = ROOT / ".venv" / "bin" / "uv"
    subprocess.run(  # noqa: S603  # fixed arguments
        [
            str(uv),
            "pip",
            "install",
            "--quiet",
            "--python",
            str(python),
            "--target",
            str(target),
            *requirements,
        ],
        check=True,
    )


def _compile(python: Path, directory: Path) -> None:
    subprocess.run(  # noqa: S603
        [
            str(python),
            "-m",
            "compileall",
            "-q",
            "-f",
            "--invalidation-mode",
            "unchecked-hash",
            str(directory),
        ],
        check=False,
    )


def _strip(directory: Path) -> None:
    for cache in directory.rglob("__pycache__"):
        shutil.rmtree(cache)


def _measure(python: Path, task: Path, runtime: Path) -> dict[str, float]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "PYTHONPATH": f"{task}:{runtime}",
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_ACCESS_KEY_ID": "coldstart",
        "AWS_SECRET_ACCESS_KEY": "coldstart",
        "AWS_DEFAULT_REGION": "us-east-1",
        "LAMBDA_TASK_ROOT": str(task),
        "AWS_LAMBDA_FUNCTION_NAME": "kms-keyguard-coldstart",
        "_X_AMZN_TRACE_ID": "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "POWERTOOLS_SERVICE_NAME": "kms-keyguard",
        "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:coldstart",
    }
    samples: list[dict[str, float]] = []
    for _ in range(RUNS):
        out = subprocess.run(  # noqa: S603
            [str(python), "-c", PROBE], env=env, capture_output=True, text=True, check=True, cwd=task
        )
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: round(statistics.median(s[key] for s in samples), 3) for key in ("import", "first_client")}


def measure() -> dict[str, Any]:
    python = python313()
    if python is None:
        return {"measured": False, "why": "Python 3.13 (pyenv 3.13.0) not found"}
    requirements = [
        line.strip()
        for line in (ROOT / "src" / "requirements.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    boto3 = next(
        d.strip(' ",')
        for d in (ROOT / "pyproject.toml").read_text(encoding="utf-8").splitlines()
        if '"boto3==' in d
    )
    with tempfile.TemporaryDirectory(prefix="kms-keyguard-coldstart-") as scratch:
        task, runtime = Path(scratch) / "task", Path(scratch) / "runtime"
        shutil.copytree(ROOT / "src", task, ignore=shutil.ignore_patterns("__pycache__", "keyguard_cli"))
        _install(python, task, requirements)
        _install(python, runtime, [boto3])
        _compile(python, runtime)  # the runtime's boto3 comes compiled
        _strip(task)
        without = _measure(python, task, runtime)
        _compile(python, task)
        with_bytecode = _measure(python, task, runtime)
    version = subprocess.run([str(python), "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    return {
        "measured": True,
        "python": version.strip(),
        "runs": RUNS,
        "statistic": "median of fresh interpreters, bytecode writing off (as in /var/task)",
        "handler_import_seconds": {
            "without_bytecode": without["import"],
            "with_bytecode": with_bytecode["import"],
        },
        "first_client_seconds": {
            "without_bytecode": without["first_client"],
            "with_bytecode": with_bytecode["first_client"],
        },
    }


def main() -> int:
    result = measure()
    print(json.dumps(result, indent=2))
    return 0 if result.get("measured") else 1


if __name__ == "__main__":
    sys.exit(main())
