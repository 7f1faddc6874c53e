"""Assemble: the alert document from what the other steps found.

One place builds the documents for every kind of notice: CloudTrail alerts, the "key deleted"
notice, reminders and unprocessable events; ``sections`` builds their parts (also for
``keyguard impact``) and ``headline`` their title and summary. Pure: no AWS, no clock (``now`` is
passed in); severity comes from ``policy.severity_for``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.approval import Approval, approval_note
from shared.assemble.finish import finished
from shared.assemble.headline import headline
from shared.assemble.notices import missed_event_alert, tamper_alert
from shared.assemble.sections import (
    actor_section,
    approval_section,
    event_section,
    fingerprint,
    iso,
    key_section,
    not_searched,
    remediation_section,
    tag_change_items,
)
from shared.config import Settings
from shared.document import (
    ActorSection,
    AlertDocument,
    DependenciesSection,
    EventSection,
    KeySection,
    Severity,
    TargetSection,
)
from shared.events import KEY_DELETED, REMINDER, Kind, SeverityRule, kms_event
from shared.journal import RememberedDependencies
from shared.key_inventory import KeySnapshot
from shared.lockout import PolicyVerdict
from shared.models import CloudTrailRecord, event_window
from shared.parse import KeyDeletion
from shared.policy import (
    Outcome,
    Remediation,
    SeverityFacts,
    danger_averted,
    severity_for,
)
from shared.sanitize import clean
from shared.tagwatch import tag_changes
from shared.triage import Triage

__all__ = [
    "Findings",
    "deleted_alert",
    "event_alert",
    "headline",
    "invalid_event_alert",
    "key_section",
    "missed_event_alert",
    "not_searched",
    "reminder_alert",
    "tamper_alert",
    "with_remembered",
]


@dataclass(frozen=True)
class Findings:
    """What the responder's steps found for one CloudTrail record."""

    record: CloudTrailRecord
    snapshot: KeySnapshot
    key_arn: str | None
    key_origin: str | None  # where in the event the key was found
    triage: Triage
    dependencies: DependenciesSection
    remediation: Remediation
    approval: Approval
    lockout: PolicyVerdict | None = None
    notes: tuple[str, ...] = ()  # from parsing, resolving and enriching, in that order


def event_alert(found: Findings, settings: Settings, now: datetime) -> AlertDocument:
    """The alert for a CloudTrail record."""
    record, snapshot, remediation = found.record, found.snapshot, found.remediation
    kind = found.triage.kind
    notes = list(found.notes)
    identity: dict[str, Any] = {"arn": found.key_arn}
    raw_reference = record.raw_key_reference()
    if (found.key_arn is None or not snapshot.readable) and raw_reference:
        # Never lose the key's identity: keep what the event said, sanitised, and say so.
        reference = clean(raw_reference, 300)
        tail = reference.rsplit("/", 1)[-1] if "/" in reference else reference
        identity.update(reference=reference, id=snapshot.key_id or clean(tail, 128))
        if found.key_arn is None:
            notes.append(f"The event's key reference '{reference}' could not be read as a KMS key.")
    if remediation.resulting_state and snapshot.readable and remediation.resulting_state != snapshot.state:
        notes.append(f"After remediation the key is {remediation.resulting_state} (it was {snapshot.state}).")
    approval_text = approval_note(found.approval, settings.allow_deletion_tag_key)
    if approval_text:
        notes.append(approval_text)
    if kind is Kind.TRIPWIRE:
        notes.extend(_tripwire_notes(record, snapshot))
    target = None
    if kms_event(record.event_name).severity is SeverityRule.KEY_STORE_CHANGED:
        store = (record.request_parameters or {}).get("customKeyStoreId")
        store_name = clean(str(store), 100) if store else None
        target = TargetSection(
            service="kms.amazonaws.com", resource_type="KMS custom key store", name=store_name
        )
        notes.append(
            f"Custom key store {store_name or '(not named by the event)'}: while it is disconnected or "
            "deleted, every KMS key in it is Unavailable; the reconciliation pass reports each such key."
        )
    window, _ = event_window(record)
    scheduled = kms_event(record.event_name).severity is SeverityRule.DELETION_SCHEDULED and not record.failed
    short = scheduled and window < settings.short_window_days
    if not snapshot.readable:
        notes.append("The key could not be read; this alert is built from the event alone.")
        if record.event_deletion_date and scheduled:
            notes.append(f"The event reports deletion on '{record.event_deletion_date}' (unverified).")
    if snapshot.state == "PendingReplicaDeletion":
        notes.append(
            "This multi-Region primary key waits for its replicas to be deleted: it has no "
            "deletion date until the last replica is gone, then its own window starts."
        )
    if short:
        notes.append(f"Short pending window: {window} days (threshold {settings.short_window_days}).")

    key_account = found.key_arn.split(":")[4] if found.key_arn else record.account
    actor = actor_section(record, key_account)
    key = key_section(snapshot, now, remediation.resulting_state)
    lockout = found.lockout
    changes = tag_changes(record, settings.protect_tag_key, settings.allow_deletion_tag_key)
    severity, reasons = severity_for(
        SeverityFacts(
            event_name=record.event_name,
            failed=record.failed,
            customer_managed=snapshot.is_customer_managed if snapshot.readable else None,
            dependencies=found.dependencies.total,
            discovery_complete=found.dependencies.complete,
            days_until_deletion=key.days_until_deletion,
            short_window=short,
            actor_is_root=actor.is_root,
            cross_account=actor.cross_account,
            danger_averted=danger_averted(remediation),
            approved=found.approval.honoured,
            key_state=snapshot.state,
            tripwire=kind is Kind.TRIPWIRE,
            lockout=bool(lockout and lockout.lockout),
            guard_key=settings.is_guard_key(found.key_arn),
            protect_removed=any(change.weakens_protection for change in changes),
            approval_set=any(change.role == "approval" and not change.removed for change in changes),
        )
    )
    notes.append("Severity: " + "; ".join(reasons) + ".")
    return finished(
        AlertDocument(
            alert_id=record.event_id or fingerprint(record.model_dump(mode="json", by_alias=True)),
            kind=kind.value,
            severity=severity,
            title="",
            summary="",
            event=event_section(record, found.key_origin, short).model_copy(
                update={"tag_changes": tag_change_items(changes)}
            ),
            actor=actor,
            key=key.model_copy(update=identity),
            dependencies=found.dependencies,
            remediation=remediation_section(remediation),
            notes=notes,
            generated_at=iso(now) or "",
            target=target,
            approval=approval_section(found.approval),
        ),
        settings.allow_deletion_tag_key,
    )


