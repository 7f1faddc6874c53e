"""The keyguard:allow-deletion tag value, row by row."""

from __future__ import annotations

from datetime import date

import pytest

from shared.approval import ApprovalStatus, approval_note, parse_approval

TODAY = date(2026, 11, 29)
TAG = "keyguard:allow-deletion"


@pytest.mark.parametrize(
    ("value", "status", "reference", "until"),
    [
        (None, ApprovalStatus.NONE, None, None),
        ("CHG-4711", ApprovalStatus.APPROVED, "CHG-4711", None),
        ("  CHG-4711  ", ApprovalStatus.APPROVED, "CHG-4711", None),
        ("CHG-4711; until=2026-12-31", ApprovalStatus.APPROVED, "CHG-4711", date(2026, 12, 31)),
        ("CHG-4711;until=2026-12-31", ApprovalStatus.APPROVED, "CHG-4711", date(2026, 12, 31)),
        ("CHG-4711; UNTIL = 2026-11-29", ApprovalStatus.APPROVED, "CHG-4711", date(2026, 11, 29)),  # last day
        ("CHG-4711; until=2026-11-28", ApprovalStatus.EXPIRED, "CHG-4711", date(2026, 11, 28)),
        ("JIRA OPS-12 / rollout", ApprovalStatus.APPROVED, "JIRA OPS-12 / rollout", None),
        ("", ApprovalStatus.MALFORMED, None, None),
        ("   ", ApprovalStatus.MALFORMED, None, None),
        ("true", ApprovalStatus.MALFORMED, None, None),
        ("YES", ApprovalStatus.MALFORMED, None, None),
        ("; until=2026-12-31", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711; until=2026-13-01", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711; until=2026-02-30", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711; until=31/12/2026", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711; until=", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711; until=2026-12-31; until=2027-01-31", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711; by=alice", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711; 2026-12-31", ApprovalStatus.MALFORMED, None, None),
        ("-CHG", ApprovalStatus.MALFORMED, None, None),
        ("CHG=4711", ApprovalStatus.MALFORMED, None, None),
    ],
)
def test_parse_approval(
    value: str | None, status: ApprovalStatus, reference: str | None, until: date | None
) -> None:
    approval = parse_approval(value, TODAY)

    assert approval.status is status
    assert approval.reference == reference
    assert approval.until == until
    assert approval.approved is (status is ApprovalStatus.APPROVED)
    assert (approval.problem is not None) is (status is ApprovalStatus.MALFORMED)


@pytest.mark.parametrize(
    ("value", "note"),
    [
        (None, None),
        ("CHG-4711", "Approved deletion: CHG-4711."),
        ("CHG-4711; until=2026-12-31", "Approved deletion: CHG-4711 (valid until 2026-12-31)."),
        (
            "CHG-4711; until=2026-01-31",
            "Approval CHG-4711 lapsed on 2026-01-31: the key is treated as unapproved.",
        ),
        (
            "true",
            f"{TAG} tag ignored: 'true' is not a change reference (expected e.g. 'CHG-4711'); "
            "the key is treated as unapproved.",
        ),
    ],
)
def test_the_alert_says_what_the_tag_granted(value: str | None, note: str | None) -> None:
    assert approval_note(parse_approval(value, TODAY), TAG) == note


def test_the_parser_is_pure() -> None:
    assert parse_approval("CHG-1; until=2026-12-01", date(2026, 12, 1)).approved
    assert not parse_approval("CHG-1; until=2026-12-01", date(2026, 12, 2)).approved
