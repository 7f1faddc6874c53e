"""The protocol table decides which renderer writes each SNS protocol's body."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.alerting import DOCUMENT_PROTOCOLS, PROTOCOL_RENDERERS, Rendering, build_message, message_size
from shared.alerting.chat import chat_body
from shared.alerting.common import DEFAULT_LIMITS
from shared.alerting.protocols import document_body
from shared.alerting.text import text_body
from shared.document import AlertDocument
from tests.unit.alerting import samples


def _bodies(message: dict[str, Any]) -> dict[str, str]:
    return json.loads(message["Message"])


class _Recorder:
    """A renderer that writes a fixed body and keeps what it was given."""

    def __init__(self, body: str) -> None:
        self.body = body
        self.seen: list[Rendering] = []

    def __call__(self, rendering: Rendering) -> str:
        self.seen.append(rendering)
        return self.body


def test_the_table_names_the_renderer_of_every_protocol() -> None:
    assert {
        "default": text_body,
        "email": text_body,
        "sqs": document_body,
        "lambda": document_body,
        "email-json": document_body,
        "firehose": document_body,
        "https": chat_body,
    } == PROTOCOL_RENDERERS
    assert DOCUMENT_PROTOCOLS == ("sqs", "lambda", "email-json", "firehose")


def test_a_renderer_registered_in_the_table_writes_that_protocols_body(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the message as the table builds it today, and a fake chat renderer in the table
    doc = samples.critical_scheduled_deletion()
    before_table = dict(PROTOCOL_RENDERERS)
    before = build_message(doc)
    fake = _Recorder("a fake chat card")
    monkeypatch.setitem(PROTOCOL_RENDERERS, "https", fake)

    # When the message is built
    bodies = _bodies(build_message(doc))

    # Then only the https body changes, and it is the fake's
    assert bodies["https"] == "a fake chat card"
    assert {p: b for p, b in bodies.items() if p != "https"} == {
        p: b for p, b in _bodies(before).items() if p != "https"
    }
    assert len(fake.seen) == 1

    # And once the registration is undone the table and the message are as they were
    monkeypatch.undo()
    assert before_table == PROTOCOL_RENDERERS
    assert build_message(doc) == before


def test_a_new_channel_is_one_more_row() -> None:
    # Given the table with one more protocol
    doc = samples.failed_access_denied()
    before_table = dict(PROTOCOL_RENDERERS)
    sms = _Recorder("KMS key alert")

    # When the message is built with it
    bodies = _bodies(build_message(doc, renderers={**PROTOCOL_RENDERERS, "sms": sms}))

    # Then the new protocol has its body, the others are untouched, and the shared table is unchanged
    assert bodies["sms"] == "KMS key alert"
    assert {p: b for p, b in bodies.items() if p != "sms"} == _bodies(build_message(doc))
    assert before_table == PROTOCOL_RENDERERS


def test_a_renderer_that_serves_several_protocols_runs_once() -> None:
    text = _Recorder("plain")
    bodies = _bodies(
        build_message(
            samples.unreadable_key(), renderers={"default": text, "email": text, "sqs": document_body}
        )
    )
    assert bodies == {"default": "plain", "email": "plain", "sqs": bodies["sqs"]}
    assert len(text.seen) == 1


def test_a_renderer_is_given_the_trimmed_alert_machines_receive() -> None:
    # Given an alert too large for the budget, so that it is trimmed
    doc = samples.critical_scheduled_deletion()
    doc.dependencies.items = samples._items(2_000)
    doc.dependencies.total = 2_000
    doc.dependencies.counts = samples._counts(doc.dependencies.items)
    chat = _Recorder("card")

    # When the message is built
    message = build_message(doc, 60_000, renderers={**PROTOCOL_RENDERERS, "https": chat})

    # Then the renderer saw the same trimmed alert that the document subscribers get
    (rendering,) = chat.seen
    sqs = _bodies(message)["sqs"]
    assert rendering.document_json == sqs
    assert rendering.doc == AlertDocument.model_validate_json(sqs)
    assert len(rendering.doc.dependencies.items) < 2_000
    assert rendering.limits != DEFAULT_LIMITS


def test_a_table_with_no_document_rows_still_fits_the_budget() -> None:
    doc = samples.critical_scheduled_deletion()
    doc.dependencies.items = samples._items(2_000)
    message = build_message(doc, 20_000, renderers={"default": text_body})
    assert set(_bodies(message)) == {"default"}
    assert message_size(message) <= 20_000


def test_a_table_without_a_default_body_is_refused() -> None:
    with pytest.raises(ValueError, match="default"):
        build_message(samples.critical_scheduled_deletion(), renderers={"sqs": document_body})
