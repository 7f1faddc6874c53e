"""The document's ``title`` and ``summary``: one function for every kind of notice.

Written from the document's own fields and the event table's wording. The text report's first line
(``alerting.verdict``) is a separate sentence built from the same fields; the JSON ``summary`` keeps
its own wording ("resolved: ...", "reminder: ...") because subscribers read it as it is.
"""

from __future__ import annotations

from shared.document import AlertDocument
from shared.events import Kind, kms_event


def _dependency_phrase(doc: AlertDocument) -> str:
    deps = doc.dependencies
    if doc.kind == Kind.DELETED:
        return f"{deps.total} resources referenced it" if deps.total else "no dependent resources known"
    if not doc.key.readable:
        return "dependencies unknown (the key could not be read)"
    if deps.complete:
        return f"{deps.total} dependent resources"
    return f"at least {deps.total} dependent resources (search incomplete)"


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
    key, event, actor, severity = doc.key, doc.event, doc.actor, doc.severity.value.upper()
    label = _label(doc)
    if doc.kind == Kind.INVALID_EVENT:
        reason = doc.notes[0] if doc.notes else "unknown reason"
        title = "kms-keyguard received an event it could not process"
        return title, f"{severity}: unprocessable event reported instead of dropped: {reason}"
    if doc.kind == Kind.DELETED:
        return f"KMS key {label} deleted", (
            f"{severity}: key {label} was deleted by KMS at the end of its pending window; "
            f"{_dependency_phrase(doc)}"
        )
    if doc.kind == Kind.REMINDER:
        days = key.days_until_deletion or 0
        when = "tomorrow" if days <= 1 else f"in {days} days"
        return f"KMS key {label} will be deleted {when}", (
            f"{severity}: reminder: key {label} will be deleted {when} ({key.deletion_date})"
        )
    if doc.kind == Kind.MISSED_EVENT:
        return f"KMS key {label} is {key.state}: missed event", (
            f"{severity}: missed event: key {label} is {key.state} and no alert was sent"
        )
    who = actor.principal or actor.arn or "an unknown caller"
    if actor.session_name and actor.type == "AssumedRole":
        who = f"{who} ({actor.session_name})"
    if doc.kind == Kind.TAMPER and doc.target is not None:
        target = doc.target
        what = f"{target.resource_type} {target.name}" if target.name else target.resource_type
        failed = f" (refused: {event.error_code})" if event.error_code else ""
        return f"kms-keyguard tampered with: {event.name} on {what}", (
            f"{severity}: tamper: {event.name} on {what} by {who}{failed}"
        )
    if doc.target is not None and doc.kind != Kind.TAMPER:
        what = f"{event.name} on {doc.target.resource_type} {doc.target.name or '(unnamed)'}"
        return f"KMS {what}", f"{severity}: {what} by {who}"
    if doc.kind == Kind.TRIPWIRE:
        return f"KMS key {label} still in use: {event.name} failed ({key.state})", (
            f"{severity}: {event.name} by {who} failed because key {label} is {key.state}"
        )
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
    if doc.kind == Kind.RESOLVED:
        now_state = f"; the key is now {key.state}" if key.state else ""
        return f"KMS {what}", f"{severity}: resolved: {what} by {who}{now_state}"
    if doc.kind == Kind.ATTEMPT:
        what = f"failed {event.name} ({event.error_code}) on key {label}"
    return f"KMS {what}", f"{severity}: {what} by {who}; {_dependency_phrase(doc)}"
