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

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shared.models import KEY_DELETION_DETAIL_TYPE

KEY_DELETED = KEY_DELETION_DETAIL_TYPE  # KMS's own event when a deletion completes
REMINDER = "DeletionReminder"  # the event name of the daily reminder pass's notices
MISSED_EVENT = "MissedEvent"  # the event name of the reconciliation pass's notices
# The error a call gets when the key's state forbids it (pending deletion, disabled), per "Key
# states of AWS KMS keys": https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
TRIPWIRE_ERROR = "KMSInvalidStateException"
# The errors a workload's call gets when the key cannot be used: a Disabled key refuses
# cryptographic calls with DisabledException, a key pending deletion with DisabledException or
# KMSInvalidStateException (https://docs.aws.amazon.com/kms/latest/APIReference/API_Decrypt.html,
# "Errors"). The tripwire rule matches both; the responder decides from the re-read key state.
TRIPWIRE_ERRORS = frozenset({TRIPWIRE_ERROR, "DisabledException"})
IMPORTED_MATERIAL_EXPIRED = "KMS Imported Key Material Expiration"  # KMS's own event
CLOUDTRAIL_SERVICE_EVENT = "AWS Service Event via CloudTrail"  # detail-type of AwsServiceEvent records


class Route(StrEnum):
    """How the event reaches the function (one EventBridge rule each)."""

    ALERTING = "alerting"  # the changes kms-keyguard exists for, successful or not
    LIFECYCLE = "lifecycle"  # follow-ups and other key-level changes
    NATIVE = "native"  # KMS's own events, and the service events CloudTrail records for KMS
    SCHEDULE = "schedule"  # raised by the function itself on a schedule
    TRIPWIRE = "tripwire"  # not routed by name: arrives only when it fails with TRIPWIRE_ERRORS
    # Tampering with the guard or its inputs (``TAMPER_TABLE``), one rule each.
    TAMPER_TRAIL = "tamper-trail"  # CloudTrail (any trail) and the stack's EventBridge rules
    TAMPER_COMPUTE = "tamper-compute"  # the stack's functions, table, queues and central bus
    TAMPER_ALERTING = "tamper-alerting"  # the stack's topics, alarms and log groups


class Kind(StrEnum):
    """The kind of notice (the alert document's ``kind``)."""

    ALERT = "alert"
    ATTEMPT = "attempt"  # the call failed: someone tried
    TRIPWIRE = "tripwire"  # a call failed because of the key's state: something still uses the key
    RESOLVED = "resolved"  # a follow-up: the danger an earlier alert reported is gone
    DELETED = "deleted"
    REMINDER = "reminder"
    INVALID_EVENT = "invalid-event"
    TAMPER = "tamper"  # a call that would silence or blind the guard (``TAMPER_TABLE``)
    MISSED_EVENT = "missed-event"  # the reconciliation pass found an unusable key nobody alerted on


