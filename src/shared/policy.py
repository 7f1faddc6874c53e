"""Pure decisions: how severe an event is, whether to remediate, and why.

The README tables ("Severity rules", "Remediation decisions") are these functions in prose; the
unit tests walk them row by row. No I/O, no clock: every input is a field of a facts object.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from shared.document import Severity
from shared.events import KEY_DELETED as KEY_DELETED  # re-exported: the severity rules name them
from shared.events import REMINDER as REMINDER
from shared.events import TRIPWIRE_ERROR as TRIPWIRE_ERROR  # re-exported: remediation reads it
from shared.events import TRIPWIRE_ERRORS, Action, SeverityRule, kms_event
from shared.restore import RestoreVerdict as RestoreVerdict  # re-exported: remediation reads them
from shared.restore import Transition as Transition
from shared.restore import state_before as state_before
from shared.restore import transition_state as transition_state

PENDING_STATES = frozenset({"PendingDeletion", "PendingReplicaDeletion"})
# States in which a key cannot be used for cryptography ("Key states of AWS KMS keys":
# https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html): pending deletion, disabled,
# waiting for its imported key material (deleted or expired), or in a disconnected custom key store.
UNUSABLE_STATES = PENDING_STATES | {"Disabled", "PendingImport", "Unavailable"}


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
    approved: bool = False  # the key's keyguard:allow-deletion approval is valid AND verified in CloudTrail
    key_state: str | None = None  # the key's state now (re-read)
    tripwire: bool = False  # a call failed because the key is pending deletion or disabled
    lockout: bool = False  # a new key policy no longer lets the account cancel deletion or enable
    guard_key: bool = False  # one of the stack's own keys (GUARD_KEY_ARNS): always critical
    protect_removed: bool = False  # the call removed the protect tag, or set it to a non-protecting value
    approval_set: bool = False  # the call set the approval tag


# An approved deletion (keyguard:allow-deletion) lowers these by one level.
_APPROVAL_LOWERS = frozenset(
    {
        SeverityRule.DELETION_SCHEDULED,
        SeverityRule.KEY_DISABLED,
        SeverityRule.KEY_DELETED,
        SeverityRule.REMINDER,
    }
)
_ORDER = [Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]


def _bump(severity: Severity, by: int) -> Severity:
    return _ORDER[max(0, min(len(_ORDER) - 1, severity.rank + by))]


def missed_event_severity(key_state: str | None, guard_key: bool) -> tuple[Severity, list[str]]:
    """An unusable key nobody was alerted about (the key event was never delivered)."""
    if guard_key:
        return Severity.CRITICAL, [f"one of kms-keyguard's own keys is {key_state} and no alert was sent"]
    if key_state in PENDING_STATES:
        return Severity.CRITICAL, ["the key is pending deletion and nobody was alerted"]
    return Severity.HIGH, [f"the key is {key_state} and nobody was alerted"]


def tamper_severity(failed: bool) -> tuple[Severity, list[str]]:
    """A call that would silence or blind the guard: critical when it succeeded, high when it was
    refused (someone with access to the account tried; nothing changed)."""
    if failed:
        return Severity.HIGH, ["an attempt to tamper with the guard or its inputs failed: nothing changed"]
    return Severity.CRITICAL, ["the guard or one of its inputs was tampered with"]


def severity_for(facts: SeverityFacts) -> tuple[Severity, list[str]]:
    """The alert's severity and the reasons behind it, in the order they were applied."""
    if facts.guard_key:
        # The alert path itself depends on this key: whatever happened, someone must look now.
        return Severity.CRITICAL, [f"{facts.event_name} on one of kms-keyguard's own keys"]
    reasons: list[str] = []
    if facts.customer_managed is False:
        return Severity.LOW, ["the key is not customer managed"]
    if facts.tripwire:
        if facts.key_state in PENDING_STATES:
            severity = Severity.CRITICAL
            reasons.append("a call failed because the key is pending deletion: something still uses it")
        else:
            severity = Severity.HIGH
            state = (
                (facts.key_state or "unusable").lower() if facts.key_state == "Disabled" else facts.key_state
            )
            reasons.append(f"a call failed because the key is {state}: something still uses it")
        return _averted(severity, facts, reasons)
    if facts.failed:
        severity = Severity.LOW
        reasons.append("the call failed: nothing changed")
        if facts.actor_is_root or facts.cross_account:
            severity = Severity.MEDIUM
            reasons.append("attempted by the root user or another account")
        return severity, reasons
    rule = kms_event(facts.event_name).severity
    if rule is SeverityRule.RESTORED:
        if facts.key_state == "Enabled":
            return Severity.LOW, [f"follow-up: {facts.event_name} restored the key"]
        return Severity.MEDIUM, [f"follow-up: {facts.event_name}, but the key is still {facts.key_state}"]

    at_risk = facts.dependencies > 0 or not facts.discovery_complete
    if rule is SeverityRule.MATERIAL_DELETED:
        severity = Severity.CRITICAL
        reasons.append("imported key material deleted or expired: the key is unusable now")
    elif rule is SeverityRule.KEY_STORE_CHANGED:
        if facts.event_name == "UpdateCustomKeyStore":
            severity = Severity.MEDIUM
            reasons.append("a custom key store's settings changed: its keys may become unusable")
        else:
            severity = Severity.HIGH
            reasons.append("a custom key store was disconnected or deleted: its keys are unusable")
    elif rule is SeverityRule.DELETION_SCHEDULED:
        if at_risk:
            severity = Severity.CRITICAL
            reasons.append("deletion scheduled for a key with dependencies (or unverified ones)")
        elif facts.short_window or (facts.days_until_deletion is not None and facts.days_until_deletion <= 7):
            severity = Severity.CRITICAL
            reasons.append("deletion scheduled with a short pending window")
        else:
            severity = Severity.HIGH
            reasons.append("deletion scheduled; no dependencies found")
    elif rule is SeverityRule.KEY_DISABLED:
        if at_risk:
            severity = Severity.HIGH
            reasons.append("key disabled while resources depend on it (or may)")
        else:
            severity = Severity.MEDIUM
            reasons.append("key disabled; no dependencies found")
    elif rule is SeverityRule.POLICY_CHANGED:
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
    elif rule is SeverityRule.KEY_DELETED:
        if facts.dependencies > 0:
            severity = Severity.CRITICAL
            reasons.append("the key is deleted while resources still referenced it: their data is lost")
        elif not facts.discovery_complete:
            severity = Severity.HIGH
            reasons.append("the key is deleted; its dependencies could not all be checked")
        else:
            severity = Severity.MEDIUM
            reasons.append("the key is deleted; no dependencies were known")
    elif rule is SeverityRule.TAG_CHANGED:
        if facts.protect_removed:
            severity = Severity.HIGH
            reasons.append(
                "the protect tag was removed: remediation in scope tagged no longer covers the key"
            )
        elif facts.approval_set:
            severity = Severity.MEDIUM
            reasons.append("an approval to delete the key was recorded")
        else:
            severity = Severity.LOW
            reasons.append("a protect or approval tag changed; the key is not less protected")
    elif rule is SeverityRule.REMINDER:
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
    if facts.approved and rule in _APPROVAL_LOWERS:
        severity = _bump(severity, -1)
        reasons.append("the deletion is approved")
    return _averted(severity, facts, reasons)


