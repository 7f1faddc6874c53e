"""Write (or check) ``schemas/alert.schema.json`` from the ``AlertDocument`` model.

    python -m shared.schema_export            # regenerate the committed schema
    python -m shared.schema_export --check    # exit 1 when the committed schema is stale

The model is the source of truth; the file exists so that consumers of the ``sqs``/``lambda``
payloads can validate alerts without importing this package.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from shared.document import SCHEMA_VERSION, AlertDocument

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "schemas" / "alert.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


def alert_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the alert document, as pydantic generates it.

    Validation mode: a field with a default is optional, as it is for ``AlertDocument`` itself.
    """
    schema = AlertDocument.model_json_schema()
    schema["description"] = f"kms-keyguard alert document, schema_version {SCHEMA_VERSION!r}"
    return {"$schema": DIALECT, **schema}


def render_schema() -> str:
    return json.dumps(alert_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m shared.schema_export", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--check", action="store_true", help="fail if the committed schema is out of date")
    parser.add_argument("--path", type=Path, default=SCHEMA_PATH, help="schema file (default: %(default)s)")
    args = parser.parse_args(argv)
    expected = render_schema()
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != expected:
            sys.stderr.write(f"{args.path} is out of date: run `make schema` and commit the result\n")
            return 1
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(expected, encoding="utf-8")
    sys.stdout.write(f"wrote {args.path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
