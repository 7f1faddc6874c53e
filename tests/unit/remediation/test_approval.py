"""The keyguard:allow-deletion tag value, row by row, and how its CloudTrail record is judged."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from shared.approval import (
    ApprovalStatus,
    Verification,
    approval_note,
    judge,
    parse_approval,
    principal_label,
    principal_of,
)
from shared.models import UserIdentity

TODAY = date(2026, 11, 29)
TAG = "keyguard:allow-deletion"
MAX_DAYS = 30


@pytest.mark.parametrize(
    ("value", "status", "reference", "until"),
    [
        (None, ApprovalStatus.NONE, None, None),
        ("CHG-4711 until=2026-12-29", ApprovalStatus.APPROVED, "CHG-4711", date(2026, 12, 29)),  # 30 days
        ("  CHG-4711  until=2026-12-01 ", ApprovalStatus.APPROVED, "CHG-4711", date(2026, 12, 1)),
        ("CHG-4711;until=2026-12-20", ApprovalStatus.APPROVED, "CHG-4711", date(2026, 12, 20)),
        ("CHG-4711; UNTIL = 2026-11-29", ApprovalStatus.APPROVED, "CHG-4711", date(2026, 11, 29)),  # last day
        ("CHG-4711 until=2026-11-28", ApprovalStatus.EXPIRED, "CHG-4711", date(2026, 11, 28)),
        (
            "JIRA OPS-12 / rollout until=2026-12-01",
            ApprovalStatus.APPROVED,
            "JIRA OPS-12 / rollout",
            date(2026, 12, 1),
        ),
        # An expiry is required, and may be at most ApprovalMaxDays ahead
        ("CHG-4711", ApprovalStatus.MALFORMED, None, None),
        ("  CHG-4711  ", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711 until=2026-12-30", ApprovalStatus.MALFORMED, None, None),  # 31 days
        ("CHG-4711 until=2099-01-01", ApprovalStatus.MALFORMED, None, None),
        ("", ApprovalStatus.MALFORMED, None, None),
        ("   ", ApprovalStatus.MALFORMED, None, None),
        ("true", ApprovalStatus.MALFORMED, None, None),
        ("YES", ApprovalStatus.MALFORMED, None, None),
        (" until=2026-12-31", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711 until=2026-13-01", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711 until=2026-02-30", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711 until=31/12/2026", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711 until=", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711 until=2026-12-01 until=2026-12-02", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711; by=alice", ApprovalStatus.MALFORMED, None, None),
        ("CHG-4711; 2026-12-31", ApprovalStatus.MALFORMED, None, None),
        ("-CHG", ApprovalStatus.MALFORMED, None, None),
        ("CHG=4711", ApprovalStatus.MALFORMED, None, None),
    ],
)
def test_parse_approval(
    value: str | None, status: ApprovalStatus, reference: str | None, until: date | None
) -> None:
    approval = parse_approval(value, TODAY, max_days=MAX_DAYS)

    assert approval.status is status
    assert approval.reference == reference
    assert approval.until == until
    assert approval.approved is (status is ApprovalStatus.APPROVED)
    assert (approval.problem is not None) is (status is ApprovalStatus.MALFORMED)
    # A parsed approval is never honoured before CloudTrail has been asked
    assert not approval.honoured


def test_an_approval_without_an_expiry_says_so() -> None:
    note = approval_note(parse_approval("CHG-4711", TODAY, max_days=MAX_DAYS), TAG)
    assert note == (
        f"{TAG} tag ignored: 'CHG-4711' has no expiry; an approval needs one after the reference "
        "('CHG-4711 until=YYYY-MM-DD'), at most 30 days after it is tagged; the key is treated as unapproved."
    )


def test_an_expiry_too_far_out_is_invalid_and_says_by_how_much() -> None:
    note = approval_note(parse_approval("CHG-4711 until=2027-01-10", TODAY, max_days=MAX_DAYS), TAG)
    assert note == (
        f"{TAG} tag ignored: 'until=2027-01-10' is 42 days after today, 2026-11-29; at most 30 days are "
        "allowed (ApprovalMaxDays); the key is treated as unapproved."
    )


def test_max_days_count_from_the_day_the_approval_was_tagged_when_known() -> None:
    # Given an approval tagged 20 days ago whose expiry is 25 days from today
    value = "CHG-4711 until=2026-12-24"

    # Then it is valid counted from today, and too far out counted from the day it was tagged
    assert parse_approval(value, TODAY, max_days=MAX_DAYS).approved
    from_tagging = parse_approval(value, TODAY, max_days=MAX_DAYS, tagged_on=date(2026, 11, 9))
    assert from_tagging.status is ApprovalStatus.MALFORMED
    assert "45 days after it was tagged on 2026-11-09" in str(from_tagging.problem)


def test_max_days_is_the_deployments() -> None:
    assert parse_approval("CHG-1 until=2026-12-09", TODAY, max_days=10).approved
    assert not parse_approval("CHG-1 until=2026-12-10", TODAY, max_days=10).approved


@pytest.mark.parametrize(
    ("verification", "evidence", "note"),
    [
        (None, None, "Approval CHG-4711 (valid until 2026-12-20) on the key, not verified (not looked up in "
         "CloudTrail for this notice)."),
        (Verification.VERIFIED, "tagged by role/approver (bob) at ...", "Approved deletion: CHG-4711 (valid "
         "until 2026-12-20), verified: tagged by role/approver (bob) at ...."),
        (Verification.UNVERIFIED, "CloudTrail lookup failed: ThrottlingException", "Approval CHG-4711 "
         "(valid until 2026-12-20) is unverified: CloudTrail lookup failed: ThrottlingException; it is not "
         "honoured: the key is treated as unapproved."),
        (Verification.SAME_PRINCIPAL, "tagged by role/ops-admin (alice) ...", "Approval CHG-4711 (valid "
         "until 2026-12-20) is forged: tagged by role/ops-admin (alice) ...; it is not honoured: the key is "
         "treated as unapproved."),
        (Verification.TAGGED_AFTER, "tagged by user/bob at ...", "Approval CHG-4711 (valid until 2026-12-20) "
         "was tagged after the fact: tagged by user/bob at ...; it is not honoured: the key is treated as "
         "unapproved."),
    ],
)  # fmt: skip
def test_the_alert_says_whether_the_approval_is_honoured_and_why(
    verification: Verification | None, evidence: str | None, note: str
) -> None:
    approval = parse_approval("CHG-4711 until=2026-12-20", TODAY, max_days=MAX_DAYS)
    if verification is not None:
        approval = approval.checked(verification, str(evidence))
    assert approval_note(approval, TAG) == note
    assert approval.honoured is (verification is Verification.VERIFIED)


@pytest.mark.parametrize(
    ("value", "note"),
    [
        (None, None),
        (
            "CHG-4711 until=2026-01-31",
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
    assert approval_note(parse_approval(value, TODAY, max_days=MAX_DAYS), TAG) == note


def test_the_parser_is_pure() -> None:
    assert parse_approval("CHG-1 until=2026-12-01", date(2026, 12, 1), max_days=MAX_DAYS).approved
    assert not parse_approval("CHG-1 until=2026-12-01", date(2026, 12, 2), max_days=MAX_DAYS).approved


# ----- principals ---------------------------------------------------------------------------------
ACCOUNT = "111122223333"


def _role(name: str, session: str, path: str = "") -> UserIdentity:
    return UserIdentity.model_validate(
        {
            "type": "AssumedRole",
            "principalId": f"AROAEXAMPLE{name.upper()}:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{session}",
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/{path}{name}",
                    "accountId": ACCOUNT,
                    "userName": name,
                }
            },
        }
    )


def _user(name: str, account: str = ACCOUNT) -> UserIdentity:
    return UserIdentity.model_validate(
        {
            "type": "IAMUser",
            "arn": f"arn:aws:iam::{account}:user/{name}",
            "accountId": account,
            "userName": name,
        }
    )


ROOT = UserIdentity.model_validate(
    {"type": "Root", "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}
)


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        # One role is one principal, whatever its sessions are called: the caller names the session
        (_role("ops-admin", "alice"), _role("ops-admin", "alice"), True),
        (_role("ops-admin", "alice"), _role("ops-admin", "bob"), True),
        (_role("ops-admin", "alice"), _role("Ops-Admin", "alice-2", path="team/"), True),
        # The same person through the approver role is a different principal: that is the design
        (_role("ops-admin", "alice"), _role("keyguard-approver", "alice"), False),
        (_user("alice"), _user("Alice"), True),
        (_user("alice"), _user("bob"), False),
        (_user("alice"), _user("alice", account="444455556666"), False),
        (ROOT, ROOT, True),
        (ROOT, _user("alice"), False),
        (_user("alice"), _role("alice", "alice"), False),
    ],
)
def test_principals_compare_by_user_or_role_never_by_session(
    one: UserIdentity, other: UserIdentity, same: bool
) -> None:
    assert principal_of(one) is not None
    assert (principal_of(one) == principal_of(other)) is same


@pytest.mark.parametrize(
    "identity",
    [
        {"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"},
        {"type": "AWSAccount", "principalId": "AIDAEXAMPLE", "accountId": "444455556666"},
        {},
    ],
)
def test_a_record_that_names_no_user_or_role_identifies_no_principal(identity: dict[str, Any]) -> None:
    assert principal_of(UserIdentity.model_validate(identity)) is None


def test_an_assumed_role_without_a_session_issuer_is_its_role() -> None:
    bare = UserIdentity.model_validate(
        {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/alice"}
    )
    assert principal_of(bare) == principal_of(_role("ops-admin", "bob"))
    assert principal_label(_role("ops-admin", "alice")) == "role/ops-admin (alice)"


TAGGED = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
SCHEDULED = datetime(2026, 11, 28, 9, 14, 3, tzinfo=UTC)


def test_an_approval_by_another_principal_before_the_scheduling_is_verified() -> None:
    verdict, evidence = judge(
        _role("keyguard-approver", "bob"),
        TAGGED,
        _role("ops-admin", "alice"),
        SCHEDULED,
        "ScheduleKeyDeletion",
    )
    assert verdict is Verification.VERIFIED
    assert evidence == (
        "tagged by role/keyguard-approver (bob) at 2026-11-27T10:00:00Z; the deletion was scheduled at "
        "2026-11-28T09:14:03Z by role/ops-admin (alice), a different principal"
    )


def test_an_approval_tagged_by_the_scheduler_is_forged() -> None:
    verdict, evidence = judge(
        _role("ops-admin", "alice"), TAGGED, _role("ops-admin", "bob"), SCHEDULED, "ScheduleKeyDeletion"
    )
    assert verdict is Verification.SAME_PRINCIPAL
    assert "by the same principal (role/ops-admin (bob))" in evidence


@pytest.mark.parametrize("tagged", [SCHEDULED, datetime(2026, 11, 28, 9, 20, tzinfo=UTC)])
def test_an_approval_tagged_at_or_after_the_scheduling_does_not_count(tagged: datetime) -> None:
    # Same second included: CloudTrail's times cannot show which came first
    verdict, evidence = judge(_user("bob"), tagged, _user("alice"), SCHEDULED, "DisableKey")
    assert verdict is Verification.TAGGED_AFTER
    assert "the key was disabled at 2026-11-28T09:14:03Z" in evidence


def test_an_unidentifiable_tagger_leaves_the_approval_unverified() -> None:
    service = UserIdentity.model_validate({"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"})
    verdict, _ = judge(service, TAGGED, _user("alice"), SCHEDULED, "ScheduleKeyDeletion")
    assert verdict is Verification.UNVERIFIED


def test_the_documented_form_uses_only_characters_aws_allows_in_a_tag_value() -> None:
    # AWS's user-defined tag restrictions (which the KMS Tag reference points to) allow letters,
    # digits, spaces and _ . : / = + - @ in tag values: no ";".
    # https://docs.aws.amazon.com/kms/latest/APIReference/API_Tag.html
    value = "CHG-4711 until=2026-12-20"
    assert all(c.isalnum() or c.isspace() or c in "_.:/=+-@" for c in value)
    assert parse_approval(value, TODAY, max_days=MAX_DAYS).approved
    assert parse_approval("CHG-4711 by=alice", TODAY, max_days=MAX_DAYS).problem == (
        "unknown clause 'by=alice' (only 'until=YYYY-MM-DD' is allowed)"
    )
