"""What the on-call engineer reads: the text report, the chat card and the verdict behind both."""

from __future__ import annotations

import re

import pytest

from shared.alerting import CHAT_DESCRIPTION_MAX_CHARS, render_chat, render_text, verdict
from shared.document import AlertDocument, Severity, UncheckedFinder
from tests.unit.alerting import samples

SECTIONS = ["NEXT STEPS", "KEY", "ACTION", "ACTOR", "TIMELINE", "DEPENDENCIES", "WHAT WAS DONE"]
# A tamper alert is about one of the guard's resources, not a key: no key, no dependencies.
TAMPER_SECTIONS = ["NEXT STEPS", "TAMPERED RESOURCE", "ACTION", "ACTOR", "TIMELINE", "WHAT WAS DONE"]
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
            "CRITICAL 111122223333 eu-west-1: key alias/prod-db scheduled for deletion in 7 days "
            "(dry-run: would cancel-deletion) by role/ops-admin (alice); 12 dependent resources",
        ),
        (
            "enforce_cancelled",
            "HIGH 111122223333 eu-west-1: key alias/prod-db deletion CANCELLED, key left Disabled (it was "
            "scheduled for deletion with a 7-day waiting period) by role/ops-admin "
            "(alice); 12 dependent resources",
        ),
        (
            "enforce_failed",
            "CRITICAL 111122223333 eu-west-1: key alias/prod-db automatic cancel "
            "FAILED (AccessDeniedException) "
            "(it was scheduled for deletion in 7 days) by role/ops-admin (alice); 5 dependent resources",
        ),
        (
            "failed_access_denied",
            "LOW 111122223333 eu-west-1: key alias/prod-db (+1 alias) failed "
            "attempt to schedule deletion of the "
            "key (AccessDenied) by user/intern; no dependent resources found",
        ),
        (
            "unreadable_key",
            "HIGH 111122223333 eu-west-1: key 1234abcd-12ab-34cd-56ef-1234567890ab scheduled for deletion on "
            "Dec 28, 2026, 10:40:00 PM (per the event, unverified) by role/deployer (ci-pipeline-8841) from "
            "account 444455556666 via AWS CloudFormation; dependencies unknown (the key could not be read)",
        ),
        (
            "pending_replica_deletion",
            "HIGH 111122223333 us-east-1: key alias/global-tokens scheduled for deletion (waiting for its "
            "replica keys to be deleted first) (dry-run: would cancel-deletion) by role/Admin (bob); "
            "3 dependent resources",
        ),
        (
            "disabled_key_dry_run",
            "MEDIUM 111122223333 eu-west-1: key "
            "1234abcd-12ab-34cd-56ef-1234567890ab disabled (dry-run: would "
            "enable-key) by the account root user; at least 2 dependent resources (search incomplete)",
        ),
        (
            "resolved",
            "LOW 111122223333 eu-west-1: key alias/prod-db resolved: re-enabled, the key is Enabled "
            "by role/ops-admin (alice)",
        ),
        (
            "still_disabled_follow_up",
            "MEDIUM 111122223333 eu-west-1: key alias/prod-db deletion cancelled, key still Disabled "
            "by role/ops-admin (alice)",
        ),
        (
            "deleted",
            "CRITICAL 111122223333 eu-west-1: key "
            "1234abcd-12ab-34cd-56ef-1234567890ab has been deleted by KMS; "
            "2 dependent resources",
        ),
    ],
)
def test_verdict_is_built_from_the_document_fields(sample: str, expected: str) -> None:
    assert verdict(samples.SAMPLES[sample]()) == expected


def test_verdict_ignores_a_misleading_summary() -> None:
    doc = samples.critical_scheduled_deletion()
    doc.summary = "INFO: routine cleanup, nothing to do"
    assert verdict(doc).startswith(
        "CRITICAL 111122223333 eu-west-1: key alias/prod-db scheduled for deletion in 7"
    )


@pytest.mark.parametrize(
    ("days", "phrase"),
    [(0, "within a day"), (1, "in 1 day"), (30, "in 30 days")],
)
def test_verdict_counts_days_left(days: int, phrase: str) -> None:
    doc = samples.critical_scheduled_deletion()
    doc.key.days_until_deletion = days
    assert f"scheduled for deletion {phrase} (dry-run" in verdict(doc)


@pytest.mark.parametrize(
    ("kind", "expected_start"),
    [
        ("deleted", "CRITICAL 111122223333 eu-west-1: key alias/prod-db has been deleted"),
        (
            "reminder",
            "CRITICAL 111122223333 eu-west-1: key alias/prod-db is still scheduled for deletion in 7 days",
        ),
        ("invalid-event", "CRITICAL 111122223333 eu-west-1: could not interpret an event of type"),
    ],
)
def test_verdict_by_kind(kind: str, expected_start: str) -> None:
    doc = samples.critical_scheduled_deletion()
    doc.kind = kind
    assert verdict(doc).startswith(expected_start)