def _averted(severity: Severity, facts: SeverityFacts, reasons: list[str]) -> tuple[Severity, list[str]]:
    if facts.danger_averted and severity.rank > Severity.MEDIUM.rank:
        severity = _bump(severity, -1)
        reasons.append("remediation averted the danger")
    return severity, reasons


# ----- remediation --------------------------------------------------------------------------
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
    # What left the search incomplete, "finder [region]: reason" (denied, throttled, timed out).
    incomplete_finders: tuple[str, ...] = ()
    approved: bool = False
    approval_text: str | None = None
    caused_by_self: bool = False
    reenable_disabled_keys: bool = False
    protect_tag_key: str = "keyguard:protect"
    guard_key: bool = False  # one of the stack's own keys: put back whatever mode and scope say


class Outcome(StrEnum):
    """What remediation did, or why it did nothing. Decisions read this; people read ``text``."""

    OFF = "off"
    LOOP_GUARD = "loop-guard"
    NOT_NEEDED = "not-needed"
    EXEMPT = "exempt"
    NOT_IN_SCOPE = "not-in-scope"
    NOT_ATTEMPTED = "not-attempted"
    NOT_POSSIBLE = "not-possible"
    WOULD_CANCEL = "would-cancel"
    WOULD_CANCEL_AND_REENABLE = "would-cancel-and-reenable"
    WOULD_REENABLE = "would-reenable"
    ALREADY_CANCELLED = "already-cancelled"
    ALREADY_ENABLED = "already-enabled"
    CANCELLED_EARLIER = "cancelled-earlier"  # by an earlier delivery of the same event
    REENABLED_EARLIER = "reenabled-earlier"
    CANCELLED = "cancelled"  # and left Disabled
    CANCELLED_AND_REENABLED = "cancelled-and-reenabled"
    REENABLE_FAILED = "reenable-failed"  # cancelled, but the re-enable failed
    REENABLED = "reenabled"
    FAILED = "failed"

    def text(self, detail: str | None = None) -> str:
        """The alert's ``remediation.outcome``; ``detail`` fills the outcomes that carry one."""
        return _OUTCOME_TEXT[self].format(detail=detail)

    @property
    def metric(self) -> str:
        """The suffix of the ``Remediation<...>`` metric (one per outcome, low cardinality)."""
        return _OUTCOME_METRIC.get(self, "None")

    @property
    def takes_key_out_of_danger(self) -> bool:
        """The deletion is cancelled or the key re-enabled (now, or by an earlier delivery)."""
        return self in _OUT_OF_DANGER


