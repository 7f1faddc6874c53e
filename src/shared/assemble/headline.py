"""The document's ``title`` and ``summary``: one function for every kind of notice.

Written from the document's own fields and the event table's wording. The ``summary`` is the text
report's first line (``alerting.verdict``): one sentence, the same in every channel.
"""

from __future__ import annotations

from shared.alerting.verdict import actor_label, tag_change_phrase, verdict
from shared.document import AlertDocument
from shared.events import Kind, kms_event


def _label(doc: AlertDocument) -> str:
    key, requested = doc.key, doc.event.requested_key or ""
    if doc.kind == Kind.DELETED:
        return key.id or "unknown key"
    if doc.kind in (Kind.REMINDER, Kind.MISSED_EVENT):
        return (key.aliases or [""])[0] or key.id or key.arn or "unknown key"
    named = requested[requested.find("alias/") :] if "alias/" in requested else None
    if named and named in key.aliases:
        return named
    return key.aliases[0] if key.aliases else (key.id or requested or "unknown key")


def headline(doc: AlertDocument) -> tuple[str, str]:
    """The document's ``title`` and ``summary``, from its own fields (and the event table's words)."""
    return _title(doc), verdict(doc)


def _title(doc: AlertDocument) -> str:
    key, event = doc.key, doc.event
    label = _label(doc)
    if doc.kind == Kind.INVALID_EVENT:
        return "kms-keyguard received an event it could not process"
    if doc.kind == Kind.DELETED:
        return f"KMS key {label} deleted"
    if doc.kind == Kind.REMINDER:
        days = key.days_until_deletion or 0
        when = "tomorrow" if days <= 1 else f"in {days} days"
        return f"KMS key {label} will be deleted {when}"
    if doc.kind == Kind.MISSED_EVENT:
        return f"KMS key {label} is {key.state}: missed event"
    if doc.target is not None:
        target = doc.target
        what = f"{target.resource_type} {target.name}" if target.name else target.resource_type
        if doc.kind == Kind.TAMPER:
            return f"kms-keyguard tampered with: {event.name} on {what}"
        return f"KMS {event.name} on {target.resource_type} {target.name or '(unnamed)'}"
    if doc.kind == Kind.TRIPWIRE:
        return f"KMS key {label} still in use: {event.name} failed ({key.state})"
    changed = tag_change_phrase(doc, label)
    if changed:
        actor = actor_label(doc)
        return f"KMS {changed}" + (f" by {actor}" if actor else "")
    wording = kms_event(event.name).headline
    if key.days_until_deletion is not None:
        when = f"in {key.days_until_deletion} days"
    else:
        when = f"(the key is now {key.state})" if key.readable and key.state else "(date unverified)"
    if key.state == "PendingReplicaDeletion":
        when = "once its replicas are deleted"
    what = (
        wording.format(label=label, state=key.state, when=when) if wording else f"{event.name} on key {label}"
    )
    if doc.kind == Kind.ATTEMPT:
        what = f"failed {event.name} ({event.error_code}) on key {label}"
    elif event.name in ("CancelKeyDeletion", "EnableKey") and doc.kind != Kind.RESOLVED and key.state:
        what += f", key still {key.state}"
    return f"KMS {what}"
