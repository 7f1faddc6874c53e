"""The remediation decision table, the restore-evidence rule and the loop guard, row by row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.models import CloudTrailRecord
from shared.policy import Action, RemediationFacts, Transition, is_tripwire, plan_remediation, state_before
from shared.remediation import caused_by_role

BASE = {
    "mode": "enforce",
    "scope": "all",
    "event_name": "ScheduleKeyDeletion",
    "key_state": "PendingDeletion",
}


def facts(**changes: object) -> RemediationFacts:
    return RemediationFacts(**{**BASE, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "action", "reason"),
    [
        ({}, Action.CANCEL_DELETION, "scope all: every customer managed key"),
        ({"mode": "dry-run"}, Action.CANCEL_DELETION, "scope all: every customer managed key"),
        ({"mode": "off"}, Action.NONE, "remediation is off"),
        ({"caused_by_self": True}, Action.NONE, "the call was made by kms-keyguard's own role (loop guard)"),
        ({"failed": True}, Action.NONE, "the call failed: nothing changed"),
        ({"key_readable": False}, Action.NONE, "the key could not be read"),
        ({"customer_managed": False}, Action.NONE, "the key is not customer managed"),
        (
            {"approved": True, "approval_text": "approved deletion: CHG-1"},
            Action.NONE,
            "exempt: approved deletion: CHG-1",
        ),
        (
            {"scope": "tagged"},
            Action.NONE,
            "not in scope: scope tagged: the key is not tagged keyguard:protect=true",
        ),
        (
            {"scope": "tagged", "protected": True},
            Action.CANCEL_DELETION,
            "scope tagged: the key is tagged keyguard:protect=true",
        ),
        (
            {"scope": "with-dependencies"},
            Action.NONE,
            "not in scope: scope with-dependencies: no dependencies found and the key is not tagged "
            "keyguard:protect=true",
        ),
        (
            {"scope": "with-dependencies", "dependencies": 3},
            Action.CANCEL_DELETION,
            "scope with-dependencies: 3 dependent resources found",
        ),
        (
            {"scope": "with-dependencies", "discovery_complete": False},
            Action.CANCEL_DELETION,
            "scope with-dependencies: the dependency search was incomplete (treated as at risk)",
        ),
        (
            {
                "scope": "with-dependencies",
                "discovery_complete": False,
                "incomplete_finders": (
                    "rds-instances [eu-west-1]: denied: AccessDenied",
                    "kinesis-streams [eu-west-1]: throttled: ThrottlingException (retries exhausted)",
                    "sqs-queues [eu-west-1]: timed out: discovery time budget exhausted",
                    "sns-topics [eu-west-1]: denied: AuthorizationError",
                ),
            },
            Action.CANCEL_DELETION,
            "scope with-dependencies: the dependency search was incomplete (treated as at risk): "
            "rds-instances [eu-west-1]: denied: AccessDenied; kinesis-streams [eu-west-1]: throttled: "
            "ThrottlingException (retries exhausted); sqs-queues [eu-west-1]: timed out: discovery time "
            "budget exhausted; 1 more",
        ),
        (
            {"scope": "with-dependencies", "protected": True},
            Action.CANCEL_DELETION,
            "scope with-dependencies: the key is tagged keyguard:protect=true",
        ),
        (
            {"event_name": "DisableKey", "key_state": "Disabled"},
            Action.NONE,
            "re-enabling disabled keys is off (REENABLE_DISABLED_KEYS)",
        ),
        (
            {"event_name": "DisableKey", "key_state": "Disabled", "reenable_disabled_keys": True},
            Action.ENABLE_KEY,
            "scope all: every customer managed key",
        ),
        ({"event_name": "PutKeyPolicy"}, Action.NONE, "no remediation applies to PutKeyPolicy"),
        (
            {"event_name": "DeleteImportedKeyMaterial"},
            Action.NONE,
            "no remediation applies to DeleteImportedKeyMaterial",
        ),
        # a tripwire: a failed call that proves a live dependency
        (
            {"event_name": "Decrypt", "failed": True, "tripwire": True},
            Action.CANCEL_DELETION,
            "scope all: every customer managed key",
        ),
        (
            {"event_name": "Decrypt", "failed": True, "tripwire": True, "scope": "with-dependencies"},
            Action.CANCEL_DELETION,
            "scope with-dependencies: a failed call proves a live dependency",
        ),
        (
            {"event_name": "Decrypt", "failed": True, "tripwire": True, "scope": "tagged"},
            Action.NONE,
            "not in scope: scope tagged: the key is not tagged keyguard:protect=true",
        ),
        (
            {
                "event_name": "Decrypt",
                "failed": True,
                "tripwire": True,
                "approved": True,
                "approval_text": "approved deletion: CHG-1",
            },
            Action.NONE,
            "exempt: approved deletion: CHG-1",
        ),
    ],
)
def test_plan_remediation(changes: dict[str, object], action: Action, reason: str) -> None:
    plan = plan_remediation(facts(**changes))

    assert plan.action is action
    assert plan.reasons[0] == reason


T0 = datetime(2026, 11, 28, 9, 14, 3, tzinfo=UTC)


def at(hour: int, minute: int = 0, second: int = 0) -> datetime:
    return T0.replace(hour=hour, minute=minute, second=second)


def tr(
    when: datetime, state: str, name: str, source: str = "CloudTrail", event_id: str | None = None
) -> Transition:
    return Transition(when, state, name, source, event_id)


@pytest.mark.parametrize(
    ("transitions", "reenable", "evidence"),
    [
        ([], False, "no record of the key's state before the deletion was scheduled"),
        (
            [tr(at(8), "Enabled", "CreateKey")],
            True,
            "Enabled before the deletion was scheduled (CloudTrail: CreateKey at 2026-11-28T08:00:00Z)",
        ),
        (
            [tr(at(7), "Enabled", "CreateKey"), tr(at(8), "Disabled", "DisableKey")],
            False,
            "already Disabled before the deletion was scheduled "
            "(CloudTrail: DisableKey at 2026-11-28T08:00:00Z)",
        ),
        (
            [tr(at(7), "Disabled", "DisableKey"), tr(at(8), "Enabled", "EnableKey", "keyguard journal")],
            True,
            "(keyguard journal: EnableKey at 2026-11-28T08:00:00Z)",
        ),
        # after the scheduling: does not count
        ([tr(at(8), "Enabled", "CreateKey"), tr(at(10), "Disabled", "DisableKey")], True, "CreateKey"),
        # the same second: Disabled wins
        (
            [tr(at(9, 14, 3), "Enabled", "EnableKey"), tr(at(9, 14, 3), "Disabled", "DisableKey")],
            False,
            "DisableKey",
        ),
        # a cancelled earlier deletion leaves the key Disabled
        (
            [tr(at(7), "Enabled", "CreateKey"), tr(at(8), "Disabled", "CancelKeyDeletion")],
            False,
            "CancelKeyDeletion",
        ),
        # the event itself is excluded by id
        (
            [tr(at(8), "Enabled", "CreateKey"), tr(at(9, 14, 3), "Disabled", "DisableKey", event_id="this")],
            True,
            "CreateKey",
        ),
    ],
)
def test_state_before(transitions: list[Transition], reenable: bool, evidence: str) -> None:
    verdict = state_before(transitions, T0, exclude_event_id="this")

    assert verdict.reenable is reenable
    assert evidence in verdict.evidence


ROLE = "arn:aws:iam::123456789012:role/kms-keyguard-KeyEventsRole-1A2B"


def record(identity: dict[str, object]) -> CloudTrailRecord:
    return CloudTrailRecord.model_validate({"eventName": "CancelKeyDeletion", "userIdentity": identity})


def assumed(role_arn: str, account: str = "123456789012") -> dict[str, object]:
    name = role_arn.rsplit("/", 1)[-1]
    return {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{account}:assumed-role/{name}/kms-keyguard",
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": role_arn}},
    }


@pytest.mark.parametrize(
    ("identity", "role", "expected"),
    [
        (assumed(ROLE), ROLE, True),
        (assumed(ROLE), ROLE.upper().replace("ARN:AWS:IAM", "arn:aws:iam"), True),
        (assumed(ROLE), None, False),
        (assumed("arn:aws:iam::123456789012:role/ops-admin"), ROLE, False),
        (assumed(ROLE.replace("123456789012", "444455556666"), "444455556666"), ROLE, False),
        # a role with a path: the session issuer carries the path, the assumed-role ARN does not
        (
            assumed("arn:aws:iam::123456789012:role/guard/kms-keyguard-KeyEventsRole-1A2B"),
            "arn:aws:iam::123456789012:role/guard/kms-keyguard-KeyEventsRole-1A2B",
            True,
        ),
        (
            {
                "type": "AssumedRole",
                "arn": "arn:aws:sts::123456789012:assumed-role/kms-keyguard-KeyEventsRole-1A2B/x",
            },
            ROLE,
            True,
        ),
        (
            {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/kms-keyguard-KeyEventsRole-1A2B"},
            ROLE,
            False,
        ),
        ({"type": "Root", "arn": "arn:aws:iam::123456789012:root"}, ROLE, False),
    ],
)
def test_loop_guard(identity: dict[str, object], role: str | None, expected: bool) -> None:
    assert caused_by_role(record(identity), role) is expected


@pytest.mark.parametrize(
    ("event_name", "error_code", "state", "expected"),
    [
        ("Decrypt", "KMSInvalidStateException", "PendingDeletion", True),
        ("GenerateDataKey", "KMSInvalidStateException", "PendingReplicaDeletion", True),
        ("CreateGrant", "KMSInvalidStateException", "Disabled", True),
        ("Decrypt", "KMSInvalidStateException", "Enabled", False),
        # A key waiting for imported material, or in a disconnected custom key store, is unusable too.
        ("Decrypt", "KMSInvalidStateException", "PendingImport", True),
        ("Encrypt", "KMSInvalidStateException", "Unavailable", True),
        # A Disabled key refuses cryptography with DisabledException, a key pending deletion with
        # either error: the re-read state decides.
        ("Decrypt", "DisabledException", "Disabled", True),
        ("Decrypt", "DisabledException", "PendingDeletion", True),
        ("Decrypt", "DisabledException", "Enabled", False),  # re-enabled since
        ("DescribeKey", "DisabledException", "Disabled", False),  # a tool's read proves nothing
        ("Decrypt", "AccessDeniedException", "PendingDeletion", False),
        ("Decrypt", None, "PendingDeletion", False),
        ("ScheduleKeyDeletion", "KMSInvalidStateException", "PendingDeletion", False),
        ("EnableKey", "KMSInvalidStateException", "PendingDeletion", False),
    ],
)
def test_tripwire_is_decided_by_code_and_state(
    event_name: str, error_code: str | None, state: str, expected: bool
) -> None:
    assert is_tripwire(event_name, error_code, state) is expected