_OUTCOME_TEXT = {
    Outcome.OFF: "remediation is off",
    Outcome.LOOP_GUARD: "skipped: caused by kms-keyguard (loop guard)",
    Outcome.NOT_NEEDED: "not needed: {detail}",
    Outcome.EXEMPT: "exempt: {detail}",
    Outcome.NOT_IN_SCOPE: "not in scope",
    Outcome.NOT_ATTEMPTED: "not attempted: {detail}",
    Outcome.NOT_POSSIBLE: "not possible: {detail}",
    Outcome.WOULD_CANCEL: "would cancel the deletion and leave it Disabled",
    Outcome.WOULD_CANCEL_AND_REENABLE: "would cancel the deletion and re-enable it",
    Outcome.WOULD_REENABLE: "would re-enable the key",
    Outcome.ALREADY_CANCELLED: "already cancelled",
    Outcome.ALREADY_ENABLED: "already enabled",
    Outcome.CANCELLED_EARLIER: "cancelled (on an earlier delivery of this event)",
    Outcome.REENABLED_EARLIER: "re-enabled (on an earlier delivery of this event)",
    Outcome.CANCELLED: "cancelled; left Disabled",
    Outcome.CANCELLED_AND_REENABLED: "cancelled and re-enabled",
    Outcome.REENABLE_FAILED: "cancelled; re-enable failed: {detail}",
    Outcome.REENABLED: "re-enabled",
    Outcome.FAILED: "failed: {detail}",
}
_OUTCOME_METRIC = {
    Outcome.WOULD_CANCEL: "DryRun",
    Outcome.WOULD_CANCEL_AND_REENABLE: "DryRun",
    Outcome.WOULD_REENABLE: "DryRun",
    Outcome.ALREADY_CANCELLED: "AlreadyDone",
    Outcome.ALREADY_ENABLED: "AlreadyDone",
    Outcome.CANCELLED_EARLIER: "Cancelled",
    Outcome.REENABLED_EARLIER: "Reenabled",
    Outcome.CANCELLED: "Cancelled",
    Outcome.CANCELLED_AND_REENABLED: "CancelledReenabled",
    Outcome.REENABLE_FAILED: "Cancelled",
    Outcome.REENABLED: "Reenabled",
    Outcome.FAILED: "Failed",
}
_OUT_OF_DANGER = frozenset(
    {
        Outcome.CANCELLED_EARLIER,
        Outcome.REENABLED_EARLIER,
        Outcome.CANCELLED,
        Outcome.CANCELLED_AND_REENABLED,
        Outcome.REENABLE_FAILED,
        Outcome.REENABLED,
    }
)


@dataclass(frozen=True)
class Remediation:
    """What remediation did for one event: a typed result; the alert's wording is rendered from it."""

    mode: str  # off | dry-run | enforce
    result: Outcome
    action: str = "none"  # what was (or in dry-run would have been) done
    detail: str | None = None  # the error code, the reason: whatever ``result``'s text names
    resulting_state: str | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        return self.result.text(self.detail)


