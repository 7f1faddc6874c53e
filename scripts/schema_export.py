"""Write (or check) the committed JSON Schemas from the pydantic models that produce the documents.

    python -m scripts.schema_export            # regenerate schemas/*.schema.json (``make schema``)
    python -m scripts.schema_export --check    # exit 1 when a committed schema is stale

The models are the source of truth: ``AlertDocument`` for the alert the functions publish,
``ImpactDocument``, ``AuditReport``, ``OrganizationReport`` and ``OrganizationImpact`` for
``keyguard impact --json``, ``keyguard audit --json``, ``keyguard audit --organization --json`` and
``keyguard impact --organization --json``
(the impact document reuses the alert's ``KeySection`` and ``DependenciesSection``, so it follows the
alert schema). The files exist so that consumers can validate documents without importing this
project. This is development tooling: it lives outside ``src/`` so the functions never ship it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from keyguard_cli.audit import AuditReport
from keyguard_cli.impact import ImpactDocument
from keyguard_cli.org_impact import OrganizationImpact
from keyguard_cli.organization import OrganizationReport
from shared.document import SCHEMA_VERSION, AlertDocument

SCHEMAS_DIR = Path(__file__).resolve().parent.parent / "schemas"
SCHEMA_PATH = SCHEMAS_DIR / "alert.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
CLI_MODELS: dict[str, type[BaseModel]] = {
    "cli-impact.schema.json": ImpactDocument,
    "cli-audit.schema.json": AuditReport,
    "cli-audit-organization.schema.json": OrganizationReport,
    "cli-impact-organization.schema.json": OrganizationImpact,
}


def _render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def alert_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the alert document, as pydantic generates it.

    Validation mode: a field with a default is optional, as it is for ``AlertDocument`` itself.
    """
    schema = AlertDocument.model_json_schema()
    schema["description"] = f"kms-keyguard alert document, schema_version {SCHEMA_VERSION!r}"
    return {"$schema": DIALECT, **schema}


def render_schema() -> str:
    """The alert schema as committed."""
    return _render(alert_schema())


def rendered(directory: Path = SCHEMAS_DIR) -> dict[Path, str]:
    """Every schema file under ``directory`` and the text it must hold."""
    files = {directory / SCHEMA_PATH.name: render_schema()}
    for name, model in CLI_MODELS.items():
        files[directory / name] = _render({"$schema": DIALECT, **model.model_json_schema()})
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.schema_export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="fail when a committed schema is stale")
    parser.add_argument(
        "--dir", type=Path, default=SCHEMAS_DIR, help="schema directory (default: %(default)s)"
    )
    args = parser.parse_args(argv)
    files = rendered(args.dir)
    if args.check:
        stale = [
            path.name
            for path, text in files.items()
            if not path.exists() or path.read_text(encoding="utf-8") != text
        ]
        if stale:
            sys.stderr.write(f"stale: {', '.join(stale)}; run `make schema` and commit the result\n")
            return 1
        return 0
    args.dir.mkdir(parents=True, exist_ok=True)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