def test_verdict_never_claims_no_dependencies_when_the_search_was_incomplete() -> None:
    doc = samples.unreadable_key()
    assert "dependencies unknown" in verdict(doc)
    assert "no dependent resources" not in verdict(doc)


def test_an_aws_service_actor_is_named_once() -> None:
    doc = samples.deleted()
    text = render_text(doc)
    assert "AWS KMS" in text
    assert text.count("kms.amazonaws.com") == 0


# ----- text --------------------------------------------------------------------------------------
@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_text_starts_with_the_verdict_then_next_steps_then_every_section_in_order(sample: str) -> None:
    doc = samples.SAMPLES[sample]()
    text = render_text(doc)
    lines = text.splitlines()
    assert lines[0] == verdict(doc)
    assert lines[2] == "NEXT STEPS"
    if doc.kind == "tamper":
        sections = TAMPER_SECTIONS
    else:
        sections = SECTIONS if doc.kind != "invalid-event" else [s for s in SECTIONS if s != "KEY"]
    positions = [next(i for i, line in enumerate(lines) if line.startswith(title)) for title in sections]
    assert positions == sorted(positions)
    if doc.kind == "tamper":
        assert not any(line.startswith(("KEY", "DEPENDENCIES")) for line in lines)


@pytest.mark.parametrize("sample", sorted(set(samples.SAMPLES) - {"hostile_input"}))
def test_the_json_summary_is_the_text_first_line(sample: str) -> None:
    doc = samples.SAMPLES[sample]()
    assert render_text(doc).splitlines()[0] == doc.summary


@pytest.mark.parametrize("sample", sorted(samples.SAMPLES))
def test_text_has_no_unknown_lines_and_times_to_the_second(sample: str) -> None:
    text = render_text(samples.SAMPLES[sample]())
    assert not [line for line in text.splitlines() if line.rstrip().endswith("unknown")]
    assert not re.search(r"T\d{2}:\d{2}:\d{2}\.\d", text)


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


def _mixed_unchecked() -> AlertDocument:
    """A complete search with a Region lacking one service and unread usage evidence, and an
    incomplete one: the same list plus a denied finder."""
    doc = samples.critical_scheduled_deletion()
    doc.dependencies.unchecked = [
        UncheckedFinder(
            finder="msk-clusters",
            region="eu-west-1",
            reason="unavailable: service endpoint not reachable in this region",
            effect="not-offered",
        ),
        UncheckedFinder(
            finder="kms-last-usage", region="eu-west-1", reason="denied: AccessDenied", effect="evidence-only"
        ),
    ]
    return doc


def test_text_separates_incomplete_finders_from_services_not_offered_and_evidence() -> None:
    # Given a complete search whose unchecked finders are all "not offered" or "evidence only"
    doc = _mixed_unchecked()
    text = render_text(doc)
    # Then both are listed, under their own headings, and nothing says "Not checked"
    assert "DEPENDENCIES (complete)" in text
    assert "Not checked" not in text
    assert "Not offered in the Region, nothing to search (1):" in text
    assert "- msk-clusters [eu-west-1]: unavailable: service endpoint not reachable" in text
    assert "Usage evidence not read (the search is not incomplete for it) (1):" in text
    assert "- kms-last-usage [eu-west-1]: denied: AccessDenied" in text

    # And a denied resource finder heads the list as what makes the search incomplete
    doc.dependencies.complete = False
    doc.dependencies.unchecked.append(
        UncheckedFinder(finder="rds-instances", region="eu-west-1", reason="denied: AccessDenied")
    )
    text = render_text(doc)
    assert "Not checked (1):\n    - rds-instances [eu-west-1]: denied: AccessDenied" in text
    assert text.index("Not checked (1)") < text.index("Not offered in the Region")


def test_chat_names_only_the_incomplete_finders_as_not_checked() -> None:
    doc = _mixed_unchecked()
    doc.dependencies.unchecked.append(
        UncheckedFinder(finder="rds-instances", region="eu-west-1", reason="denied: AccessDenied")
    )
    description = render_chat(doc)["content"]["description"]
    assert "*Not checked* 1: `rds-instances`" in description
    assert "*Not offered in the Region, nothing to search* 1: `msk-clusters`" in description


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
    assert "Via:              AWS CloudFormation" in text
    assert "MFA:" not in text  # not known: no line rather than an "unknown" one


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
    expected = (doc.target.name if doc.target else None) or doc.key.arn or doc.key.id or doc.alert_id
    assert chat["metadata"]["threadId"] == expected
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
    assert text.startswith("CRITICAL 111122223333 eu-west-1: key alias/prod-db deletion CANCELLED")
    assert "ignore this alert" not in text
