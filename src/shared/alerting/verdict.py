"""The verdict: one line, built from the alert's fields and never from free text, that opens the
text report and the chat card; and the SNS subject, its short ASCII form."""

from __future__ import annotations

from shared.alerting.common import PENDING_STATES, days_phrase, plural
from shared.document import AlertDocument, DependenciesSection
from shared.events import TABLE, SeverityRule
from shared.sanitize import ascii_line, clean

# SNS subjects must be "less than 100 characters long", one line, no control characters:
# https://docs.aws.amazon.com/sdk-for-kotlin/api/latest/sns/aws.sdk.kotlin.services.sns.model/-publish-request/subject.html
SUBJECT_MAX_CHARS = 99

# The event table's words for what a call did, and what a failed call tried to do.
_DONE = {event.name: event.done for event in TABLE if event.done}
_ATTEMPT = {event.name: event.attempt for event in TABLE if event.attempt}
_DELETION_EVENTS = frozenset(
    event.name for event in TABLE if event.severity is SeverityRule.DELETION_SCHEDULED
)


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


def actor_label(doc: AlertDocument) -> str | None:
    actor = doc.actor
    service = service_name(actor.invoked_by)
    if actor.is_root:
        who = "the account root user"
    elif service and (actor.type == "AWSService" or not (actor.principal or actor.arn)):
        return service
    else:
        raw = actor.principal or actor.arn or actor.invoked_by or actor.type
        if not raw:
            return None
        who = clean(raw, 80)
    if actor.session_name:
        who += f" ({clean(actor.session_name, 64)})"
    if actor.cross_account and actor.account:
        who += f" from account {clean(actor.account, 20)}"
    if service:
        who += f" via {service}"
    return who


def _target_label(doc: AlertDocument) -> str:
    target = doc.target
    if target is None:
        return "an unnamed resource"
    kind = clean(target.resource_type, 40)
    return f"{kind} {clean(target.name, 120)}" if target.name else f"a {kind} the record does not name"


def tag_change_phrase(doc: AlertDocument, label: str) -> str:
    """``protect tag keyguard:protect removed from key alias/prod-db``: what a TagResource or
    UntagResource did to the protect and approval tags (empty for any other notice)."""
    if doc.event.error_code:
        return ""
    phrases = []
    for change in doc.event.tag_changes:
        tag, value = clean(change.tag, 128), clean(change.value or "", 120)
        if change.role == "protect" and change.change == "removed":
            phrases.append(f"protect tag {tag} removed from key {label}")
        elif change.role == "protect" and change.weakens_protection:
            phrases.append(
                f"protect tag {tag} set to '{value}' on key {label}: it no longer protects the key"
            )
        elif change.role == "protect":
            phrases.append(f"protect tag set on key {label}: {tag}={value}")
        elif change.change == "removed":
            phrases.append(f"approval tag {tag} removed from key {label}")
        else:
            phrases.append(f"approval tag set on key {label}: '{value}'")
    return "; ".join(phrases)


def _tag_change_short(doc: AlertDocument) -> str:
    changes = doc.event.tag_changes
    return ", ".join(f"{change.role} tag {change.change}" for change in changes)


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


def _dependents(doc: AlertDocument) -> str:
    """``5 dependents``, ``>=5 dependents``: the short form for the subject; empty where none apply."""
    deps = doc.dependencies
    if doc.kind in ("invalid-event", "resolved") or _follow_up(doc) or doc.event.tag_changes:
        return ""
    if not doc.key.readable and doc.kind != "deleted" and not deps.total:
        return "dependents unknown"
    if deps.total:
        return f"{'' if deps.complete else '>='}{plural(deps.total, 'dependent')}"
    return "0 dependents" if deps.complete else "dependents unknown"


def _follow_up(doc: AlertDocument) -> bool:
    """A follow-up (CancelKeyDeletion, EnableKey) that did not leave the key Enabled."""
    return doc.kind == "alert" and doc.event.name in _FOLLOW_UPS and not doc.event.error_code


_FOLLOW_UPS = frozenset({"CancelKeyDeletion", "EnableKey"})
# An AWS service acting for a caller, by its service principal: shown once, by name.
_SERVICE_NAMES = {
    "cloudformation.amazonaws.com": "AWS CloudFormation",
    "kms.amazonaws.com": "AWS KMS",
    "config.amazonaws.com": "AWS Config",
    "ssm.amazonaws.com": "AWS Systems Manager",
    "backup.amazonaws.com": "AWS Backup",
    "lambda.amazonaws.com": "AWS Lambda",
}


