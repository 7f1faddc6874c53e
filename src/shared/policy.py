"""Pure decisions: how severe an event is, whether to remediate, and why.

The README tables ("Severity rules", "Remediation decisions") are these functions in prose; the
unit tests walk them row by row. No I/O, no clock: every input is a field of a facts object.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.document import Severity

DESTRUCTIVE_EVENTS = frozenset({"ScheduleKeyDeletion", "DisableKey", "DeleteImportedKeyMaterial"})
RESTORING_EVENTS = frozenset({"CancelKeyDeletion", "EnableKey"})
KEY_DELETED = "KMS CMK Deletion"
REMINDER = "DeletionReminder"
PENDING_STATES = frozenset({"PendingDeletion", "PendingReplicaDeletion"})
UNUSABLE_STATES = PENDING_STATES | {"Disabled"}


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
    approved: bool = False  # the key carries a valid keyguard:allow-deletion approval
    key_state: str | None = None  # the key's state now (re-read)
    tripwire: bool = False  # a call failed because the key is pending deletion or disabled
    lockout: bool = False  # a new key policy no longer lets the account cancel the deletion


_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


def _bump(severity: Severity, by: int) -> Severity:
    return _ORDER[max(0, min(len(_ORDER) - 1, severity.rank + by))]


def severity_for(facts: SeverityFacts) -> tuple[Severity, list[str]]:
    """The alert's severity and the reasons behind it, in the order they were applied."""
    reasons: list[str] = []
    if facts.customer_managed is False:
        return Severity.LOW, ["the key is not customer managed"]
    if facts.tripwire:
        if facts.key_state in PENDING_STATES:
            severity = Severity.CRITICAL
            reasons.append("a call failed because the key is pending deletion: something still uses it")
        else:
            severity = Severity.HIGH
            reasons.append("a call failed because the key is disabled: something still uses it")
        return _averted(severity, facts, reasons)
    if facts.failed:
        severity = Severity.LOW
        reasons.append("the call failed: nothing changed")
        if facts.actor_is_root or facts.cross_account:
            severity = Severity.MEDIUM
            reasons.append("attempted by the root user or another account")
        return severity, reasons
    if facts.event_name in RESTORING_EVENTS:
        return Severity.LOW, [f"follow-up: {facts.event_name} restored the key"]

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
    elif facts.event_name == "PutKeyPolicy":
        if facts.lockout:
            severity = Severity.CRITICAL
            reasons.append(
                "the new key policy no longer lets the account cancel the deletion or enable the key"
            )
        elif facts.key_state in UNUSABLE_STATES:
            severity = Severity.HIGH
            reasons.append(f"key policy changed while the key is {facts.key_state}")
        else:
            severity = Severity.LOW
            reasons.append("key policy changed on a usable key")
    elif facts.event_name == KEY_DELETED:
        if facts.dependencies > 0:
            severity = Severity.CRITICAL
            reasons.append("the key is deleted while resources still referenced it: their data is lost")
        elif not facts.discovery_complete:
            severity = Severity.HIGH
            reasons.append("the key is deleted; its dependencies could not all be checked")
        else:
            severity = Severity.MEDIUM
            reasons.append("the key is deleted; no dependencies were known")
    elif facts.event_name == REMINDER:
        if facts.days_until_deletion is not None and facts.days_until_deletion <= 1:
            severity = Severity.CRITICAL
            reasons.append("the key will be deleted within a day")
        else:
            severity = Severity.HIGH
            reasons.append("the key's deletion date is near")
    else:
        severity = Severity.MEDIUM
        reasons.append(f"{facts.event_name} on a monitored key")

    if facts.actor_is_root:
        severity = _bump(severity, 1)
        reasons.append("the root user acted")
    elif facts.cross_account:
        severity = _bump(severity, 1)
        reasons.append("a principal of another account acted")
    if facts.approved and facts.event_name in ("ScheduleKeyDeletion", "DisableKey", KEY_DELETED, REMINDER):
        severity = _bump(severity, -1)
        reasons.append("the deletion is approved")
    return _averted(severity, facts, reasons)


def _averted(severity: Severity, facts: SeverityFacts, reasons: list[str]) -> tuple[Severity, list[str]]:
    if facts.danger_averted and severity.rank > Severity.MEDIUM.rank:
        severity = _bump(severity, -1)
        reasons.append("remediation averted the danger")
    return severity, reasons


# ----- remediation --------------------------------------------------------------------------
class Action(StrEnum):
    NONE = "none"
    CANCEL_DELETION = "cancel-deletion"
    ENABLE_KEY = "enable-key"


@dataclass(frozen=True)
class RemediationFacts:
    mode: str  # off | dry-run | enforce
    scope: str  # tagged | with-dependencies | all
    event_name: str
    failed: bool = False
    tripwire: bool = False
    key_readable: bool = True
    customer_managed: bool = True
    key_state: str | None = None
    protected: bool = False  # the protect tag is "true"
    dependencies: int = 0
    discovery_complete: bool = True
    approved: bool = False
    approval_text: str | None = None
    caused_by_self: bool = False
    reenable_disabled_keys: bool = False
    protect_tag_key: str = "keyguard:protect"


@dataclass(frozen=True)
class RemediationPlan:
    action: Action
    reasons: list[str] = field(default_factory=list)
    outcome: str | None = None  # the alert's outcome when nothing is done

    @classmethod
    def skip(cls, outcome: str, reason: str | None = None) -> RemediationPlan:
        return cls(Action.NONE, [reason or outcome], outcome)