def danger_averted(remediation: Remediation) -> bool:
    """Whether remediation took the key out of danger (lowers the alert's severity)."""
    return remediation.mode == "enforce" and remediation.result.takes_key_out_of_danger


@dataclass(frozen=True)
class RemediationPlan:
    action: Action
    reasons: list[str] = field(default_factory=list)
    result: Outcome | None = None  # why nothing is done (``None`` when ``action`` is one)
    detail: str | None = None

    @classmethod
    def skip(cls, result: Outcome, detail: str | None = None, reason: str | None = None) -> RemediationPlan:
        return cls(Action.NONE, [reason or result.text(detail)], result, detail)


def plan_remediation(facts: RemediationFacts) -> RemediationPlan:
    """What remediation should do for this event, before the key's state is re-checked."""
    if facts.mode == "off" and not facts.guard_key:
        return RemediationPlan.skip(Outcome.OFF)
    if facts.caused_by_self:
        return RemediationPlan.skip(
            Outcome.LOOP_GUARD, reason="the call was made by kms-keyguard's own role (loop guard)"
        )
    if facts.failed and not facts.tripwire:
        reason = "the call failed: nothing changed"
        return RemediationPlan.skip(Outcome.NOT_NEEDED, reason, reason)
    if not facts.key_readable:
        reason = "the key could not be read"
        return RemediationPlan.skip(Outcome.NOT_NEEDED, reason, reason)
    if not facts.customer_managed:
        reason = "the key is not customer managed"
        return RemediationPlan.skip(Outcome.NOT_NEEDED, reason, reason)
    if facts.approved and not facts.guard_key:
        return RemediationPlan.skip(Outcome.EXEMPT, facts.approval_text or "approved deletion")

    pending = facts.key_state in PENDING_STATES
    remedy = kms_event(facts.event_name).remedy
    if remedy is Action.CANCEL_DELETION or (facts.tripwire and pending):
        action = Action.CANCEL_DELETION
    elif remedy is Action.ENABLE_KEY or (facts.tripwire and facts.key_state == "Disabled"):
        if not (facts.reenable_disabled_keys or facts.guard_key):
            reason = "re-enabling disabled keys is off (REENABLE_DISABLED_KEYS)"
            return RemediationPlan.skip(Outcome.NOT_NEEDED, reason, reason)
        action = Action.ENABLE_KEY
    else:
        reason = f"no remediation applies to {facts.event_name}"
        return RemediationPlan.skip(Outcome.NOT_NEEDED, reason, reason)

    reasons = [_scope_reason(facts)]
    if not _in_scope(facts):
        return RemediationPlan.skip(Outcome.NOT_IN_SCOPE, reason=f"not in scope: {reasons[0]}")
    return RemediationPlan(action, reasons)


def _in_scope(facts: RemediationFacts) -> bool:
    if facts.scope == "all" or facts.guard_key:
        return True
    if facts.scope == "with-dependencies":
        return facts.protected or facts.tripwire or facts.dependencies > 0 or not facts.discovery_complete
    return facts.protected


def _scope_reason(facts: RemediationFacts) -> str:
    tag = f"{facts.protect_tag_key}=true"
    if facts.guard_key:
        return "one of kms-keyguard's own keys: always put back, whatever the mode and scope"
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
            named = "; ".join(facts.incomplete_finders[:3])
            more = len(facts.incomplete_finders) - 3
            named += f"; {more} more" if more > 0 else ""
            return "scope with-dependencies: the dependency search was incomplete (treated as at risk)" + (
                f": {named}" if named else ""
            )
        return "scope with-dependencies: no dependencies found and the key is not tagged " + tag
    if facts.protected:
        return f"scope tagged: the key is tagged {tag}"
    return f"scope tagged: the key is not tagged {tag}"


# ----- tripwire -----------------------------------------------------------------------------
def is_tripwire(event_name: str, error_code: str | None, key_state: str | None) -> bool:
    """A call rejected because the key is pending deletion (or disabled): a live dependency.

    Decided on the error code, the event table (administrative calls and reads prove nothing) and
    the key's re-read state, never on the error message.
    """
    return error_code in TRIPWIRE_ERRORS and kms_event(event_name).tripwire and key_state in UNUSABLE_STATES
