"""The hub's own calls in a member account are recognised by their source identity and role."""

from __future__ import annotations

from typing import Any

import pytest

from shared.accounts import SOURCE_IDENTITY, is_own_member_session
from shared.config import Settings
from shared.models import CloudTrailRecord

MEMBER = "210987654321"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"


def record(role: str, source_identity: str | None, role_account: str = MEMBER) -> CloudTrailRecord:
    context: dict[str, Any] = {
        "sessionIssuer": {
            "type": "Role",
            "arn": f"arn:aws:iam::{role_account}:role/{role}",
            "accountId": role_account,
        }
    }
    if source_identity is not None:
        context["sourceIdentity"] = source_identity
    return CloudTrailRecord.model_validate(
        {
            "eventName": "CancelKeyDeletion",
            "eventSource": "kms.amazonaws.com",
            "recipientAccountId": MEMBER,
            "userIdentity": {
                "type": "AssumedRole",
                "arn": f"arn:aws:sts::{MEMBER}:assumed-role/{role}/kms-keyguard",
                "accountId": MEMBER,
                "sessionContext": context,
            },
        }
    )


ORG = Settings(alert_topic_arn=TOPIC, organization_id="o-abcdef1234")


@pytest.mark.parametrize(
    ("role", "source_identity", "settings", "own"),
    [
        ("kms-keyguard-remediation", SOURCE_IDENTITY, ORG, True),
        # the same role without the hub's source identity: someone else's session
        ("kms-keyguard-remediation", None, ORG, False),
        ("kms-keyguard-remediation", "alice", ORG, False),
        # the hub's source identity through another role (it never acts through one)
        ("ops-admin", SOURCE_IDENTITY, ORG, False),
        # single-account mode knows no member roles
        ("kms-keyguard-remediation", SOURCE_IDENTITY, Settings(alert_topic_arn=TOPIC), False),
    ],
)
def test_own_member_session(role: str, source_identity: str | None, settings: Settings, own: bool) -> None:
    assert is_own_member_session(record(role, source_identity), settings) is own


def test_a_same_named_role_in_another_account_is_not_the_hub() -> None:
    # Given a call on the member's key from an account the caller controls, through a role named like
    # the member remediation role and a session carrying the hub's source identity
    forged = record("kms-keyguard-remediation", SOURCE_IDENTITY, role_account="999999999999")

    # Then it is someone else's change, not the hub's own
    assert is_own_member_session(forged, ORG) is False


def test_a_role_under_a_path_ending_in_the_name_is_not_the_hub() -> None:
    assert is_own_member_session(record("evil/kms-keyguard-remediation", SOURCE_IDENTITY), ORG) is False
