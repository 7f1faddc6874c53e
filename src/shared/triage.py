"""Triage: is this CloudTrail record one kms-keyguard acts on, what kind of notice is it, and what
follows from that (search dependencies? remediate? coalesce with other tripwire alerts?).

Pure: the facts are the event's name and error code and the key's re-read state; the event table
(``shared.events``) says what each name means. ``tests/unit/test_triage.py`` walks it row by row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from shared.events import TRIPWIRE_ERRORS, Kind, Route, SeverityRule, kms_event
from shared.policy import UNUSABLE_STATES, Outcome, is_tripwire

TRIPWIRE_WINDOW_SECONDS = 3600  # at most one tripwire alert per key per hour
COALESCED = "tripwire coalesced: one alert per key per hour"


@dataclass(frozen=True)
class TriageFacts:
    event_name: str
    error_code: str | None = None
    key_readable: bool = True
    key_state: str | None = None  # re-read, never taken from the event


@dataclass(frozen=True)
class Triage:
    """The decision, and the reasons the alert will carry for what is not done."""

    kind: Kind
    publish: bool = True
    skip_reason: str | None = None  # why the alert is not published
    coalesce: bool = False  # a tripwire: one alert per key per TRIPWIRE_WINDOW_SECONDS
    check_policy: bool = False  # a policy change on an unusable key: does it lock the account out?
    note: str | None = None  # said in the alert about the event itself
    follow_up: bool = False  # a successful CancelKeyDeletion/EnableKey, resolved or not
    tag_change: bool = False  # the protect or approval tag set or removed: reported, nothing to undo

    @property
    def not_searched(self) -> str | None:
        """Why dependencies are not searched (``None``: search them)."""
        if self.kind is Kind.RESOLVED or self.follow_up:
            return "a follow-up notice"
        if self.tag_change:
            return (
                "a tag change (dependencies are searched when the key is disabled or scheduled for deletion)"
            )
        if not self.publish:
            return "the alert is not published"
        return None

    @property
    def not_remediated(self) -> tuple[Outcome, str] | None:
        """Why remediation is not attempted, as its outcome (``None``: let remediation decide)."""
        if self.kind is Kind.ATTEMPT:
            return Outcome.NOT_NEEDED, "the call failed"
        if self.kind is Kind.RESOLVED or self.follow_up:
            return Outcome.NOT_NEEDED, "follow-up event"
        if self.tag_change:
            return Outcome.NOT_NEEDED, "a tag change"
        if not self.publish:
            return Outcome.NOT_ATTEMPTED, "the alert is not published"
        return None

    def coalesced(self) -> Triage:
        """This tripwire alert joins one already sent for the key within the window."""
        return replace(
            self,
            publish=False,
            skip_reason=COALESCED,
            coalesce=False,
        )


def triage(facts: TriageFacts) -> Triage:
    event = kms_event(facts.event_name)
    failed = bool(facts.error_code)
    tripwire = facts.key_readable and is_tripwire(facts.event_name, facts.error_code, facts.key_state)
    if tripwire:
        kind = Kind.TRIPWIRE
    elif event.kind is Kind.RESOLVED and not failed:
        # "Resolved" only when the key is usable again: a cancelled deletion leaves it Disabled.
        kind = Kind.RESOLVED if facts.key_state == "Enabled" else Kind.ALERT
    elif failed:
        kind = Kind.ATTEMPT
    else:
        kind = Kind.ALERT
    note = None
    if not event.routed and not failed:
        note = f"{facts.event_name} is not an event this responder acts on; reported as seen."

    if facts.error_code in TRIPWIRE_ERRORS and event.route is not Route.ALERTING and not tripwire:
        # A call the key's state refused that proves no workload (or the state changed since).
        reason = f"invalid-state failure, but the key is {facts.key_state or 'unreadable'}"
        return Triage(kind, publish=False, skip_reason=reason, note=note)
    if event.severity is SeverityRule.POLICY_CHANGED and not failed and facts.key_readable:
        if facts.key_state in UNUSABLE_STATES:
            return Triage(kind, check_policy=True, note=note)
        # Still checked: a lock-out staged while the key is usable is alerted when it happens.
        reason = f"key policy changed on a {facts.key_state} key"
        return Triage(kind, publish=False, skip_reason=reason, check_policy=True, note=note)
    follow_up = event.kind is Kind.RESOLVED and not failed
    tag_change = event.severity is SeverityRule.TAG_CHANGED and not failed
    return Triage(kind, coalesce=tripwire, note=note, follow_up=follow_up, tag_change=tag_change)
