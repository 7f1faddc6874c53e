"""Restore evidence (pure): was the key Enabled just before the change remediation would undo?

Transitions come from CloudTrail or from kms-keyguard's own journal; re-enabling needs positive
evidence, and a ``DisableKey`` just before a ``ScheduleKeyDeletion`` is never undone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from shared.events import kms_event


@dataclass(frozen=True)
class Transition:
    """A call that left the key Enabled or Disabled, from CloudTrail or keyguard's own journal."""

    time: datetime
    state: str  # "Enabled" | "Disabled"
    event_name: str
    source: str  # "CloudTrail" | "keyguard journal"
    event_id: str | None = None


def transition_state(event_name: str) -> str | None:
    """The state a successful call leaves the key in (the event table's ``leaves``).

    ScheduleKeyDeletion leaves none: it is the change whose "before" we are asking about.
    """
    return kms_event(event_name).leaves


@dataclass(frozen=True)
class RestoreVerdict:
    reenable: bool
    evidence: str


def state_before(
    transitions: Iterable[Transition], before: datetime, *, exclude_event_id: str | None = None
) -> RestoreVerdict:
    """Was the key Enabled just before ``before``? Re-enable only on positive evidence.

    The latest transition at or before ``before`` decides; at the same second a Disabled transition
    wins (a script that disables and schedules in one go must not get its key re-enabled).
    """
    candidates = [
        t
        for t in transitions
        if t.time <= before and (exclude_event_id is None or t.event_id != exclude_event_id)
    ]
    if not candidates:
        return RestoreVerdict(False, "no record of the key's state before the deletion was scheduled")
    latest = max(candidates, key=lambda t: (t.time, t.state == "Disabled"))
    when = latest.time.strftime("%Y-%m-%dT%H:%M:%SZ")
    described = f"{latest.source}: {latest.event_name} at {when}"
    if latest.state == "Enabled":
        return RestoreVerdict(True, f"the key was Enabled before the deletion was scheduled ({described})")
    return RestoreVerdict(
        False, f"the key was already Disabled before the deletion was scheduled ({described})"
    )