def _tripwire_notes(record: CloudTrailRecord, snapshot: KeySnapshot) -> list[str]:
    ident = record.user_identity
    caller = ident.arn or ident.invoked_by or ident.principal_id or "an unknown caller"
    notes = [
        f"Tripwire: {record.event_name} by {caller} failed with {record.error_code} because the key "
        f"is {snapshot.state or 'unusable'}: something still depends on this key."
    ]
    context = (record.request_parameters or {}).get("encryptionContext")
    if isinstance(context, Mapping) and context:
        pairs = ", ".join(f"{k}={v}" for k, v in sorted(context.items()))
        notes.append(f"Encryption context of the failed call: {pairs}.")
    if ident.invoked_by:
        notes.append(f"The call was made through {ident.invoked_by}.")
    return notes


def with_remembered(
    current: DependenciesSection, remembered: RememberedDependencies | None
) -> tuple[DependenciesSection, list[str]]:
    """Dependencies found now, plus those last recorded while the key existed (not found again)."""
    notes = ["Dependencies were searched again by key id and ARN (the key's aliases were deleted with it)."]
    items = list(current.items)
    seen = {(i.service, i.resource_type, i.arn or i.name, i.region) for i in items}
    if remembered is None:
        notes.append("No dependency list was recorded for this key while it existed.")
    else:
        notes.append(
            f"Last dependency list recorded while the key existed: {remembered.total} resources "
            f"on {remembered.recorded_at}."
        )
        for item in remembered.items:
            ident = (item.service, item.resource_type, item.arn or item.name, item.region)
            if ident not in seen:
                seen.add(ident)
                evidence = f"last known on {remembered.recorded_at}: {item.evidence}"
                items.append(item.model_copy(update={"evidence": evidence}))
    counts: dict[str, int] = {}
    for item in items:
        counts[item.resource_type] = counts.get(item.resource_type, 0) + 1
    merged = current.model_copy(update={"items": items, "total": len(items), "counts": counts})
    return merged, notes


