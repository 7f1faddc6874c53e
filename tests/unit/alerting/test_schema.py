"""The committed JSON Schema matches the model, and every machine payload validates against it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from scripts import schema_export

from shared.alerting import DOCUMENT_PROTOCOLS, build_message
from tests.unit.alerting import samples


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    schema = json.loads(schema_export.SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def test_committed_schema_equals_the_generated_one() -> None:
    committed = schema_export.SCHEMA_PATH.read_text(encoding="utf-8")
    assert committed == schema_export.render_schema(), (
        "run `make schema` and commit schemas/alert.schema.json"
    )


def test_schema_declares_draft_2020_12() -> None:
    assert schema_export.alert_schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_check_mode_passes_on_the_committed_file() -> None:
    assert schema_export.main(["--check"]) == 0


@pytest.mark.parametrize("name", ["alert.schema.json", "cli-impact.schema.json", "cli-audit.schema.json"])
def test_check_mode_fails_on_a_stale_file(tmp_path: Path, name: str) -> None:
    # Given every schema written fresh, then one of them made stale
    assert schema_export.main(["--dir", str(tmp_path)]) == 0
    assert schema_export.main(["--check", "--dir", str(tmp_path)]) == 0
    (tmp_path / name).write_text("{}\n", encoding="utf-8")

    # Then the check fails
    assert schema_export.main(["--check", "--dir", str(tmp_path)]) == 1


def test_write_mode_writes_every_schema(tmp_path: Path) -> None:
    target = tmp_path / "schemas"
    assert schema_export.main(["--dir", str(target)]) == 0
    assert (target / "alert.schema.json").read_text(encoding="utf-8") == schema_export.render_schema()
    assert sorted(p.name for p in target.iterdir()) == [
        "alert.schema.json",
        "cli-audit-organization.schema.json",
        "cli-audit.schema.json",
        "cli-impact-organization.schema.json",
        "cli-impact.schema.json",
    ]


@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_every_machine_payload_validates(sample: str, validator: Draft202012Validator) -> None:
    bodies = json.loads(build_message(samples.SAMPLES[sample]())["Message"])
    for protocol in DOCUMENT_PROTOCOLS:
        document = json.loads(bodies[protocol])
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
        assert document["schema_version"] == "1"


def test_the_schema_rejects_an_unknown_field(validator: Draft202012Validator) -> None:
    document = samples.failed_access_denied().model_dump(mode="json")
    document["surprise"] = True
    assert not validator.is_valid(document)


def test_kind_lists_every_kind_the_responder_emits() -> None:
    from shared.document import ALERT_KINDS
    from shared.events import Kind

    assert set(ALERT_KINDS) == {kind.value for kind in Kind}
    schema = schema_export.alert_schema()
    assert set(schema["properties"]["kind"]["enum"]) == {kind.value for kind in Kind}
    assert set(schema["$defs"]["Severity"]["enum"]) == {"critical", "high", "medium", "low"}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("kind",), "alarm"),
        (("severity",), "urgent"),
        (("generated_at",), "yesterday"),
        (("event", "time"), "2026-11-29 03:11"),
        (("key", "deletion_date"), "Dec 6, 2026"),
    ],
)
def test_an_invalid_document_is_rejected(
    validator: Draft202012Validator, path: tuple[str, ...], value: str
) -> None:
    # Given a valid alert document with one value the documentation does not allow
    document = json.loads(samples.critical_scheduled_deletion().model_dump_json())
    assert validator.is_valid(document)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value

    # Then the schema rejects it
    assert not validator.is_valid(document)


def test_dates_are_declared_date_time() -> None:
    schema = schema_export.alert_schema()
    assert schema["properties"]["generated_at"]["format"] == "date-time"
    event_time = schema["$defs"]["EventSection"]["properties"]["time"]["anyOf"][0]
    assert event_time["format"] == "date-time"