def service_name(principal: str | None) -> str | None:
    """``AWS CloudFormation`` for ``cloudformation.amazonaws.com``; ``None`` for anything else."""
    if not principal or not principal.endswith(".amazonaws.com"):
        return None
    return _SERVICE_NAMES.get(principal, f"AWS service {principal.removesuffix('.amazonaws.com')}")


def where(doc: AlertDocument) -> str:
    """``111122223333 eu-west-1``: the key's account and Region (from the event, else the key ARN)."""
    arn = (doc.key.arn or "").split(":")
    account = doc.event.account or (arn[4] if len(arn) > 5 else None)
    region = doc.event.region or (arn[3] if len(arn) > 5 else None)
    return " ".join(ascii_line(part, 20) for part in (account, region) if part)


def _short_code(code: str) -> str:
    """``AccessDenied`` for ``AccessDeniedException``: the subject has little room."""
    return code.removesuffix("Exception") or code


def _outcome(doc: AlertDocument) -> tuple[str, str] | None:
    """The remediation's outcome when it changes what the reader must do: it leads the line."""
    rem, state = doc.remediation, doc.key.state or "unknown"
    if rem.mode != "enforce" or not rem.result:
        return None
    code = rem.outcome.split(": ", 1)[1] if ": " in rem.outcome else rem.outcome
    deletion = doc.event.name in _DELETION_EVENTS or rem.action.startswith("cancel")
    if rem.result == "failed":
        what = "cancel" if deletion else "re-enable"
        return f"automatic {what} FAILED ({code})", f"{what} FAILED ({_short_code(code)})"
    if rem.result in ("cancelled", "cancelled-earlier") and state != "Enabled":
        return (f"deletion CANCELLED, key left {state}",) * 2
    if rem.result in ("cancelled-and-reenabled", "cancelled-earlier"):
        return ("deletion CANCELLED, key re-enabled",) * 2
    if rem.result == "reenable-failed":
        return (
            f"deletion CANCELLED, re-enable FAILED ({code}), key left {state}",
            f"deletion CANCELLED, re-enable FAILED, key {state}",
        )
    if rem.result in ("reenabled", "reenabled-earlier"):
        return ("disabled, then RE-ENABLED",) * 2
    return None


def _what(doc: AlertDocument) -> tuple[str, str]:
    """(what happened, in full; the short form for the subject): outcome first."""
    event, key = doc.event, doc.key
    name = clean(event.name, 60)
    timing, short_timing = _deletion_timing(doc)
    if doc.kind == "invalid-event":
        return (
            f"could not interpret an event of type '{name}'; check the function's logs",
            "event could not be interpreted",
        )
    if doc.target is not None:
        tampered = "tampered with: " if doc.kind == "tamper" else ""
        return f"{tampered}{name} on {_target_label(doc)}", f"{tampered}{name}"
    if doc.kind == "missed-event":
        state = clean(key.state, 40) if key.state else "unusable"
        return f"is {state}{timing} and no alert was sent for it (missed event)", f"{state}, missed event"
    if doc.kind == "tripwire":
        state = clean(key.state, 40) if key.state else "unusable"
        err = clean(event.error_code or "error", 60)
        return (
            f"is {state} and still in use: {name} failed ({err})",
            f"in use while {state}",
        )
    if doc.kind == "attempt" or event.error_code:
        verb = _ATTEMPT.get(event.name, f"call {name} on")
        err = clean(event.error_code or "error", 60)
        return f"failed attempt to {verb} the key ({err})", f"{event.name} FAILED ({_short_code(err)})"
    if doc.event.tag_changes and not event.error_code:
        return tag_change_phrase(doc, _key_label(doc)), _tag_change_short(doc)
    if doc.kind == "resolved":
        done = _DONE.get(event.name, name + " called")
        state = clean(key.state, 40) if key.state else "Enabled"
        return f"resolved: {done}, the key is {state}", f"resolved: {done}, key {state}"
    if _follow_up(doc):
        state = clean(key.state, 40) if key.state else "not Enabled"
        done = _DONE.get(event.name, name + " called")
        return f"{done}, key still {state}", f"{done}, key still {state}"
    if doc.kind == "deleted":
        return "has been deleted by KMS", "deleted"
    if doc.kind == "reminder":
        if key.state in PENDING_STATES:
            return f"is still scheduled for deletion{timing}", f"reminder: deletion {short_timing}".strip()
        return f"reminder: the key is {clean(key.state or 'unknown', 40)}", "reminder"
    done = _DONE.get(event.name, f"{name} called")
    full, short = f"{done}{timing}", f"{done} {short_timing}".strip()
    if event.name == "DeleteImportedKeyMaterial" and key.state:
        full, short = f"{done}, key now {clean(key.state, 40)}", f"material deleted, now {key.state}"
    outcome = _outcome(doc)
    if outcome:
        return f"{outcome[0]} (it was {full})", outcome[1]
    if doc.remediation.mode == "dry-run" and doc.remediation.action not in ("", "none"):
        return f"{full} (dry-run: would {clean(doc.remediation.action, 40)})", short
    return full, short


