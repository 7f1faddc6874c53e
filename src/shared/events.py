"""One table of the KMS events kms-keyguard knows by name, and what each means to it.

Every other module reads this table instead of keeping its own set of names: which EventBridge
rule routes the event (``template.yaml``, checked against this table by a contract test), what
kind of notice a successful call makes, which severity rule rates it, what remediation undoes it,
which state it leaves the key in (the journal's restore evidence), whether a call rejected with
``KMSInvalidStateException`` proves that a workload still needs the key (the tripwire), and the
words a notice uses for it.

Adding an event is one row here (plus the rule pattern in ``template.yaml`` if a rule should
route it); ``tests/unit/test_events.py`` and ``tests/contract/test_event_table.py`` hold the rest
of the project to it. A name missing from the table is an ordinary call: reported as seen when it
arrives, a tripwire when it fails because the key is pending deletion or disabled.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.models import KEY_DELETION_DETAIL_TYPE

KEY_DELETED = KEY_DELETION_DETAIL_TYPE  # KMS's own event when a deletion completes
REMINDER = "DeletionReminder"  # the event name of the daily reminder pass's notices
# The error a call gets when the key's state forbids it (pending deletion, disabled), per "Key
# states of AWS KMS keys": https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
TRIPWIRE_ERROR = "KMSInvalidStateException"


class Route(StrEnum):
    """How the event reaches the function (one EventBridge rule each)."""

    ALERTING = "alerting"  # the changes kms-keyguard exists for, successful or not
    LIFECYCLE = "lifecycle"  # follow-ups and other key-level changes
    NATIVE = "native"  # KMS's own event, matched on its detail-type
    SCHEDULE = "schedule"  # raised by the function itself on a schedule
    TRIPWIRE = "tripwire"  # not routed by name: arrives only when it fails with TRIPWIRE_ERROR


class Kind(StrEnum):
    """The kind of notice (the alert document's ``kind``)."""

    ALERT = "alert"
    ATTEMPT = "attempt"  # the call failed: someone tried
    TRIPWIRE = "tripwire"  # a call failed because of the key's state: something still uses the key
    RESOLVED = "resolved"  # a follow-up: the danger an earlier alert reported is gone
    DELETED = "deleted"
    REMINDER = "reminder"
    INVALID_EVENT = "invalid-event"


class SeverityRule(StrEnum):
    """Which row of the severity rules (``policy.severity_for``) rates a successful call."""

    DELETION_SCHEDULED = "deletion-scheduled"
    KEY_DISABLED = "key-disabled"
    MATERIAL_DELETED = "material-deleted"
    POLICY_CHANGED = "policy-changed"
    RESTORED = "restored"
    KEY_DELETED = "key-deleted"
    REMINDER = "reminder"
    OTHER = "other"


class Action(StrEnum):
    """What remediation does to undo an event."""

    NONE = "none"
    CANCEL_DELETION = "cancel-deletion"
    ENABLE_KEY = "enable-key"


@dataclass(frozen=True)
class KmsEvent:
    """One row: an event name and everything the project decides from it."""

    name: str
    route: Route = Route.TRIPWIRE
    kind: Kind = Kind.ALERT  # the notice a successful call makes
    severity: SeverityRule = SeverityRule.OTHER
    remedy: Action = Action.NONE
    leaves: str | None = None  # "Enabled" | "Disabled": the key's state after a successful call
    tripwire: bool = True  # a call rejected for the key's state proves a workload needs the key
    done: str | None = None  # "scheduled for deletion": what a successful call did to the key
    attempt: str | None = None  # "schedule deletion of": what a failed call tried to do
    headline: str | None = None  # the notice's title, with {label}, {state} and {when}

    @property
    def routed(self) -> bool:
        """Whether an EventBridge rule names this event (rather than catching it as a failure)."""
        return self.route in (Route.ALERTING, Route.LIFECYCLE)


# Administrative calls and the reads tools make on any key (keyguard itself included): rejected
# on a key pending deletion, they say nothing about a workload needing it.
_ADMINISTRATIVE = (
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
    "DescribeKey",
    "GetKeyPolicy",
    "GetKeyRotationStatus",
    "ListGrants",
    "ListKeyPolicies",
    "ListResourceTags",
    "ListAliases",
    "GetKeyLastUsage",
)

TABLE: tuple[KmsEvent, ...] = (
    KmsEvent(
        "ScheduleKeyDeletion",
        Route.ALERTING,
        severity=SeverityRule.DELETION_SCHEDULED,
        remedy=Action.CANCEL_DELETION,
        tripwire=False,
        done="scheduled for deletion",
        attempt="schedule deletion of",
        headline="key {label} scheduled for deletion {when}",
    ),
    KmsEvent(
        "DisableKey",
        Route.ALERTING,
        severity=SeverityRule.KEY_DISABLED,
        remedy=Action.ENABLE_KEY,
        leaves="Disabled",
        tripwire=False,
        done="disabled",
        attempt="disable",
        headline="key {label} disabled",
    ),
    KmsEvent(
        "CancelKeyDeletion",
        Route.LIFECYCLE,
        Kind.RESOLVED,
        SeverityRule.RESTORED,
        leaves="Disabled",  # cancelling always leaves the key Disabled
        tripwire=False,
        done="deletion cancelled",
        attempt="cancel deletion of",
        headline="key {label} deletion cancelled",
    ),
    KmsEvent(
        "EnableKey",
        Route.LIFECYCLE,
        Kind.RESOLVED,
        SeverityRule.RESTORED,
        leaves="Enabled",
        tripwire=False,
        done="re-enabled",
        attempt="enable",
        headline="key {label} re-enabled",
    ),
    KmsEvent(
        "DeleteImportedKeyMaterial",
        Route.LIFECYCLE,
        severity=SeverityRule.MATERIAL_DELETED,
        tripwire=False,
        done="imported key material deleted",
        attempt="delete imported key material of",
        headline="imported key material deleted from key {label}",
    ),
    KmsEvent(
        "PutKeyPolicy",
        Route.LIFECYCLE,
        severity=SeverityRule.POLICY_CHANGED,
        tripwire=False,
        headline="key policy of {label} changed while the key is {state}",
    ),
    KmsEvent(KEY_DELETED, Route.NATIVE, Kind.DELETED, SeverityRule.KEY_DELETED, done="deleted"),
    KmsEvent(REMINDER, Route.SCHEDULE, Kind.REMINDER, SeverityRule.REMINDER),
    KmsEvent("CreateKey", leaves="Enabled"),
    *(
        KmsEvent(name, leaves="Enabled" if name == "ImportKeyMaterial" else None, tripwire=False)
        for name in _ADMINISTRATIVE
    ),
)

_BY_NAME = {event.name: event for event in TABLE}


def kms_event(name: str) -> KmsEvent:
    """The row for ``name``; an unknown name gets the defaults (an ordinary call)."""
    return _BY_NAME.get(name) or KmsEvent(name)


def names(route: Route) -> frozenset[str]:
    """The names of the events one route delivers."""
    return frozenset(event.name for event in TABLE if event.route is route)
