"""The machine-readable alert document (``schema_version`` "1").

This model is the single source of truth for ``schemas/alert.schema.json``: the schema file is
generated from it (``make schema``) and a test fails when the two drift apart.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1"

# Every ``kind`` the responder emits (``shared.events.Kind``; a test holds the two together).
AlertKind = Literal[
    "alert",
    "attempt",
    "tripwire",
    "resolved",
    "deleted",
    "reminder",
    "invalid-event",
    "tamper",
    "missed-event",
]
ALERT_KINDS: tuple[str, ...] = get_args(AlertKind)

# RFC 3339 date-time as the documents write it: ``2026-11-29T03:11:52Z`` (UTC, to the second), or
# with fractional seconds or an offset when a service reported one. The pattern makes the schema
# reject a bad date even where a validator does not check ``format``.
DateTime = Annotated[
    str,
    Field(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
        json_schema_extra={"format": "date-time"},
    ),
]


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return ["low", "medium", "high", "critical"].index(self.value)


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TagChangeItem(_Doc):
    """A change the call made to the protect or approval tag."""

    tag: str = Field(description="the tag key")
    role: Literal["protect", "approval"]
    change: Literal["set", "removed"]
    value: str | None = Field(default=None, description="the value set (sanitised); null when removed")
    weakens_protection: bool = Field(
        default=False, description="the protect tag removed, or set to a value that does not protect"
    )


class EventSection(_Doc):
    name: str
    id: str | None
    time: DateTime | None = Field(description="ISO 8601 event time (UTC)")
    region: str | None
    account: str | None
    error_code: str | None = None
    error_message: str | None = None
    pending_window_days: int | None = None
    pending_window_is_default: bool | None = None
    short_window: bool = False
    requested_key: str | None = Field(default=None, description="keyId exactly as the caller typed it")
    key_resolved_from: str | None = None
    event_deletion_date: str | None = Field(
        default=None, description="deletionDate as CloudTrail displayed it (never parsed)"
    )
    event_key_state: str | None = None
    event_version: str | None = None
    tag_changes: list[TagChangeItem] = Field(
        default_factory=list, description="TagResource / UntagResource: the protect and approval tag changes"
    )


class ActorSection(_Doc):
    type: str | None
    arn: str | None
    account: str | None
    principal: str | None = Field(default=None, description="role/<name> or user/<name>")
    session_name: str | None = None
    invoked_by: str | None = None
    source_ip: str | None
    user_agent: str | None
    via_console: bool
    mfa: bool | None
    is_root: bool = False
    cross_account: bool = False

    @classmethod
    def nobody(cls) -> ActorSection:
        """No caller: notices the function raises itself (reminders, unreadable events)."""
        return cls(
            type=None, arn=None, account=None, source_ip=None, user_agent=None, via_console=False, mfa=None
        )


class KeySection(_Doc):
    arn: str | None
    id: str | None
    readable: bool = Field(description="whether DescribeKey succeeded; false means built from the event")
    aliases: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    state: str | None = None
    deletion_date: DateTime | None = Field(default=None, description="ISO 8601, from DescribeKey")
    days_until_deletion: int | None = None
    pending_window_days: int | None = None
    manager: str | None = None
    origin: str | None = None
    spec: str | None = None
    usage: str | None = None
    multi_region: bool | None = None
    multi_region_role: str | None = None
    primary_arn: str | None = None
    replica_arns: list[str] = Field(default_factory=list)
    creation_date: DateTime | None = None
    description: str | None = None
    rotation_enabled: bool | None = None
    reference: str | None = Field(
        default=None,
        description="the key reference exactly as the event gave it (sanitised), when it could not be "
        "resolved to a key",
    )


class DependencyItem(_Doc):
    service: str
    resource_type: str
    arn: str | None
    name: str
    region: str
    evidence: str
    via: Literal["config", "api"] | None = Field(
        default=None,
        description="how it was found: 'config' from the AWS Config index, 'api' from the service's own API",
    )
    captured_at: DateTime | None = Field(
        default=None,
        description="via 'config': when AWS Config captured the configuration it was found in (ISO 8601)",
    )
    account: str | None = Field(
        default=None,
        description="the account the resource is in, when it is not the key's own (organization mode)",
    )


# What an unchecked finder means for the search (``DependenciesSection.complete``).
UncheckedEffect = Literal["incomplete", "not-offered", "evidence-only"]


class UncheckedFinder(_Doc):
    finder: str
    reason: str
    region: str | None = None
    effect: UncheckedEffect = Field(
        default="incomplete",
        description=(
            "incomplete: the search is a lower bound (denied, throttled, timed out, failed); "
            "not-offered: the service has no endpoint in the Region, so nothing there can use the key; "
            "evidence-only: a usage-evidence reader, not a resource search"
        ),
    )
    limit: str | None = Field(
        default=None,
        description="the limit that stopped it, e.g. 'kinesis:DescribeStreamSummary, 20 calls a second'",
    )
    checked: int | None = Field(default=None, description="resources checked before it stopped")
    listed: int | None = Field(default=None, description="resources listed (of which 'checked' were checked)")


class IndexFallback(_Doc):
    resource_type: str
    reason: str


class IndexSection(_Doc):
    """How far the AWS Config index was used, and how old its answer may be."""

    source: Literal["aws-config"] = "aws-config"
    used: bool = Field(description="whether any resource type was answered from the index")
    aggregator: str | None = Field(default=None, description="organization aggregator queried, if any")
    recording: str | None = Field(default=None, description="recording frequency: continuous, daily, mixed")
    resource_types: list[str] = Field(
        default_factory=list, description="resource types answered from the index (their API finders skipped)"
    )
    fallback: list[IndexFallback] = Field(
        default_factory=list,
        description="indexable resource types searched through their APIs instead, and why",
    )
    queries: int = 0
    oldest_capture: DateTime | None = Field(
        default=None, description="capture time of the oldest configuration item found (ISO 8601)"
    )
    note: str | None = Field(default=None, description="freshness: what the index may not show yet")


class GrantItem(_Doc):
    grant_id: str
    grantee_principal: str | None = None
    retiring_principal: str | None = None
    operations: list[str] = Field(default_factory=list)
    service: str | None = None
    resource: str | None = Field(default=None, description="resource named by the encryption context")
    name: str | None = None


class UsagePrincipal(_Doc):
    principal: str
    calls: int
    operations: list[str] = Field(default_factory=list)
    invoked_by: list[str] = Field(default_factory=list)
    encryption_context: list[str] = Field(default_factory=list)
    last_seen: DateTime | None = None


class UsageEvidence(_Doc):
    last_usage: DateTime | None = Field(default=None, description="GetKeyLastUsage answer, ISO 8601")
    last_usage_operation: str | None = None
    last_usage_note: str | None = None
    lookback_days: int | None = None
    events_examined: int = 0
    principals: list[UsagePrincipal] = Field(default_factory=list)
    principals_omitted: int = Field(default=0, description="principals left out of the list (size limit)")


class AccountSearch(_Doc):
    """Another account the key policy or a grant names, and whether its resources were searched."""

    account: str
    named_by: list[str] = Field(description="what names the account: 'key policy', 'grant'")
    searched: bool
    found: int = Field(default=0, description="resources found there that name the key by its ARN")
    reason: str | None = Field(
        default=None, description="why it was not searched, or searched only in part; null when complete"
    )


class DependenciesSection(_Doc):
    complete: bool
    total: int
    counts: dict[str, int] = Field(default_factory=dict)
    items: list[DependencyItem] = Field(default_factory=list)
    items_omitted: int = 0
    unchecked: list[UncheckedFinder] = Field(default_factory=list)
    regions_searched: list[str] = Field(default_factory=list)
    grants: list[GrantItem] = Field(default_factory=list)
    grants_omitted: int = Field(default=0, description="grants left out of the list (size limit)")
    usage: UsageEvidence | None = None
    elapsed_seconds: float | None = None
    index: IndexSection | None = None
    accounts: list[AccountSearch] = Field(
        default_factory=list,
        description="other accounts named by the key policy or grants (organization mode): searched or not",
    )

    def unchecked_as(self, effect: UncheckedEffect) -> list[UncheckedFinder]:
        """The unchecked finders of one effect (``incomplete`` ones make the search incomplete)."""
        return [u for u in self.unchecked if u.effect == effect]


class RemediationSection(_Doc):
    mode: Literal["off", "dry-run", "enforce"]
    action: str = Field(description="what was (or in dry-run would have been) done, or 'none'")
    outcome: str
    result: str | None = Field(
        default=None,
        description="the outcome as a code: cancelled, cancelled-and-reenabled, reenable-failed, failed, ...",
    )
    resulting_state: str | None = None
    reasons: list[str] = Field(default_factory=list)


class TargetSection(_Doc):
    """What a tamper call touched: a resource the guard depends on (not a key)."""

    service: str = Field(description="CloudTrail eventSource, e.g. cloudtrail.amazonaws.com")
    resource_type: str = Field(description="e.g. 'CloudTrail trail', 'EventBridge rule'")
    name: str | None = Field(description="the resource as the call named it (sanitised), or null")


class ApprovalSection(_Doc):
    """The key's keyguard:allow-deletion approval, and what CloudTrail says about it."""

    status: Literal["approved", "expired", "malformed"] = Field(
        description="the tag's own terms: 'approved' is well formed, not lapsed, within ApprovalMaxDays"
    )
    reference: str | None = None
    until: str | None = Field(default=None, description="the last day it is valid (YYYY-MM-DD)")
    verification: Literal[
        "not checked", "verified", "unverified", "forged: same principal", "tagged after scheduling"
    ] = Field(description="only a 'verified' approval exempts from remediation or lowers severity")
    honoured: bool = Field(description="exempts from remediation and lowers severity")
    evidence: str | None = Field(
        default=None, description="what CloudTrail showed, or why it was not checked"
    )


class AlertDocument(_Doc):
    schema_version: Literal["1"] = "1"
    alert_id: str
    kind: AlertKind = Field(
        description="alert, attempt (the call failed), tripwire, resolved (the key is Enabled again), "
        "deleted, reminder, invalid-event, tamper (a call on the guard's own resources), missed-event "
        "(found by reconciliation)"
    )
    severity: Severity
    title: str
    summary: str
    event: EventSection
    actor: ActorSection
    key: KeySection
    dependencies: DependenciesSection
    remediation: RemediationSection
    next_steps: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    generated_at: DateTime
    target: TargetSection | None = Field(
        default=None, description="tamper alerts: the guard's resource the call touched"
    )
    approval: ApprovalSection | None = Field(
        default=None, description="the key's approval tag, when it carries one"
    )
