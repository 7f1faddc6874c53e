"""The alert document's sections, built from the key snapshot, the record and the typed results.

Every notice (CloudTrail alerts, the "key deleted" notice, reminders, unprocessable events) and
``keyguard impact`` take their sections from here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from shared.approval import Approval, ApprovalStatus
from shared.document import (
    ActorSection,
    ApprovalSection,
    DependenciesSection,
    EventSection,
    KeySection,
    RemediationSection,
    TagChangeItem,
    UncheckedFinder,
)
from shared.events import SeverityRule, kms_event
from shared.key_inventory import KeySnapshot
from shared.models import CloudTrailRecord, event_window
from shared.policy import PENDING_STATES, Remediation
from shared.sanitize import clean
from shared.tagwatch import TagChange


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC, to the second: ``2026-11-29T03:11:52Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def fingerprint(raw: Any) -> str:
    """An alert id for an event that carries none: stable across deliveries of the same event."""
    body = json.dumps(raw, sort_keys=True, default=str).encode()
    return "sha256-" + hashlib.sha256(body).hexdigest()[:32]


# ----- sections -----------------------------------------------------------------------------
def key_section(snapshot: KeySnapshot, now: datetime, state: str | None = None) -> KeySection:
    """The key as re-read; ``state`` is its state after remediation when that changed it."""
    state = state or snapshot.state
    pending = state in PENDING_STATES
    return KeySection(
        arn=snapshot.arn,
        id=snapshot.key_id,
        readable=snapshot.readable,
        aliases=snapshot.aliases or [],
        tags=snapshot.tags or {},
        state=state,
        deletion_date=iso(snapshot.deletion_date) if pending else None,
        days_until_deletion=snapshot.days_until_deletion(now) if pending else None,
        pending_window_days=snapshot.pending_window_days,
        manager=snapshot.manager,
        origin=snapshot.origin,
        spec=snapshot.spec,
        usage=snapshot.usage,
        multi_region=snapshot.multi_region,
        multi_region_role=snapshot.multi_region_role,
        primary_arn=snapshot.primary_arn,
        replica_arns=snapshot.replica_arns,
        creation_date=iso(snapshot.creation_date),
        description=snapshot.description,
        rotation_enabled=snapshot.rotation_enabled,
    )


def _principal(record: CloudTrailRecord) -> str | None:
    ident = record.user_identity
    issuer = ident.session_context.session_issuer if ident.session_context else None
    if ident.type == "AssumedRole":
        name = (issuer.user_name if issuer else None) or (ident.arn or "").split("/")[1:2]
        return f"role/{name[0] if isinstance(name, list) and name else name}" if name else None
    if ident.type == "IAMUser":
        return f"user/{ident.user_name or (ident.arn or '').rsplit('/', 1)[-1]}"
    if ident.type == "Root":
        return "root"
    if ident.type == "FederatedUser":
        return f"federated-user/{ident.session_name or ident.principal_id}"
    if ident.type == "AWSService":
        return ident.invoked_by
    if ident.type == "AWSAccount":
        return f"account/{ident.account_id}"
    return ident.arn or ident.principal_id


def actor_section(record: CloudTrailRecord, key_account: str | None) -> ActorSection:
    ident = record.user_identity
    attributes = ident.session_context.attributes if ident.session_context else None
    account = ident.account_id
    return ActorSection(
        type=ident.type,
        arn=ident.arn,
        account=account,
        principal=_principal(record),
        session_name=ident.session_name,
        invoked_by=ident.invoked_by,
        source_ip=record.source_ip_address,
        user_agent=record.user_agent,
        via_console=record.via_console,
        mfa=attributes.mfa_authenticated if attributes else None,
        is_root=ident.type == "Root",
        cross_account=bool(account and key_account and account != key_account),
    )


def event_section(record: CloudTrailRecord, origin: str | None, short_window: bool) -> EventSection:
    window, window_is_default = event_window(record)
    schedules = kms_event(record.event_name).severity is SeverityRule.DELETION_SCHEDULED
    return EventSection(
        name=record.event_name,
        id=record.event_id,
        time=iso(record.event_time),
        region=record.aws_region,
        account=record.account,
        error_code=record.error_code,
        error_message=record.error_message,
        pending_window_days=window if schedules else None,
        pending_window_is_default=window_is_default if schedules else None,
        short_window=short_window,
        requested_key=record.requested_key,
        key_resolved_from=origin,
        event_deletion_date=record.event_deletion_date,
        event_key_state=record.event_key_state,
        event_version=record.event_version,
    )


def not_searched(reason: str) -> DependenciesSection:
    return DependenciesSection(
        complete=False, total=0, unchecked=[UncheckedFinder(finder="all", reason=f"not searched: {reason}")]
    )


def remediation_section(remediation: Remediation) -> RemediationSection:
    return RemediationSection(
        mode=remediation.mode,
        action=remediation.action,
        outcome=remediation.outcome,
        result=remediation.result.value,
        resulting_state=remediation.resulting_state,
        reasons=remediation.reasons,
    )


def approval_section(approval: Approval) -> ApprovalSection | None:
    """The key's approval for the document (``None`` when the key carries no approval tag)."""
    if approval.status is ApprovalStatus.NONE:
        return None
    return ApprovalSection(
        status=approval.status.value,
        reference=clean(approval.reference, 100) if approval.reference else None,
        until=approval.until.isoformat() if approval.until else None,
        verification=approval.verification.value,
        honoured=approval.honoured,
        evidence=clean(approval.evidence, 500) if approval.evidence else None,
    )


def tag_change_items(changes: list[TagChange]) -> list[TagChangeItem]:
    return [
        TagChangeItem(
            tag=clean(change.tag, 128),
            role="protect" if change.role == "protect" else "approval",
            change="removed" if change.removed else "set",
            value=None if change.value is None else clean(change.value, 256),
            weakens_protection=change.weakens_protection,
        )
        for change in changes
    ]
