"""What the on-call engineer reads: the text report, the chat card and the verdict behind both."""

from __future__ import annotations

import re

import pytest

from shared.alerting import CHAT_DESCRIPTION_MAX_CHARS, render_chat, render_text, verdict
from shared.document import AlertDocument, Severity
from tests.unit.alerting import samples

SECTIONS = ["KEY", "ACTION", "ACTOR", "TIMELINE", "DEPENDENCIES", "WHAT WAS DONE", "NEXT STEPS"]
# A tamper alert is about one of the guard's resources, not a key: no key, no dependencies.
TAMPER_SECTIONS = ["TAMPERED RESOURCE", "ACTION", "ACTOR", "TIMELINE", "WHAT WAS DONE", "NEXT STEPS"]
LIVE_MENTION = re.compile(r"@(here|channel|everyone)\b|<[!@#]", re.IGNORECASE)
LIVE_URL = re.compile(r"https?://|www\.", re.IGNORECASE)
INVISIBLE = re.compile("[\x00-\x09\x0b-\x1f\x7f\x1b\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def _chat_strings(doc: AlertDocument) -> list[str]:
    chat = render_chat(doc)
    content, metadata = chat["content"], chat["metadata"]
    return [
        content["title"],
        content["description"],
        *content["nextSteps"],
        *content["keywords"],
        metadata["summary"],
        metadata["threadId"],
        *metadata["relatedResources"],
        *metadata["additionalContext"].values(),
    ]


def _outside_code_spans(markdown: str) -> str:
    return re.sub(r"`[^`\n]*`", "`…`", markdown)


# ----- verdict -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        (
            "critical_scheduled_deletion",
            "CRITICAL: key alias/prod-db scheduled for deletion in 7 days by "
            "role/ops-admin (alice); 12 dependent resources; remediation: CancelKeyDeletion (succeeded)",
        ),
        (
            "failed_access_denied",
            "LOW: failed attempt to schedule deletion of key alias/prod-db (+1 alias) by "
            "user/intern (AccessDenied)",
        ),
        (
            "unreadable_key",
            "HIGH: key 1234abcd-12ab-34cd-56ef-1234567890ab scheduled for deletion on Dec 28, "
            "2026, 10:40:00 PM (per the event, unverified) by role/deployer (ci-pipeline-8841) from account "
            "444455556666; dependency search incomplete; remediation: CancelKeyDeletion (failed: "
            "AccessDeniedException)",
        ),
        (
            "pending_replica_deletion",
            "HIGH: key alias/global-tokens scheduled for deletion (waiting for its replica keys to be "
            "deleted first) by role/Admin (bob); 3 dependent resources; dry-run, not done: CancelKeyDeletion",
        ),
        (
            "disabled_key_dry_run",
            "MEDIUM: key 1234abcd-12ab-34cd-56ef-1234567890ab disabled by the account root "
            "user; at least 2 dependent resources (search incomplete); dry-run, not done: EnableKey",
        ),
    ],
)
def test_verdict_is_built_from_the_document_fields(sample: str, expected: str) -> None:
    assert verdict(samples.SAMPLES[sample]()) == expected


def test_verdict_ignores_a_misleading_summary() -> None:
    doc = samples.critical_scheduled_deletion()
    doc.summary = "INFO: routine cleanup, nothing to do"
    assert verdict(doc).startswith("CRITICAL: key alias/prod-db scheduled for deletion in 7 days")


@pytest.mark.parametrize(
    ("days", "phrase"),
    [(0, "within a day"), (1, "in 1 day"), (30, "in 30 days")],
)
def test_verdict_counts_days_left(days: int, phrase: str) -> None:
    doc = samples.critical_scheduled_deletion()
    doc.key.days_until_deletion = days
    assert f"scheduled for deletion {phrase} by" in verdict(doc)


@pytest.mark.parametrize(
    ("kind", "expected_start"),
    [
        ("deleted", "CRITICAL: key alias/prod-db has been deleted"),
        ("reminder", "CRITICAL: key alias/prod-db is still scheduled for deletion in 7 days"),
        ("invalid-event", "CRITICAL: could not interpret a ScheduleKeyDeletion event"),
    ],
)
def test_verdict_by_kind(kind: str, expected_start: str) -> None:
    doc = samples.critical_scheduled_deletion()
    doc.kind = kind
    assert verdict(doc).startswith(expected_start)