def deleted_alert(
    deletion: KeyDeletion,
    raw: Mapping[str, Any],
    dependencies: DependenciesSection,
    notes: list[str],
    mode: str,
    now: datetime,
) -> AlertDocument:
    """The final notice: KMS deleted the key at the end of its pending window."""
    envelope = deletion.envelope
    severity, reasons = severity_for(
        SeverityFacts(
            event_name=KEY_DELETED,
            dependencies=dependencies.total,
            discovery_complete=dependencies.complete,
        )
    )
    return finished(
        AlertDocument(
            alert_id=envelope.id or fingerprint(dict(raw)),
            kind=Kind.DELETED.value,
            severity=severity,
            title="",
            summary="",
            event=EventSection(
                name=KEY_DELETED,
                id=envelope.id,
                time=iso(envelope.time),
                region=envelope.region,
                account=envelope.account,
            ),
            actor=ActorSection(
                type="AWSService",
                arn=None,
                account=envelope.account,
                principal="kms.amazonaws.com",
                invoked_by="kms.amazonaws.com",
                source_ip=None,
                user_agent=None,
                via_console=False,
                mfa=None,
            ),
            key=KeySection(arn=deletion.key_arn, id=deletion.key_id, readable=False, state="Deleted"),
            dependencies=dependencies,
            remediation=remediation_section(
                Remediation(
                    mode, Outcome.NOT_POSSIBLE, detail="the key is deleted", resulting_state="Deleted"
                )
            ),
            notes=[*notes, "Severity: " + "; ".join(reasons) + "."],
            generated_at=iso(now) or "",
        )
    )


def reminder_alert(
    snapshot: KeySnapshot,
    remembered: RememberedDependencies | None,
    approval: Approval,
    settings: Settings,
    now: datetime,
) -> AlertDocument:
    """The reminder that a scheduled deletion is near (dependencies as last discovered)."""
    key_arn = str(snapshot.arn)
    key = key_section(snapshot, now)
    notes = []
    if remembered is not None:
        dependencies = DependenciesSection(
            complete=remembered.complete,
            total=remembered.total,
            items=remembered.items,
            items_omitted=max(0, remembered.total - len(remembered.items)),
        )
        notes.append(f"Dependencies as last discovered on {remembered.recorded_at} (not searched again).")
    else:
        dependencies = not_searched("reminders reuse earlier results")
    approval_text = approval_note(approval, settings.allow_deletion_tag_key)
    if approval_text:
        notes.append(approval_text)
    severity, reasons = severity_for(
        SeverityFacts(
            event_name=REMINDER,
            dependencies=dependencies.total,
            discovery_complete=dependencies.complete,
            days_until_deletion=key.days_until_deletion,
            approved=approval.honoured,
            key_state=snapshot.state,
        )
    )
    notes.append("Severity: " + "; ".join(reasons) + ".")
    mode = settings.remediation_mode.value
    return finished(
        AlertDocument(
            alert_id=f"reminder-{snapshot.key_id}-{now.date().isoformat()}",
            kind=Kind.REMINDER.value,
            severity=severity,
            title="",
            summary="",
            event=EventSection(
                name=REMINDER, id=None, time=iso(now), region=snapshot.region, account=key_arn.split(":")[4]
            ),
            actor=ActorSection.nobody(),
            key=key,
            dependencies=dependencies,
            remediation=remediation_section(
                Remediation(
                    mode, Outcome.NOT_ATTEMPTED, detail="reminders never act", resulting_state=snapshot.state
                )
            ),
            notes=notes,
            generated_at=iso(now) or "",
            approval=approval_section(approval),
        ),
        settings.allow_deletion_tag_key,
    )


def invalid_event_alert(event: Any, reason: str, mode: str, now: datetime) -> AlertDocument:
    """An event that could not be parsed: reported (medium), never dropped."""
    raw = event if isinstance(event, Mapping) else {"value": repr(event)[:200]}
    event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    return finished(
        AlertDocument(
            alert_id=event_id or fingerprint(raw),
            kind=Kind.INVALID_EVENT.value,
            severity=Severity.MEDIUM,
            title="",
            summary="",
            event=EventSection(
                name=str(raw.get("detail-type") or "unknown"),
                id=event_id,
                time=None,
                region=raw.get("region") if isinstance(raw.get("region"), str) else None,
                account=raw.get("account") if isinstance(raw.get("account"), str) else None,
            ),
            actor=ActorSection.nobody(),
            key=KeySection(arn=None, id=None, readable=False),
            dependencies=not_searched("the event could not be parsed"),
            remediation=remediation_section(
                Remediation(mode, Outcome.NOT_ATTEMPTED, detail="the event could not be parsed")
            ),
            notes=[reason],
            generated_at=iso(now) or "",
        )
    )
