"""The verdict: one line, built from the alert's fields and never from free text, that opens the
text report and the chat card; and the SNS subject, its short ASCII form."""

from __future__ import annotations

from shared.alerting.common import PENDING_STATES, days_phrase, plural
from shared.document import AlertDocument, DependenciesSection
from shared.sanitize import ascii_line, clean

# SNS subjects must be "less than 100 characters long", one line, no control characters:
# https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/sns/aws.sdk.kotlin.services.sns.model/-publish-request/subject.html
SUBJECT_MAX_CHARS = 99

_DONE = {
    "ScheduleKeyDeletion": "scheduled for deletion",
    "DisableKey": "disabled",
    "CancelKeyDeletion": "deletion cancelled",
    "EnableKey": "re-enabled",
    "DeleteImportedKeyMaterial": "imported key material deleted",
    "KMS Imported Key Material Expiration": "has lost its imported key material (expired)",
    "DeleteExpiredKeyMaterial": "has lost its imported key material (expired, deleted by KMS)",
    "DeleteKey": "deleted",
    "KMS CMK Deletion": "deleted",
}
_ATTEMPT = {
    "ScheduleKeyDeletion": "schedule deletion of",
    "DisableKey": "disable",
    "CancelKeyDeletion": "cancel deletion of",
    "EnableKey": "enable",
    "DeleteImportedKeyMaterial": "delete imported key material of",
}
_DELETION_EVENTS = frozenset({"ScheduleKeyDeletion"})


def raw_key_label(doc: AlertDocument) -> str:
    """The name an engineer knows the key by: the alias the caller used, else the first alias."""
    key = doc.key
    requested = doc.event.requested_key or ""
    named = requested[requested.find("alias/") :] if "alias/" in requested else None
    if named and named in key.aliases:
        return named
    if key.aliases:
        return key.aliases[0]
    return key.id or key.arn or doc.event.requested_key or "(unknown key)"


def _key_label(doc: AlertDocument, max_len: int = 80) -> str:
    label = clean(raw_key_label(doc), max_len)
    extra = len(doc.key.aliases) - 1
    return f"{label} (+{plural(extra, 'alias', 'aliases')})" if extra > 0 else label


def _actor_label(doc: AlertDocument) -> str | None:
    actor = doc.actor
    if actor.is_root:
        who = "the account root user"
    else:
        raw = actor.principal or actor.arn or actor.invoked_by or actor.type
        if not raw:
            return None
        who = clean(raw, 80)
    if actor.session_name:
        who += f" ({clean(actor.session_name, 64)})"
    if actor.cross_account and actor.account:
        who += f" from account {clean(actor.account, 20)}"
    return who


def _target_label(doc: AlertDocument) -> str:
    target = doc.target
    if target is None:
        return "an unnamed resource"
    kind = clean(target.resource_type, 40)
    return f"{kind} {clean(target.name, 120)}" if target.name else f"a {kind} the record does not name"


def _deletion_timing(doc: AlertDocument) -> tuple[str, str]:
    """(phrase for the verdict, short form for the subject); empty when not about deletion."""
    key, event = doc.key, doc.event
    if event.name not in _DELETION_EVENTS and key.state not in PENDING_STATES:
        return "", ""
    if key.days_until_deletion is not None:
        days = key.days_until_deletion
        return f" {days_phrase(days)}", f"({max(days, 0)}d)"
    if key.state == "PendingReplicaDeletion":
        return " (waiting for its replica keys to be deleted first)", "(after replicas)"
    if not key.readable and event.event_deletion_date:
        return f" on {clean(event.event_deletion_date, 40)} (per the event, unverified)", "(unverified)"
    if event.pending_window_days:
        unverified = "" if key.readable else ", unverified"
        return (
            f" with a {event.pending_window_days}-day waiting period{unverified}",
            f"({event.pending_window_days}d window)",
        )
    return "", ""


def _dependency_phrase(deps: DependenciesSection) -> str:
    if deps.total:
        found = plural(deps.total, "dependent resource")
        return found if deps.complete else f"at least {found} (search incomplete)"
    return "no dependent resources found" if deps.complete else "dependency search incomplete"


def _remediation_phrase(doc: AlertDocument) -> str:
    rem = doc.remediation
    if rem.mode == "off" or rem.action in ("", "none"):
        return ""
    if rem.mode == "dry-run":
        return f"; dry-run, not done: {clean(rem.action, 60)}"
    return f"; remediation: {clean(rem.action, 60)} ({clean(rem.outcome, 60)})"