def test_verdict_never_claims_no_dependencies_when_the_search_was_incomplete() -> None:
    doc = samples.unreadable_key()
    assert "dependency search incomplete" in verdict(doc)
    assert "no dependent resources" not in verdict(doc)


# ----- text --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_text_starts_with_the_verdict_and_has_every_section_in_order(sample: str) -> None:
    doc = samples.SAMPLES[sample]()
    text = render_text(doc)
    lines = text.splitlines()
    assert lines[0] == verdict(doc)
    titles = TAMPER_SECTIONS if doc.kind == "tamper" else SECTIONS
    positions = [next(i for i, line in enumerate(lines) if line.startswith(title)) for title in titles]
    assert positions == sorted(positions)
    if doc.kind == "tamper":
        assert not any(line.startswith(("KEY", "DEPENDENCIES")) for line in lines)


def test_text_opens_with_the_verdict_built_from_fields_not_the_summary() -> None:
    doc = samples.critical_scheduled_deletion()
    text = render_text(doc)
    assert text.splitlines()[0] == verdict(doc)
    assert doc.summary not in text


def test_text_renders_next_steps_verbatim() -> None:
    doc = samples.unreadable_key()
    text = render_text(doc)
    for number, step in enumerate(doc.next_steps, 1):
        assert f"  {number}. {step}\n" in text


def test_text_marks_the_default_pending_window() -> None:
    assert "Pending window:   30 days (default)" in render_text(samples.failed_access_denied())
    assert "Pending window:   7 days\n" in render_text(samples.critical_scheduled_deletion())


def test_text_flags_a_short_window() -> None:
    assert "Short window:     YES" in render_text(samples.critical_scheduled_deletion())
    assert "Short window" not in render_text(samples.failed_access_denied())


def test_text_shows_the_error_code_of_a_failed_attempt() -> None:
    text = render_text(samples.failed_access_denied())
    assert "Result:           FAILED (AccessDenied): User: arn:aws:iam::111122223333:user/intern" in text


def test_text_uses_the_authoritative_deletion_date_and_days_left() -> None:
    text = render_text(samples.critical_scheduled_deletion())
    assert "Deletion date:    2026-12-06T03:11:52Z (in 7 days)" in text
    assert "Dec 6, 2026" not in text  # the event's display string is not used when the key was read


def test_text_marks_the_event_deletion_date_unverified_when_the_key_was_unreadable() -> None:
    text = render_text(samples.unreadable_key())
    assert "Deletion date:    Dec 28, 2026, 10:40:00 PM (UNVERIFIED" in text
    assert "DescribeKey failed" in text


def test_text_explains_pending_replica_deletion() -> None:
    text = render_text(samples.pending_replica_deletion())
    assert "State PendingReplicaDeletion" in text
    assert "waiting period starts only when its last replica key is deleted" in text


def test_text_says_an_incomplete_search_is_not_evidence_of_no_use() -> None:
    text = render_text(samples.unreadable_key())
    assert "DEPENDENCIES (INCOMPLETE" in text
    assert "NOT evidence that nothing uses the key" in text
    assert "No dependent resources found by any finder" not in text
    assert "- key-inventory [eu-west-1]: unavailable: AccessDeniedException" in text


def test_text_says_none_found_only_when_the_search_was_complete() -> None:
    text = render_text(samples.failed_access_denied())
    assert "DEPENDENCIES (complete)" in text
    assert "No dependent resources found by any finder." in text


def test_text_lists_the_first_items_and_counts_the_rest() -> None:
    doc = samples.critical_scheduled_deletion()
    doc.dependencies.items = samples._items(45)
    doc.dependencies.total = 45
    doc.dependencies.items_omitted = 0
    text = render_text(doc)
    assert "Resources (first 20 of 45):" in text
    assert "25 more resources not listed here" in text


def test_text_shows_actor_flags() -> None:
    assert "Root user:        YES" in render_text(samples.disabled_key_dry_run())
    text = render_text(samples.unreadable_key())
    assert "Cross-account:    YES" in text
    assert "Invoked by:       cloudformation.amazonaws.com" in text
    assert "MFA:              unknown" in text


