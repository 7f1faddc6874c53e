"""The SNS message: one body per protocol, a safe subject, attributes, and SNS's size limit."""

from __future__ import annotations

import json
import re

import pytest
from jsonschema import Draft202012Validator
from scripts import schema_export

from shared.alerting import (
    DOCUMENT_PROTOCOLS,
    SNS_MAX_BYTES,
    build_message,
    fit_document,
    message_size,
    render_chat,
    render_subject,
    render_text,
)
from shared.document import AlertDocument, GrantItem, UncheckedFinder, UsagePrincipal
from shared.errors import AlertDeliveryError
from tests.unit.alerting import samples

PROTOCOLS = {"default", "email", "https", *DOCUMENT_PROTOCOLS}


def _bodies(message: dict) -> dict[str, str]:
    return json.loads(message["Message"])


def _huge_document(items: int = 10_000) -> AlertDocument:
    doc = samples.critical_scheduled_deletion()
    deps = doc.dependencies
    deps.items = samples._items(items)
    deps.total = items
    deps.counts = samples._counts(deps.items)
    doc.key.tags = {f"tag-{n:02d}": "\U0001f525" * 20_000 for n in range(50)}
    doc.key.description = "D" * 100_000
    deps.grants = [GrantItem(grant_id=f"{n:064x}", operations=["Decrypt"] * 20) for n in range(3_000)]
    deps.unchecked = [UncheckedFinder(finder=f"finder-{n}", reason="x" * 5_000) for n in range(500)]
    assert deps.usage is not None
    deps.usage.principals = [
        UsagePrincipal(
            principal=f"role/app-{n}",
            calls=n,
            encryption_context=["aws:s3:arn=arn:aws:s3:::bucket/" + "k" * 200] * 10,
        )
        for n in range(2_000)
    ]
    return doc


# ----- structure ---------------------------------------------------------------------------------
@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_message_has_a_body_for_every_protocol(sample: str) -> None:
    doc = samples.SAMPLES[sample]()
    message = build_message(doc)
    assert message["MessageStructure"] == "json"
    assert "TopicArn" not in message
    bodies = _bodies(message)
    assert set(bodies) == PROTOCOLS
    assert bodies["default"] == bodies["email"] == render_text(doc)
    assert json.loads(bodies["https"]) == render_chat(doc)
    for protocol in DOCUMENT_PROTOCOLS:
        assert AlertDocument.model_validate_json(bodies[protocol]) == doc


def test_machine_payload_keeps_original_values() -> None:
    doc = samples.hostile_input()
    restored = AlertDocument.model_validate_json(_bodies(build_message(doc))["sqs"])
    assert restored.key.tags == doc.key.tags
    assert restored.actor.user_agent == doc.actor.user_agent


def test_lone_surrogates_are_replaced_so_the_message_is_valid_utf8() -> None:
    doc = samples.failed_access_denied()
    doc.key.tags = {"bad": "half \ud83d pair", "nonchar": "\uffff"}
    message = build_message(doc)
    message["Message"].encode("utf-8")
    assert "\uffff" not in message["Message"]
    restored = AlertDocument.model_validate_json(_bodies(message)["sqs"])
    assert restored.key.tags == {"bad": "half \ufffd pair", "nonchar": "\uffff"}


# ----- subject -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sample", "subject"),
    [
        (
            "critical_scheduled_deletion",
            "[CRITICAL] 111122223333 eu-west-1: alias/prod-db scheduled for deletion (7d), 12 dependents",
        ),
        (
            "enforce_cancelled",
            "[HIGH] 111122223333 eu-west-1: alias/prod-db deletion CANCELLED, "
            "key left Disabled, 12 dependents",
        ),
        (
            "enforce_failed",
            "[CRITICAL] 111122223333 eu-west-1: alias/prod-db cancel FAILED (AccessDenied), 5 dependents",
        ),
        (
            "failed_access_denied",
            "[LOW] 111122223333 eu-west-1: alias/prod-db ScheduleKeyDeletion "
            "FAILED (AccessDenied), 0 dependents",
        ),
        (
            "unreadable_key",
            "[HIGH] 111122223333 eu-west-1: 1234abcd-... scheduled for deletion "
            "(unverified), dependents unknown",
        ),
        (
            "pending_replica_deletion",
            "[HIGH] 111122223333 us-east-1: alias/globa... scheduled for deletion "
            "(after replicas), 3 dependents",
        ),
        (
            "disabled_key_dry_run",
            "[MEDIUM] 111122223333 eu-west-1: 1234abcd-12ab-34cd-56ef-1234567890ab disabled, >=2 dependents",
        ),
        ("resolved", "[LOW] 111122223333 eu-west-1: alias/prod-db resolved: re-enabled, key Enabled"),
        (
            "still_disabled_follow_up",
            "[MEDIUM] 111122223333 eu-west-1: alias/prod-db deletion cancelled, key still Disabled",
        ),
    ],
)
def test_subject(sample: str, subject: str) -> None:
    assert render_subject(samples.SAMPLES[sample]()) == subject


