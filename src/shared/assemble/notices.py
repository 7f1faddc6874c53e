"""Notices that are not about one KMS call on a key: tampering with the guard, and a key the
reconciliation pass found unusable with no alert on record."""

from __future__ import annotations

from datetime import datetime

from shared.assemble.finish import finished
from shared.assemble.sections import (
    actor_section,
    event_section,
    fingerprint,
    iso,
    key_section,
    not_searched,
    remediation_section,
)
from shared.config import Settings
from shared.document import (
    ActorSection,
    AlertDocument,
    EventSection,
    KeySection,
    TargetSection,
)
from shared.events import MISSED_EVENT, Kind, TamperCall
from shared.key_inventory import KeySnapshot
from shared.models import CloudTrailRecord
from shared.policy import (
    PENDING_STATES,
    Outcome,
    Remediation,
    missed_event_severity,
    tamper_severity,
)
from shared.sanitize import clean


def tamper_alert(
    record: CloudTrailRecord, call: TamperCall, mode: str, now: datetime, notes: tuple[str, ...] = ()
) -> AlertDocument:
    """A call that would silence or blind the guard: who did what to which of its resources."""
    resource = call.resource(record.request_parameters)
    severity, reasons = tamper_severity(record.failed)
    target = TargetSection(
        service=record.event_source or "unknown",
        resource_type=call.what,
        name=clean(resource, 300) if resource else None,
    )
    named = f"{call.what} {target.name}" if target.name else f"a {call.what} the record does not name"
    if record.failed:
        done = f"{record.event_name} on {named} was refused ({record.error_code})."
    else:
        done = f"{record.event_name} on {named} succeeded."
    return finished(
        AlertDocument(
            alert_id=record.event_id or fingerprint(record.model_dump(mode="json", by_alias=True)),
            kind=Kind.TAMPER.value,
            severity=severity,
            title="",
            summary="",
            event=event_section(record, None, False),
            actor=actor_section(record, record.account),
            key=KeySection(arn=None, id=None, readable=False),
            dependencies=not_searched("a tamper alert is not about a key"),
            remediation=remediation_section(
                Remediation(mode, Outcome.NOT_ATTEMPTED, detail="tampering is reported, never undone")
            ),
            next_steps=[
                f"Confirm with the caller that {record.event_name} on this {call.what} was intended; "
                "if not, revoke the caller's credentials and restore the resource (redeploy the stack).",
                "Until it is restored, kms-keyguard may not see or report KMS key events: check keys "
                "for missed deletions with `keyguard audit`.",
            ],
            notes=[*notes, done, "Severity: " + "; ".join(reasons) + "."],
            generated_at=iso(now) or "",
            target=target,
        )
    )


def missed_event_alert(snapshot: KeySnapshot, settings: Settings, now: datetime) -> AlertDocument:
    """A key found unusable by the reconciliation pass with no alert on record: its key event was
    never delivered (EventBridge delivers CloudTrail events best effort), or never routed."""
    key_arn = str(snapshot.arn)
    state = snapshot.state
    severity, reasons = missed_event_severity(state, settings.is_guard_key(key_arn))
    key = key_section(snapshot, now)
    target = f"--key-id {snapshot.key_id} --region {snapshot.region}"
    steps = [
        "Find who changed the key and when: CloudTrail event history for the key "
        "(ScheduleKeyDeletion, DisableKey, DeleteImportedKeyMaterial, custom key store changes).",
    ]
    if state in PENDING_STATES:
        steps += [
            f"To keep the key: aws kms cancel-key-deletion {target}",
            f"Then re-enable it if it was Enabled before (cancelling leaves it Disabled): "
            f"aws kms enable-key {target}",
        ]
    elif state == "Disabled":
        steps.append(f"To use the key again: aws kms enable-key {target}")
    elif state == "PendingImport":
        steps.append("Import the key material again (it was deleted or expired) to make the key usable.")
    elif state == "Unavailable":
        steps.append("Reconnect the key's custom key store to make the key usable again.")
    mode = settings.remediation_mode.value
    return finished(
        AlertDocument(
            alert_id=f"missed-{snapshot.key_id}-{state}-{now.date().isoformat()}",
            kind=Kind.MISSED_EVENT.value,
            severity=severity,
            title="",
            summary="",
            event=EventSection(
                name=MISSED_EVENT,
                id=None,
                time=iso(now),
                region=snapshot.region,
                account=key_arn.split(":")[4],
            ),
            actor=ActorSection.nobody(),
            key=key,
            dependencies=not_searched("the reconciliation pass reads keys only"),
            remediation=remediation_section(
                Remediation(
                    mode,
                    Outcome.NOT_ATTEMPTED,
                    detail="the reconciliation pass never acts",
                    resulting_state=state,
                )
            ),
            next_steps=steps,
            notes=[
                f"The key is {state}, but no alert about it in this state is on record: the key event "
                "was not delivered to kms-keyguard (EventBridge delivers CloudTrail events best "
                "effort) or happened while the guard was not listening.",
                "Severity: " + "; ".join(reasons) + ".",
            ],
            generated_at=iso(now) or "",
        )
    )