def verdict(doc: AlertDocument) -> str:
    """The one-line verdict, also the JSON ``summary``, e.g. ``CRITICAL 111122223333 eu-west-1: key
    alias/prod-db scheduled for deletion in 7 days by role/ops-admin (alice); 12 dependent
    resources``. Outcome first; built from the fields, never from free text."""
    severity = doc.severity.value.upper()
    place = where(doc)
    head = f"{severity} {place}:" if place else f"{severity}:"
    full, _ = _what(doc)
    if doc.kind == "invalid-event":
        return f"{head} {full}"
    actor = actor_label(doc)
    if doc.target is not None:
        by = f" by {actor}" if actor else " by an unknown principal"
        what = "kms-keyguard tampered with: " if doc.kind == "tamper" else ""
        failed = f", refused ({clean(doc.event.error_code, 60)})" if doc.event.error_code else ""
        return f"{head} {what}{clean(doc.event.name, 60)} on {_target_label(doc)}{by}{failed}"
    by = f" by {actor}" if actor and doc.kind not in ("deleted", "reminder") else ""
    if doc.event.tag_changes and not doc.event.error_code:
        return f"{head} {full}{by}"
    deps = ""
    if doc.kind not in ("resolved",) and not _follow_up(doc):
        deps = f"; {_dependency_phrase(doc.dependencies)}"
        if not doc.key.readable and not doc.dependencies.total and doc.kind != "deleted":
            deps = "; dependencies unknown (the key could not be read)"
    return f"{head} key {_key_label(doc)} {full}{by}{deps}"


def short_what(doc: AlertDocument) -> str:
    """What happened, briefly: ``scheduled for deletion (7d)``, ``deletion CANCELLED, ...``."""
    return _what(doc)[1]


def render_subject(doc: AlertDocument) -> str:
    """An SNS subject: printable ASCII, one line, under 100 characters.

    ``[CRITICAL] 111122223333 eu-west-1: alias/prod-db scheduled for deletion (7d), 5 dependents``;
    when it is too long the key label is shortened first, then the Region and the account dropped.
    """
    severity = f"[{doc.severity.value.upper()}]"
    if doc.target is not None:
        what = "kms-keyguard tampered with: " if doc.kind == "tamper" else ""
        body = f"{what}{doc.event.name} on {_target_label(doc)}"
        return ascii_line(f"{_heads(severity, doc)[0]} {body}", SUBJECT_MAX_CHARS)
    what = ascii_line(short_what(doc), 70)
    dependents = _dependents(doc)
    tail = f"{what}, {dependents}" if dependents else what
    if doc.kind == "invalid-event":
        return ascii_line(f"{_heads(severity, doc)[0]} {tail}", SUBJECT_MAX_CHARS)
    label = ascii_line(raw_key_label(doc), 200) or "(unknown key)"
    for head in _heads(severity, doc):
        room = SUBJECT_MAX_CHARS - len(head) - len(tail) - 2
        if room >= min(len(label), 12):
            return ascii_line(f"{head} {ascii_line(label, room)} {tail}", SUBJECT_MAX_CHARS)
    return ascii_line(f"{severity} {ascii_line(label, 12)} {tail}", SUBJECT_MAX_CHARS)


def _heads(severity: str, doc: AlertDocument) -> list[str]:
    """The subject's opening, fullest first: the Region goes before the account does."""
    place = where(doc).split(" ")
    heads = [f"{severity} {' '.join(place)}:", f"{severity} {place[0]}:"] if place[0] else []
    return [*heads, severity]
