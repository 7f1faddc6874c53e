"""The severity rules (README "Severity rules"), row by row. Pure: no AWS, no clock."""

from __future__ import annotations

import pytest

from shared.document import Severity
from shared.policy import KEY_DELETED, REMINDER, SeverityFacts, severity_for

C, H, M, L = Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW


def facts(event_name: str, **changes: object) -> SeverityFacts:
    return SeverityFacts(event_name=event_name, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("case", "expected", "first_reason"),
    [
        # not customer managed: always low
        (
            facts("ScheduleKeyDeletion", customer_managed=False, dependencies=5),
            L,
            "the key is not customer managed",
        ),
        # ScheduleKeyDeletion
        (facts("ScheduleKeyDeletion", dependencies=3), C, "deletion scheduled for a key with dependencies"),
        (
            facts("ScheduleKeyDeletion", discovery_complete=False),
            C,
            "deletion scheduled for a key with dependencies",
        ),
        (
            facts("ScheduleKeyDeletion", short_window=True),
            C,
            "deletion scheduled with a short pending window",
        ),
        (
            facts("ScheduleKeyDeletion", days_until_deletion=7),
            C,
            "deletion scheduled with a short pending window",
        ),
        (
            facts("ScheduleKeyDeletion", days_until_deletion=30),
            H,
            "deletion scheduled; no dependencies found",
        ),
        (
            facts("ScheduleKeyDeletion", customer_managed=None, discovery_complete=False),
            C,
            "deletion scheduled",
        ),
        # DisableKey
        (facts("DisableKey", dependencies=1), H, "key disabled while resources depend on it"),
        (facts("DisableKey"), M, "key disabled; no dependencies found"),
        # DeleteImportedKeyMaterial
        (facts("DeleteImportedKeyMaterial"), C, "imported key material deleted"),
        # failed calls
        (facts("ScheduleKeyDeletion", failed=True, dependencies=9), L, "the call failed: nothing changed"),
        (
            facts("ScheduleKeyDeletion", failed=True, cross_account=True),
            M,
            "the call failed: nothing changed",
        ),
        (facts("DisableKey", failed=True, actor_is_root=True), M, "the call failed: nothing changed"),
        # follow-ups
        (
            facts("CancelKeyDeletion", dependencies=5, actor_is_root=True, key_state="Enabled"),
            L,
            "follow-up: CancelKeyDeletion",
        ),
        (facts("EnableKey", key_state="Enabled"), L, "follow-up: EnableKey restored the key"),
        # a cancelled deletion leaves the key Disabled: not resolved, at least medium
        (
            facts("CancelKeyDeletion", key_state="Disabled"),
            M,
            "follow-up: CancelKeyDeletion, but the key is still Disabled",
        ),
        # PutKeyPolicy
        (
            facts("PutKeyPolicy", key_state="PendingDeletion"),
            H,
            "key policy changed while the key is PendingDeletion",
        ),
        (facts("PutKeyPolicy", key_state="Disabled"), H, "key policy changed while the key is Disabled"),
        (
            facts("PutKeyPolicy", key_state="PendingDeletion", lockout=True),
            C,
            "the new key policy no longer lets",
        ),
        (facts("PutKeyPolicy", key_state="Enabled"), L, "key policy changed on a usable key"),
        # tripwire
        (
            facts("Decrypt", failed=True, tripwire=True, key_state="PendingDeletion"),
            C,
            "a call failed because the key is pending deletion",
        ),
        (
            facts("Decrypt", failed=True, tripwire=True, key_state="Disabled"),
            H,
            "a call failed because the key is disabled",
        ),
        (
            facts("Decrypt", failed=True, tripwire=True, key_state="PendingDeletion", danger_averted=True),
            H,
            "a call failed",
        ),
        # the key is deleted
        (facts(KEY_DELETED, dependencies=2), C, "the key is deleted while resources still referenced it"),
        (
            facts(KEY_DELETED, discovery_complete=False),
            H,
            "the key is deleted; its dependencies could not all be checked",
        ),
        (facts(KEY_DELETED), M, "the key is deleted; no dependencies were known"),
        # reminders
        (facts(REMINDER, days_until_deletion=1), C, "the key will be deleted within a day"),
        (facts(REMINDER, days_until_deletion=3), H, "the key's deletion date is near"),
        (facts(REMINDER, days_until_deletion=3, approved=True), M, "the key's deletion date is near"),
        # anything else
        (facts("CreateKey"), M, "CreateKey on a monitored key"),
    ],
)
def test_base_severity(case: SeverityFacts, expected: Severity, first_reason: str) -> None:
    severity, reasons = severity_for(case)

    assert severity is expected
    assert reasons[0].startswith(first_reason)


@pytest.mark.parametrize(
    ("case", "expected", "last_reason"),
    [
        (facts("DisableKey", actor_is_root=True), H, "the root user acted"),
        (facts("DisableKey", cross_account=True), H, "a principal of another account acted"),
        (
            facts("DisableKey", actor_is_root=True, cross_account=True),
            H,
            "the root user acted",
        ),  # bumped once
        (
            facts("ScheduleKeyDeletion", dependencies=1, actor_is_root=True),
            C,
            "the root user acted",
        ),  # capped
        (facts("ScheduleKeyDeletion", dependencies=1, approved=True), H, "the deletion is approved"),
        (facts("DisableKey", approved=True), L, "the deletion is approved"),
        (
            facts("DeleteImportedKeyMaterial", approved=True),
            C,
            "imported key material deleted",
        ),  # not a deletion
        (
            facts("ScheduleKeyDeletion", dependencies=1, danger_averted=True),
            H,
            "remediation averted the danger",
        ),
        (facts("DisableKey", dependencies=1, danger_averted=True), M, "remediation averted the danger"),
        (
            facts("DisableKey", danger_averted=True),
            M,
            "key disabled; no dependencies found",
        ),  # never below medium
        (
            facts("ScheduleKeyDeletion", dependencies=1, approved=True, danger_averted=True),
            M,
            "remediation averted the danger",
        ),
    ],
)
def test_adjustments(case: SeverityFacts, expected: Severity, last_reason: str) -> None:
    severity, reasons = severity_for(case)

    assert severity is expected
    assert reasons[-1].startswith(last_reason)


def test_reasons_explain_every_step_in_order() -> None:
    severity, reasons = severity_for(
        facts("ScheduleKeyDeletion", dependencies=2, cross_account=True, danger_averted=True)
    )

    assert severity is H
    assert reasons == [
        "deletion scheduled for a key with dependencies (or unverified ones)",
        "a principal of another account acted",
        "remediation averted the danger",
    ]


@pytest.mark.parametrize(
    ("case", "expected", "reason"),
    [
        (facts("UntagResource", protect_removed=True), H, "the protect tag was removed"),
        (facts("TagResource", protect_removed=True), H, "the protect tag was removed"),
        (facts("TagResource", approval_set=True), M, "an approval to delete the key was recorded"),
        (facts("TagResource"), L, "a protect or approval tag changed; the key is not less protected"),
        (facts("UntagResource"), L, "a protect or approval tag changed; the key is not less protected"),
        (facts("UntagResource", protect_removed=True, actor_is_root=True), C, "the protect tag was removed"),
        # an approval on the key never lowers a tag change
        (facts("TagResource", approval_set=True, approved=True), M, "an approval to delete the key"),
    ],
)
def test_protect_and_approval_tag_changes(case: SeverityFacts, expected: Severity, reason: str) -> None:
    severity, reasons = severity_for(case)

    assert severity is expected
    assert reasons[0].startswith(reason)
