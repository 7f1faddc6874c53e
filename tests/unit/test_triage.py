"""Triage, row by row: is the event ours, which kind, published or not, searched, remediated, coalesced.

Pure: the facts are the event's name and error code and the key's re-read state.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from shared.events import Kind
from shared.policy import Outcome
from shared.triage import Triage, TriageFacts, triage

INVALID = "KMSInvalidStateException"
DENIED = "AccessDeniedException"
NOT_PUBLISHED = (Outcome.NOT_ATTEMPTED, "the alert is not published")
FAILED = (Outcome.NOT_NEEDED, "the call failed")
FOLLOW_UP = (Outcome.NOT_NEEDED, "follow-up event")
HELD = "the alert is not published"


def facts(
    name: str, error: str | None = None, state: str | None = "Enabled", *, readable: bool = True
) -> TriageFacts:
    return TriageFacts(event_name=name, error_code=error, key_readable=readable, key_state=state)


@dataclass(frozen=True)
class Expect:
    kind: Kind
    skip_reason: str | None = None  # None: published
    coalesce: bool = False
    check_policy: bool = False
    not_searched: str | None = None  # None: dependencies are searched
    not_remediated: tuple[Outcome, str] | None = None  # None: remediation decides


ROWS: list[tuple[str, TriageFacts, Expect]] = [
    # the calls kms-keyguard exists for
    ("schedule", facts("ScheduleKeyDeletion", state="PendingDeletion"), Expect(Kind.ALERT)),
    ("disable", facts("DisableKey", state="Disabled"), Expect(Kind.ALERT)),
    (
        "schedule, key unreadable",
        facts("ScheduleKeyDeletion", state=None, readable=False),
        Expect(Kind.ALERT),
    ),
    ("material deleted", facts("DeleteImportedKeyMaterial", state="PendingImport"), Expect(Kind.ALERT)),
    # failed attempts: alerted, never remediated
    ("failed schedule", facts("ScheduleKeyDeletion", DENIED), Expect(Kind.ATTEMPT, not_remediated=FAILED)),
    (
        "disable refused by state",
        facts("DisableKey", INVALID, "PendingDeletion"),
        Expect(Kind.ATTEMPT, not_remediated=FAILED),
    ),
    # follow-ups
    (
        "cancelled, key still Disabled",
        facts("CancelKeyDeletion", state="Disabled"),
        Expect(Kind.ALERT, not_searched="a follow-up notice", not_remediated=FOLLOW_UP),
    ),
    (
        "cancelled and re-enabled",
        facts("CancelKeyDeletion", state="Enabled"),
        Expect(Kind.RESOLVED, not_searched="a follow-up notice", not_remediated=FOLLOW_UP),
    ),
    (
        "re-enabled",
        facts("EnableKey"),
        Expect(Kind.RESOLVED, not_searched="a follow-up notice", not_remediated=FOLLOW_UP),
    ),
    ("failed re-enable", facts("EnableKey", DENIED, "Disabled"), Expect(Kind.ATTEMPT, not_remediated=FAILED)),
    (
        "re-enable refused by state",
        facts("EnableKey", INVALID, "PendingDeletion"),
        Expect(
            Kind.ATTEMPT,
            "invalid-state failure, but the key is PendingDeletion",
            not_searched=HELD,
            not_remediated=FAILED,
        ),
    ),
    # key policy changes matter only while the key is unusable
    (
        "policy, pending",
        facts("PutKeyPolicy", state="PendingDeletion"),
        Expect(Kind.ALERT, check_policy=True),
    ),
    ("policy, disabled", facts("PutKeyPolicy", state="Disabled"), Expect(Kind.ALERT, check_policy=True)),
    (
        "policy, usable",
        facts("PutKeyPolicy"),
        Expect(
            Kind.ALERT,
            "key policy changed on a Enabled key",
            not_searched=HELD,
            not_remediated=NOT_PUBLISHED,
            check_policy=True,  # published only if it locks the account out (decided by the responder)
        ),
    ),
    ("policy, unreadable key", facts("PutKeyPolicy", state=None, readable=False), Expect(Kind.ALERT)),
    # the tripwire: a workload's call refused because of the key's state
    ("decrypt, pending", facts("Decrypt", INVALID, "PendingDeletion"), Expect(Kind.TRIPWIRE, coalesce=True)),
    (
        "data key, disabled",
        facts("GenerateDataKey", INVALID, "Disabled"),
        Expect(Kind.TRIPWIRE, coalesce=True),
    ),
    (
        "decrypt, key usable again",
        facts("Decrypt", INVALID, "Enabled"),
        Expect(
            Kind.ATTEMPT,
            "invalid-state failure, but the key is Enabled",
            not_searched=HELD,
            not_remediated=FAILED,
        ),
    ),
    (
        "decrypt, key unreadable",
        facts("Decrypt", INVALID, None, readable=False),
        Expect(
            Kind.ATTEMPT,
            "invalid-state failure, but the key is unreadable",
            not_searched=HELD,
            not_remediated=FAILED,
        ),
    ),
    (
        "a tool's read refused",
        facts("DescribeKey", INVALID, "PendingDeletion"),
        Expect(
            Kind.ATTEMPT,
            "invalid-state failure, but the key is PendingDeletion",
            not_searched=HELD,
            not_remediated=FAILED,
        ),
    ),
    (
        "decrypt denied",
        facts("Decrypt", DENIED, "PendingDeletion"),
        Expect(Kind.ATTEMPT, not_remediated=FAILED),
    ),
    # calls no rule routes by name (a replay, or a read made to look at the key)
    ("describe", facts("DescribeKey"), Expect(Kind.ALERT)),
]


@pytest.mark.parametrize(("given", "expect"), [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_triage(given: TriageFacts, expect: Expect) -> None:
    decision = triage(given)

    assert decision.kind is expect.kind
    assert (decision.publish, decision.skip_reason) == (expect.skip_reason is None, expect.skip_reason)
    assert decision.coalesce is expect.coalesce
    assert decision.check_policy is expect.check_policy
    assert decision.not_searched == expect.not_searched
    assert decision.not_remediated == expect.not_remediated


@pytest.mark.parametrize(
    ("given", "note"),
    [
        (facts("DescribeKey"), "DescribeKey is not an event this responder acts on; reported as seen."),
        (facts("Decrypt", INVALID, "PendingDeletion"), None),  # failed calls are reported as failures
        (facts("ScheduleKeyDeletion"), None),
        (facts("PutKeyPolicy", state="Disabled"), None),
    ],
)
def test_an_event_no_rule_routes_is_reported_as_seen(given: TriageFacts, note: str | None) -> None:
    assert triage(given).note == note


def test_a_coalesced_tripwire_is_neither_published_searched_nor_remediated() -> None:
    # Given a tripwire whose key already had an alert this hour
    decision = triage(facts("Decrypt", INVALID, "PendingDeletion")).coalesced()

    # Then it is held back, with the reason, and nothing else is done for it
    assert decision == Triage(
        Kind.TRIPWIRE, publish=False, skip_reason="tripwire coalesced: one alert per key per hour"
    )
    assert decision.not_searched == "the alert is not published"
    assert decision.not_remediated == NOT_PUBLISHED


@pytest.mark.parametrize("name", ["TagResource", "UntagResource"])
def test_a_protect_or_approval_tag_change_is_reported_never_searched_or_remediated(name: str) -> None:
    decision = triage(TriageFacts(name, key_state="Enabled"))

    assert decision.publish
    assert decision.tag_change
    assert str(decision.not_searched).startswith("a tag change")
    assert decision.not_remediated == (Outcome.NOT_NEEDED, "a tag change")


def test_a_refused_tag_change_is_an_attempt_not_a_tag_change() -> None:
    decision = triage(TriageFacts("TagResource", error_code="AccessDeniedException", key_state="Enabled"))

    assert decision.kind is Kind.ATTEMPT
    assert not decision.tag_change
