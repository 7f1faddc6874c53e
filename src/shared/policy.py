"""Pure decisions: how severe an event is, and why.

The table in the README ("Severity rules") is this function in prose; the unit tests walk it row by
row. No I/O, no clock: every input is a field of ``SeverityFacts``.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.alert import Severity

DESTRUCTIVE_EVENTS = frozenset({"ScheduleKeyDeletion", "DisableKey", "DeleteImportedKeyMaterial"})


@dataclass(frozen=True)
class SeverityFacts:
    event_name: str
    failed: bool = False  # the call carried an errorCode
    customer_managed: bool | None = True  # None: the key could not be read
    dependencies: int = 0
    discovery_complete: bool = True
    days_until_deletion: int | None = None
    short_window: bool = False
    actor_is_root: bool = False
    cross_account: bool = False
    danger_averted: bool = False  # remediation cancelled the deletion / re-enabled the key


_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


def _bump(severity: Severity, by: int) -> Severity:
    return _ORDER[max(0, min(len(_ORDER) - 1, severity.rank + by))]


def severity_for(facts: SeverityFacts) -> tuple[Severity, list[str]]:
    """The alert's severity and the reasons behind it, in the order they were applied."""
    reasons: list[str] = []
    if facts.customer_managed is False:
        return Severity.LOW, ["the key is not customer managed"]
    if facts.failed:
        severity = Severity.LOW
        reasons.append("the call failed: nothing changed")
        if facts.actor_is_root or facts.cross_account:
            severity = Severity.MEDIUM
            reasons.append("attempted by the root user or another account")
        return severity, reasons

    at_risk = facts.dependencies > 0 or not facts.discovery_complete
    if facts.event_name == "DeleteImportedKeyMaterial":
        severity = Severity.CRITICAL
        reasons.append("imported key material deleted: the key is unusable now")
    elif facts.event_name == "ScheduleKeyDeletion":
        if at_risk:
            severity = Severity.CRITICAL
            reasons.append("deletion scheduled for a key with dependencies (or unverified ones)")
        elif facts.short_window or (facts.days_until_deletion is not None and facts.days_until_deletion <= 7):
            severity = Severity.CRITICAL
            reasons.append("deletion scheduled with a short pending window")
        else:
            severity = Severity.HIGH
            reasons.append("deletion scheduled; no dependencies found")
    elif facts.event_name == "DisableKey":
        if at_risk:
            severity = Severity.HIGH
            reasons.append("key disabled while resources depend on it (or may)")
        else:
            severity = Severity.MEDIUM
            reasons.append("key disabled; no dependencies found")
    else:
        severity = Severity.MEDIUM
        reasons.append(f"{facts.event_name} on a monitored key")

    if facts.actor_is_root:
        severity = _bump(severity, 1)
        reasons.append("the root user acted")
    elif facts.cross_account:
        severity = _bump(severity, 1)
        reasons.append("a principal of another account acted")
    if facts.danger_averted and severity.rank > Severity.MEDIUM.rank:
        severity = _bump(severity, -1)
        reasons.append("remediation averted the danger")
    return severity, reasons