def plan_remediation(facts: RemediationFacts) -> RemediationPlan:
    """What remediation should do for this event, before the key's state is re-checked."""
    if facts.mode == "off":
        return RemediationPlan.skip("remediation is off")
    if facts.caused_by_self:
        return RemediationPlan.skip(
            "skipped: caused by kms-keyguard (loop guard)",
            "the call was made by kms-keyguard's own role (loop guard)",
        )
    if facts.failed and not facts.tripwire:
        return RemediationPlan.skip(
            "not needed: the call failed: nothing changed", "the call failed: nothing changed"
        )
    if not facts.key_readable:
        return RemediationPlan.skip("not needed: the key could not be read", "the key could not be read")
    if not facts.customer_managed:
        return RemediationPlan.skip(
            "not needed: the key is not customer managed", "the key is not customer managed"
        )
    if facts.approved:
        return RemediationPlan.skip(f"exempt: {facts.approval_text or 'approved deletion'}")

    pending = facts.key_state in PENDING_STATES
    if facts.event_name == "ScheduleKeyDeletion" or (facts.tripwire and pending):
        action = Action.CANCEL_DELETION
    elif facts.event_name == "DisableKey" or (facts.tripwire and facts.key_state == "Disabled"):
        if not facts.reenable_disabled_keys:
            reason = "re-enabling disabled keys is off (REENABLE_DISABLED_KEYS)"
            return RemediationPlan.skip(f"not needed: {reason}", reason)
        action = Action.ENABLE_KEY
    else:
        reason = f"no remediation applies to {facts.event_name}"
        return RemediationPlan.skip(f"not needed: {reason}", reason)

    reasons = [_scope_reason(facts)]
    if not _in_scope(facts):
        return RemediationPlan.skip("not in scope", f"not in scope: {reasons[0]}")
    return RemediationPlan(action, reasons)


def _in_scope(facts: RemediationFacts) -> bool:
    if facts.scope == "all":
        return True
    if facts.scope == "with-dependencies":
        return facts.protected or facts.tripwire or facts.dependencies > 0 or not facts.discovery_complete
    return facts.protected


def _scope_reason(facts: RemediationFacts) -> str:
    tag = f"{facts.protect_tag_key}=true"
    if facts.scope == "all":
        return "scope all: every customer managed key"
    if facts.scope == "with-dependencies":
        if facts.protected:
            return f"scope with-dependencies: the key is tagged {tag}"
        if facts.tripwire:
            return "scope with-dependencies: a failed call proves a live dependency"
        if facts.dependencies > 0:
            return f"scope with-dependencies: {facts.dependencies} dependent resources found"
        if not facts.discovery_complete:
            return "scope with-dependencies: the dependency search was incomplete (treated as at risk)"
        return "scope with-dependencies: no dependencies found and the key is not tagged " + tag
    if facts.protected:
        return f"scope tagged: the key is tagged {tag}"
    return f"scope tagged: the key is not tagged {tag}"


# ----- restore evidence ---------------------------------------------------------------------
@dataclass(frozen=True)
class Transition:
    """A call that left the key Enabled or Disabled, from CloudTrail or keyguard's own journal."""

    time: datetime
    state: str  # "Enabled" | "Disabled"
    event_name: str
    source: str  # "CloudTrail" | "keyguard journal"
    event_id: str | None = None


# Calls that leave a key Enabled or Disabled. ScheduleKeyDeletion is not one: it is the change
# whose "before" we are asking about. CancelKeyDeletion always leaves the key Disabled.
ENABLING_EVENTS = frozenset({"CreateKey", "EnableKey", "ImportKeyMaterial"})
DISABLING_EVENTS = frozenset({"DisableKey", "CancelKeyDeletion"})


def transition_state(event_name: str) -> str | None:
    if event_name in ENABLING_EVENTS:
        return "Enabled"
    if event_name in DISABLING_EVENTS:
        return "Disabled"
    return None


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


# ----- tripwire -----------------------------------------------------------------------------
# Administrative calls (and tool reads) that fail on a key pending deletion say nothing about a
# workload needing it.
_ADMIN_EVENTS = frozenset(
    {
        "ScheduleKeyDeletion",
        "CancelKeyDeletion",
        "DisableKey",
        "EnableKey",
        "PutKeyPolicy",
        "DeleteImportedKeyMaterial",
        "ImportKeyMaterial",
        "TagResource",
        "UntagResource",
        "EnableKeyRotation",
        "DisableKeyRotation",
        "RotateKeyOnDemand",
        "UpdateKeyDescription",
        "CreateAlias",
        "UpdateAlias",
        "DeleteAlias",
        "ReplicateKey",
        "UpdatePrimaryRegion",
        # Reads that tools (keyguard itself included) make on any key; they prove no workload.
        "DescribeKey",
        "GetKeyPolicy",
        "GetKeyRotationStatus",
        "ListGrants",
        "ListKeyPolicies",
        "ListResourceTags",
        "ListAliases",
        "GetKeyLastUsage",
    }
)
TRIPWIRE_ERROR = "KMSInvalidStateException"


def is_tripwire(event_name: str, error_code: str | None, key_state: str | None) -> bool:
    """A call rejected because the key is pending deletion (or disabled): a live dependency.

    Decided on the error code and the key's re-read state, never on the error message.
    """
    return error_code == TRIPWIRE_ERROR and event_name not in _ADMIN_EVENTS and key_state in UNUSABLE_STATES