def verdict(doc: AlertDocument) -> str:
    """The one-line verdict, e.g. ``CRITICAL: key alias/prod-db scheduled for deletion in 7 days by
    role/ops-admin (alice); 12 dependent resources``. Built from the fields, never from free text."""
    severity = doc.severity.value.upper()
    event, key_label = doc.event, _key_label(doc)
    name = clean(event.name, 60)
    actor = _actor_label(doc)
    by = f" by {actor}" if actor else " by an unknown principal"
    if doc.kind == "invalid-event":
        return f"{severity}: could not interpret a {name} event; check the function's logs"
    if doc.kind == "missed-event":
        state = clean(doc.key.state, 40) if doc.key.state else "unusable"
        timing, _ = _deletion_timing(doc)
        return f"{severity}: key {key_label} is {state}{timing} and no alert was sent for it (missed event)"
    if doc.target is not None and doc.kind != "tamper":
        failed = f", failed ({clean(event.error_code, 60)})" if event.error_code else ""
        return f"{severity}: {name} on {_target_label(doc)}{by}{failed}"
    if doc.kind == "tamper":
        refused = f", refused ({clean(event.error_code, 60)})" if event.error_code else ""
        return f"{severity}: kms-keyguard tampered with: {name} on {_target_label(doc)}{by}{refused}"
    if doc.kind == "tripwire":
        state = clean(doc.key.state, 40) if doc.key.state else "unusable"
        return (
            f"{severity}: key {key_label} is {state} and still in use: {name}{by} failed "
            f"({clean(event.error_code or 'error', 60)}); {_dependency_phrase(doc.dependencies)}"
            f"{_remediation_phrase(doc)}"
        )
    if doc.kind == "resolved":
        state = f"; the key is now {clean(doc.key.state, 40)}" if doc.key.state else ""
        return f"{severity}: key {key_label} {_DONE.get(event.name, name + ' called')}{by}{state}"
    if event.error_code:
        verb = _ATTEMPT.get(event.name, f"call {name} on")
        return f"{severity}: failed attempt to {verb} key {key_label}{by} ({clean(event.error_code, 60)})"
    timing, _ = _deletion_timing(doc)
    if doc.kind == "reminder":
        action = "is still scheduled for deletion" if doc.key.state in PENDING_STATES else name
        return f"{severity}: key {key_label} {action}{timing}; {_dependency_phrase(doc.dependencies)}"
    action = _DONE.get(event.name, f"{name} called")
    if doc.kind == "deleted":
        return f"{severity}: key {key_label} has been deleted; {_dependency_phrase(doc.dependencies)}"
    return (
        f"{severity}: key {key_label} {action}{timing}{by}; "
        f"{_dependency_phrase(doc.dependencies)}{_remediation_phrase(doc)}"
    )


def short_what(doc: AlertDocument) -> str:
    """What happened, briefly: ``scheduled for deletion (7d)``, ``disabled``, ..."""
    event = doc.event
    if doc.kind == "invalid-event":
        return "event could not be interpreted"
    if doc.target is not None:
        return f"{'tampered with: ' if doc.kind == 'tamper' else ''}{event.name}"
    if doc.kind == "missed-event":
        return f"{doc.key.state or 'unusable'}, missed event"
    if doc.kind == "tripwire":
        return f"in use while {doc.key.state or 'unusable'} ({event.name} failed)"
    if event.error_code:
        return f"{event.name} attempt failed ({event.error_code})"
    if doc.kind == "deleted":
        return "deleted"
    what = f"{_DONE.get(event.name, event.name)} {_deletion_timing(doc)[1]}".strip()
    return f"reminder: {what}" if doc.kind == "reminder" else what


def render_subject(doc: AlertDocument) -> str:
    """An SNS subject: printable ASCII, one line, under 100 characters."""
    if doc.target is not None:
        what = "kms-keyguard tampered with" if doc.kind == "tamper" else "KMS"
        head = f"[{doc.severity.value.upper()}] {what}: "
        return ascii_line(f"{head}{doc.event.name} on {_target_label(doc)}", SUBJECT_MAX_CHARS)
    head = f"[{doc.severity.value.upper()}] KMS key "
    tail = ascii_line(short_what(doc), 60)
    room = SUBJECT_MAX_CHARS - len(head) - len(tail) - 1
    label = ascii_line(raw_key_label(doc), max(room, 8)) or "(unknown)"
    return ascii_line(f"{head}{label} {tail}", SUBJECT_MAX_CHARS)
