"""Write (or check) the JSON Schemas of ``keyguard impact --json`` and ``keyguard audit --json``.

    python -m keyguard_cli.schema            # regenerate schemas/cli-*.schema.json
    python -m keyguard_cli.schema --check    # exit 1 when a committed schema is stale

The pydantic models are the source of truth (``ImpactDocument`` reuses the alert document's own
``KeySection`` and ``DependenciesSection``), so the impact schema follows the alert schema.
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

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS: dict[str, type[BaseModel]] = {
    "cli-impact.schema.json": ImpactDocument,
    "cli-audit.schema.json": AuditReport,
}


def schema_for(model: type[BaseModel]) -> dict[str, Any]:
    return {"$schema": DIALECT, **model.model_json_schema()}


def render(model: type[BaseModel]) -> str:
    return json.dumps(schema_for(model), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m keyguard_cli.schema", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="fail when a committed schema is stale")
    args = parser.parse_args(argv)
    stale = []
    for name, model in SCHEMAS.items():
        path = SCHEMAS_DIR / name
        text = render(model)
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"stale: {', '.join(stale)}; run python -m keyguard_cli.schema", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