@pytest.mark.parametrize(
    "label",
    [
        "alias/" + "x" * 300,
        "alias/caf\u00e9-\u4e2d\u6587-\U0001f525",
        "alias/line\nbreak\r\n[CRITICAL] forged",
        "alias/\u202eevil\u200b",
        "\x1b[31m",
    ],
)
def test_subject_is_one_ascii_line_under_100_chars(label: str) -> None:
    doc = samples.critical_scheduled_deletion()
    doc.key.aliases = [label]
    subject = build_message(doc)["Subject"]
    assert len(subject) < 100
    assert re.fullmatch(r"[ -~]+", subject), subject
    assert subject.startswith("[CRITICAL] 111122223333 eu-west-1: ")  # the alias is shortened first
    assert subject.endswith("scheduled for deletion (7d), 12 dependents")


# ----- attributes --------------------------------------------------------------------------------
def test_message_attributes_for_filter_policies() -> None:
    attributes = build_message(samples.critical_scheduled_deletion())["MessageAttributes"]
    assert attributes == {
        "severity": {"DataType": "String", "StringValue": "critical"},
        "event_name": {"DataType": "String", "StringValue": "ScheduleKeyDeletion"},
        "account": {"DataType": "String", "StringValue": samples.ACCOUNT},
        "region": {"DataType": "String", "StringValue": samples.REGION},
    }


def test_empty_attributes_are_left_out() -> None:
    doc = samples.critical_scheduled_deletion()
    doc.event.account = None
    doc.event.region = ""
    assert set(build_message(doc)["MessageAttributes"]) == {"severity", "event_name"}


# ----- size --------------------------------------------------------------------------------------
def test_message_size_counts_message_subject_and_attributes() -> None:
    message = {
        "Message": "\u00e9" * 10,
        "Subject": "abc",
        "MessageAttributes": {"sev": {"DataType": "String", "StringValue": "low"}},
    }
    assert message_size(message) == 20 + 3 + 3 + 6 + 3


def test_a_normal_alert_is_not_trimmed() -> None:
    doc = samples.critical_scheduled_deletion()
    restored = AlertDocument.model_validate_json(_bodies(build_message(doc))["sqs"])
    assert restored == doc
    assert restored.dependencies.items_omitted == 0


def test_ten_thousand_dependencies_and_huge_values_fit_in_one_sns_message() -> None:
    doc = _huge_document()
    message = build_message(doc)
    assert message_size(message) <= SNS_MAX_BYTES
    bodies = _bodies(message)
    restored = AlertDocument.model_validate_json(bodies["sqs"])
    deps = restored.dependencies
    assert deps.total == 10_000
    assert deps.counts == doc.dependencies.counts
    assert len(deps.items) + deps.items_omitted == 10_000
    assert len(deps.grants) + deps.grants_omitted == 3_000
    assert deps.usage is not None
    assert len(deps.usage.principals) + deps.usage.principals_omitted == 2_000
    omitted_note = next(n for n in restored.notes if "dependency items omitted" in n)
    assert omitted_note.startswith(f"{deps.items_omitted} dependency items omitted to fit the SNS size limit")
    assert omitted_note in bodies["default"]
    assert restored.next_steps == doc.next_steps
    assert restored.key.arn == doc.key.arn
    assert (
        bodies["default"]
        .splitlines()[0]
        .startswith("CRITICAL 111122223333 eu-west-1: key alias/prod-db scheduled for deletion")
    )
    assert "10000 dependent resources" in bodies["default"].splitlines()[0]
    schema = json.loads(schema_export.SCHEMA_PATH.read_text(encoding="utf-8"))
    assert Draft202012Validator(schema).is_valid(json.loads(bodies["sqs"]))


def test_trimming_drops_items_before_anything_else() -> None:
    doc = samples.critical_scheduled_deletion()
    doc.dependencies.items = samples._items(3_000)
    doc.dependencies.total = 3_000
    fitted = fit_document(doc, 1)
    assert len(fitted.dependencies.items) == 2_000
    assert fitted.dependencies.items_omitted == 1_000
    assert fitted.key == doc.key
    assert fitted.notes[-1].startswith("1000 dependency items omitted")


def test_items_already_omitted_by_the_responder_are_kept_in_the_count() -> None:
    doc = samples.critical_scheduled_deletion()
    doc.dependencies.items = samples._items(3_000)
    doc.dependencies.items_omitted = 500
    assert fit_document(doc, 1).dependencies.items_omitted == 1_500


def test_an_alert_that_cannot_fit_raises_instead_of_being_dropped() -> None:
    doc = samples.critical_scheduled_deletion()
    doc.next_steps = ["aws kms enable-key " + "x" * 1_000] * 500  # responder-written, never trimmed
    with pytest.raises(AlertDeliveryError, match="does not fit"):
        build_message(doc)


def test_a_smaller_budget_trims_further() -> None:
    doc = samples.critical_scheduled_deletion()
    message = build_message(doc, max_bytes=30_000)
    assert message_size(message) <= 30_000
    restored = AlertDocument.model_validate_json(_bodies(message)["sqs"])
    assert restored.dependencies.items_omitted > 0