class SeverityRule(StrEnum):
    """Which row of the severity rules (``policy.severity_for``) rates a successful call."""

    DELETION_SCHEDULED = "deletion-scheduled"
    KEY_DISABLED = "key-disabled"
    MATERIAL_DELETED = "material-deleted"
    KEY_STORE_CHANGED = "key-store-changed"  # a custom key store disconnected, deleted or changed
    POLICY_CHANGED = "policy-changed"
    RESTORED = "restored"
    KEY_DELETED = "key-deleted"
    REMINDER = "reminder"
    TAG_CHANGED = "tag-changed"  # the protect or approval tag set or removed (``shared.tagwatch``)
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
    # The request field naming the tag a rule filters on ("tags.tagKey"): routed only when the
    # call names the protect or approval tag.
    tag_field: str | None = None
    # The event's detail-type, for the native route (matched by detail-type, or by name inside
    # a CloudTrail service event).
    detail_type: str | None = None
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
    # Custom key store changes: a disconnected or deleted store leaves its keys Unavailable.
    *(
        KmsEvent(name, Route.LIFECYCLE, severity=SeverityRule.KEY_STORE_CHANGED, tripwire=False)
        for name in ("DisconnectCustomKeyStore", "DeleteCustomKeyStore", "UpdateCustomKeyStore")
    ),
    # Changes to the protect or approval tag (other tags are not routed): each its own alert, the
    # headline and severity from what the request set or removed (``shared.tagwatch``).
    KmsEvent(
        "TagResource",
        Route.LIFECYCLE,
        severity=SeverityRule.TAG_CHANGED,
        tripwire=False,
        tag_field="tags.tagKey",
        done="tagged",
        attempt="tag",
    ),
    KmsEvent(
        "UntagResource",
        Route.LIFECYCLE,
        severity=SeverityRule.TAG_CHANGED,
        tripwire=False,
        tag_field="tagKeys",
        done="untagged",
        attempt="untag",
    ),
    KmsEvent(
        KEY_DELETED,
        Route.NATIVE,
        Kind.DELETED,
        SeverityRule.KEY_DELETED,
        done="deleted",
        detail_type=KEY_DELETED,
    ),
    # Imported key material expired (KMS's own event) and KMS deleted it (a CloudTrail service
    # event): the key is PendingImport, unusable until the material is imported again.
    KmsEvent(
        IMPORTED_MATERIAL_EXPIRED,
        Route.NATIVE,
        severity=SeverityRule.MATERIAL_DELETED,
        tripwire=False,
        done="imported key material expired",
        detail_type=IMPORTED_MATERIAL_EXPIRED,
        headline="imported key material of key {label} expired",
    ),
    KmsEvent(
        "DeleteExpiredKeyMaterial",
        Route.NATIVE,
        severity=SeverityRule.MATERIAL_DELETED,
        tripwire=False,
        done="expired key material deleted",
        detail_type=CLOUDTRAIL_SERVICE_EVENT,
        headline="expired key material deleted from key {label}",
    ),
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


@dataclass(frozen=True)
class TamperCall:
    """Calls on one service that would silence or blind the guard, and how a record names the
    resource they touch (the request field each tamper rule filters on).

    Request fields follow each API's CloudTrail record (``requestParameters`` keep the API's member
    names). Lambda records some calls with an API-version suffix (``DeleteFunction20150331``,
    ``UpdateFunctionConfiguration20150331v2``), so its names match as prefixes:
    https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html
    """

    source: str  # the EventBridge source ("aws.cloudtrail")
    event_source: str  # CloudTrail's eventSource ("cloudtrail.amazonaws.com")
    names: tuple[str, ...]
    route: Route
    resource_field: str | None  # the requestParameters field naming the resource (None: any)
    what: str  # "CloudTrail trail": what the resource is, in the alert's words
    prefix: bool = False
    # Request fields naming the resource, for the alert (default: the filter field).
    named_by: tuple[str, ...] = ()

    def resource(self, request_parameters: Mapping[str, Any] | None) -> str | None:
        """The resource the call named, as the record gives it (lists joined), or ``None``."""
        values: list[str] = []
        for name in self.named_by or ((self.resource_field,) if self.resource_field else ()):
            value = (request_parameters or {}).get(name)
            if isinstance(value, list):
                value = ", ".join(str(v) for v in value)
            if value not in (None, ""):
                values.append(f"{value}" if not values else f"{name} {value}")
        return "; ".join(values) or None

    def matches(self, event_source: str | None, event_name: str) -> bool:
        if event_source != self.event_source:
            return False
        if self.prefix:
            return any(event_name.startswith(name) for name in self.names)
        return event_name in self.names