def test_text_explains_dry_run() -> None:
    text = render_text(samples.pending_replica_deletion())
    assert "Mode:             dry-run (nothing was changed" in text


def test_text_bounds_a_huge_value_and_says_how_much_was_cut() -> None:
    text = render_text(samples.hostile_input())
    assert "- Big = AAAA" in text
    assert re.search(r"A\u2026 \[\+9\d{3} chars\]", text)
    assert max(len(line) for line in text.splitlines()) < 700


# ----- chat --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_chat_follows_the_custom_notification_format(sample: str) -> None:
    doc = samples.SAMPLES[sample]()
    chat = render_chat(doc)
    assert chat["version"] == "1.0"
    assert chat["source"] == "custom"
    assert chat["id"] == doc.alert_id
    assert chat["content"]["textType"] == "client-markdown"
    assert set(chat["content"]) == {"textType", "title", "description", "nextSteps", "keywords"}
    assert set(chat["metadata"]) == {
        "threadId",
        "summary",
        "eventType",
        "relatedResources",
        "additionalContext",
    }
    # One thread per key; a tamper alert threads on the resource it names.
    assert chat["metadata"]["threadId"] == (doc.target.name if doc.target else doc.key.arn)
    assert chat["metadata"]["eventType"] == doc.event.name
    assert all(isinstance(v, str) for v in chat["metadata"]["additionalContext"].values())
    assert len(chat["content"]["description"]) <= CHAT_DESCRIPTION_MAX_CHARS


def test_chat_puts_commands_in_code_spans_verbatim() -> None:
    doc = samples.unreadable_key()
    assert render_chat(doc)["content"]["nextSteps"] == [f"`{step}`" for step in doc.next_steps]


def test_chat_title_is_short_and_severity_first() -> None:
    title = render_chat(samples.critical_scheduled_deletion())["content"]["title"]
    assert title == ":rotating_light: CRITICAL: KMS key `alias/prod-db` scheduled for deletion (7d)"


def test_chat_description_is_bounded_with_a_pointer_to_the_email() -> None:
    doc = samples.critical_scheduled_deletion()
    doc.notes = [f"note {n}: " + "x" * 300 for n in range(40)]
    description = render_chat(doc)["content"]["description"]
    assert len(description) <= CHAT_DESCRIPTION_MAX_CHARS
    assert description.endswith("more lines in the email report")


def test_chat_severity_icons_differ() -> None:
    titles = set()
    for severity in Severity:
        doc = samples.critical_scheduled_deletion()
        doc.severity = severity
        titles.add(render_chat(doc)["content"]["title"].split(" ")[0])
    assert len(titles) == len(Severity)


# ----- hostile input in every format -----------------------------------------------------------
def test_hostile_values_are_neutralised_in_text() -> None:
    text = render_text(samples.hostile_input())
    assert not LIVE_MENTION.search(text)
    assert not LIVE_URL.search(text)
    assert not INVISIBLE.search(text)
    # a tag value cannot start a forged section or line
    assert "\nWHAT WAS DONE\n  Outcome: deletion cancelled" not in text
    assert sum(1 for line in text.splitlines() if line == "WHAT WAS DONE") == 1


def test_hostile_values_are_neutralised_in_chat() -> None:
    for value in _chat_strings(samples.hostile_input()):
        assert not LIVE_MENTION.search(value), value
        assert not LIVE_URL.search(value), value
        assert not INVISIBLE.search(value), value


def test_hostile_values_sit_inside_code_spans_in_the_chat_description() -> None:
    chat = render_chat(samples.hostile_input())
    outside = _outside_code_spans(chat["content"]["description"])
    for marker in ("URGENT", "please ignore", "Injected", "Resolved", "onerror", "payroll", "evil"):
        # only the responder-authored note (rendered as escaped prose) may name the site
        assert marker not in outside.replace("hxxps://evil.example", ""), marker
    assert "](" not in outside
    assert "<" not in outside


def test_hostile_summary_cannot_forge_the_verdict() -> None:
    text = render_text(samples.hostile_input())
    assert text.startswith("CRITICAL: key alias/prod-db scheduled for deletion in 7 days")
    assert "ignore this alert" not in text