TAMPER_TABLE: tuple[TamperCall, ...] = (
    # Any trail (the filter field names which): without a logging trail the guard is blind.
    TamperCall(
        "aws.cloudtrail",
        "cloudtrail.amazonaws.com",
        ("StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"),
        Route.TAMPER_TRAIL,
        None,
        "CloudTrail trail",
        named_by=("name", "trailName"),
    ),
    TamperCall(
        "aws.events",
        "events.amazonaws.com",
        ("DisableRule", "DeleteRule", "PutRule"),
        Route.TAMPER_TRAIL,
        "name",
        "EventBridge rule",
    ),
    # PutTargets with an existing target id replaces (redirects) that target.
    TamperCall(
        "aws.events",
        "events.amazonaws.com",
        ("RemoveTargets", "PutTargets"),
        Route.TAMPER_TRAIL,
        "rule",
        "EventBridge rule",
    ),
    TamperCall(
        "aws.lambda",
        "lambda.amazonaws.com",
        (
            "DeleteFunction",  # also DeleteFunctionConcurrency, DeleteFunctionEventInvokeConfig
            "PutFunctionConcurrency",
            "UpdateFunctionConfiguration",
            "UpdateFunctionCode",
            "RemovePermission",
            "PutFunctionEventInvokeConfig",
            "UpdateFunctionEventInvokeConfig",
        ),
        Route.TAMPER_COMPUTE,
        "functionName",
        "Lambda function",
        prefix=True,
    ),
    # Organization mode: the central bus the member accounts forward to (only this stack's rules
    # are on it). Rule and permission calls name the bus in eventBusName
    # (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutRule.html); deleting the
    # bus needs its rules deleted first, which this row catches.
    TamperCall(
        "aws.events",
        "events.amazonaws.com",
        (
            "DisableRule",
            "DeleteRule",
            "PutRule",
            "RemoveTargets",
            "PutTargets",
            "PutPermission",
            "RemovePermission",
        ),
        Route.TAMPER_COMPUTE,
        "eventBusName",
        "EventBridge central bus",
    ),
    TamperCall(
        "aws.dynamodb",
        "dynamodb.amazonaws.com",
        ("DeleteTable", "UpdateTable"),
        Route.TAMPER_COMPUTE,
        "tableName",
        "DynamoDB table",
    ),
    TamperCall(
        "aws.sqs",
        "sqs.amazonaws.com",
        ("DeleteQueue", "SetQueueAttributes", "PurgeQueue"),
        Route.TAMPER_COMPUTE,
        "queueUrl",
        "SQS queue",
    ),
    TamperCall(
        "aws.sns",
        "sns.amazonaws.com",
        ("DeleteTopic", "SetTopicAttributes"),
        Route.TAMPER_ALERTING,
        "topicArn",
        "SNS topic",
    ),
    TamperCall(
        "aws.sns",
        "sns.amazonaws.com",
        ("Unsubscribe",),
        Route.TAMPER_ALERTING,
        "subscriptionArn",
        "SNS subscription",
    ),
    TamperCall(
        "aws.monitoring",
        "monitoring.amazonaws.com",
        ("DisableAlarmActions", "DeleteAlarms"),
        Route.TAMPER_ALERTING,
        "alarmNames",
        "CloudWatch alarm",
    ),
    TamperCall(
        "aws.monitoring",
        "monitoring.amazonaws.com",
        ("PutMetricAlarm",),
        Route.TAMPER_ALERTING,
        "alarmName",
        "CloudWatch alarm",
    ),
    TamperCall(
        "aws.logs",
        "logs.amazonaws.com",
        ("DeleteLogGroup", "DeleteMetricFilter"),
        Route.TAMPER_ALERTING,
        "logGroupName",
        "CloudWatch Logs log group",
        named_by=("logGroupName", "filterName"),
    ),
)

TAMPER_ROUTES = frozenset({Route.TAMPER_TRAIL, Route.TAMPER_COMPUTE, Route.TAMPER_ALERTING})


def tamper_call(event_source: str | None, event_name: str) -> TamperCall | None:
    """The tamper row for a non-KMS call, or ``None`` when the call is not tampering."""
    return next((row for row in TAMPER_TABLE if row.matches(event_source, event_name)), None)
