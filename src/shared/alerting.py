"""Alert rendering (pure) and the thin SNS publisher.

One ``AlertDocument`` becomes one SNS message with a body per protocol:

* ``default`` / ``email``: a plain-text report an on-call engineer can act on in twenty seconds,
  verdict first;
* ``sqs`` / ``lambda`` / ``email-json`` / ``firehose``: the alert document as JSON (schema
  ``schemas/alert.schema.json``) for machines;
* ``https``: an Amazon Q Developer in chat applications (AWS Chatbot) custom notification, whose
  subscription endpoint is HTTPS. Any other HTTPS subscriber receives the same card.

Every value that someone other than the responder controls passes through ``shared.sanitize``
before a person sees it. The whole message is kept under SNS's 256 KiB limit by trimming the
document step by step and saying in the alert what was left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.aws import ClientFactory
from shared.document import AlertDocument, DependenciesSection, Severity
from shared.errors import AlertDeliveryError
from shared.sanitize import ascii_line, clean, clean_trusted, md_code, md_text, truncate

ACTIONS = ("sns:Publish",)

SNS_MAX_BYTES = 262_144  # message, subject and attributes together
SIZE_HEADROOM_BYTES = 2_048
SUBJECT_MAX_CHARS = 99
# Slack rejects a section longer than 3,000 characters; a longer card is cut by the chat client.
CHAT_DESCRIPTION_MAX_CHARS = 3_000
DOCUMENT_PROTOCOLS = ("sqs", "lambda", "email-json", "firehose")

_LABEL_WIDTH = 18
_SURROGATE = re.compile("[\ud800-\udfff]")
_SNS_UNSAFE = re.compile("[\ufffe\uffff]")

_DONE = {
    "ScheduleKeyDeletion": "scheduled for deletion",
    "DisableKey": "disabled",
    "CancelKeyDeletion": "deletion cancelled",
    "EnableKey": "re-enabled",
    "DeleteImportedKeyMaterial": "imported key material deleted",
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
_PENDING_STATES = frozenset({"PendingDeletion", "PendingReplicaDeletion"})
_CHAT_ICON = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.HIGH: ":warning:",
    Severity.MEDIUM: ":large_orange_diamond:",
    Severity.LOW: ":information_source:",
}


@dataclass(frozen=True)
class RenderLimits:
    """How much of each repeated or long part a rendering shows."""

    items_shown: int = 20  # dependency items in the text report
    chat_items_shown: int = 5
    list_shown: int = 25  # tags, aliases, unchecked finders, grants, principals
    value_len: int = 200  # an ordinary untrusted value
    long_value_len: int = 512  # description, user agent, error message, notes


DEFAULT_LIMITS = RenderLimits()


# --------------------------------------------------------------------------------------------
# Verdict: one line built from the document's fields, shared by text, subject and chat
# --------------------------------------------------------------------------------------------
def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {plural or noun + 's'}"


def _raw_key_label(doc: AlertDocument) -> str:
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
    label = clean(_raw_key_label(doc), max_len)
    extra = len(doc.key.aliases) - 1
    return f"{label} (+{_plural(extra, 'alias', 'aliases')})" if extra > 0 else label


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


def _days(days: int) -> str:
    return "within a day" if days <= 0 else f"in {_plural(days, 'day')}"


def _deletion_timing(doc: AlertDocument) -> tuple[str, str]:
    """(phrase for the verdict, short form for the subject); empty when not about deletion."""
    key, event = doc.key, doc.event
    if event.name not in _DELETION_EVENTS and key.state not in _PENDING_STATES:
        return "", ""
    if key.days_until_deletion is not None:
        days = key.days_until_deletion
        return f" {_days(days)}", f"({max(days, 0)}d)"
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
        found = _plural(deps.total, "dependent resource")
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
        action = "is still scheduled for deletion" if doc.key.state in _PENDING_STATES else name
        return f"{severity}: key {key_label} {action}{timing}; {_dependency_phrase(doc.dependencies)}"
    action = _DONE.get(event.name, f"{name} called")
    if doc.kind == "deleted":
        return f"{severity}: key {key_label} has been deleted; {_dependency_phrase(doc.dependencies)}"
    return (
        f"{severity}: key {key_label} {action}{timing}{by}; "
        f"{_dependency_phrase(doc.dependencies)}{_remediation_phrase(doc)}"
    )


def _short_what(doc: AlertDocument) -> str:
    """What happened, briefly: ``scheduled for deletion (7d)``, ``disabled``, ..."""
    event = doc.event
    if doc.kind == "invalid-event":
        return "event could not be interpreted"
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
    head = f"[{doc.severity.value.upper()}] KMS key "
    tail = ascii_line(_short_what(doc), 60)
    room = SUBJECT_MAX_CHARS - len(head) - len(tail) - 1
    label = ascii_line(_raw_key_label(doc), max(room, 8)) or "(unknown)"
    return ascii_line(f"{head}{label} {tail}", SUBJECT_MAX_CHARS)


# --------------------------------------------------------------------------------------------
# Plain text (default and email)
# --------------------------------------------------------------------------------------------
class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def section(self, title: str) -> None:
        if self.lines:
            self.lines.append("")
        self.lines.append(title)

    def field(self, label: str, value: str | None) -> None:
        if value not in (None, ""):
            self.lines.append(f"  {label + ':':<{_LABEL_WIDTH}}{value}")

    def line(self, text: str, indent: int = 2) -> None:
        self.lines.append(" " * indent + text)

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


def _yes_no(value: bool | None, unknown: str = "unknown") -> str:
    return unknown if value is None else ("yes" if value else "no")


def _shown(values: list[Any], limit: int) -> tuple[list[Any], int]:
    return values[:limit], max(len(values) - limit, 0)


def _key_section(out: _Text, doc: AlertDocument, lim: RenderLimits) -> None:
    key = doc.key
    out.section("KEY")
    if doc.kind == "deleted":
        out.line("! The key has been deleted: details below are from the event and the last record kept.")
    elif not key.readable:
        out.line("! DescribeKey failed: key details below come from the event and are unverified.")
    out.field("ARN", clean(key.arn, lim.value_len) if key.arn else "unknown")
    if key.id and not key.arn:
        out.field("Key ID", clean(key.id, lim.value_len))
    aliases, more = _shown(key.aliases, lim.list_shown)
    alias_text = ", ".join(clean(a, lim.value_len) for a in aliases) if aliases else "none"
    out.field("Aliases", alias_text + (f" (+{more} more)" if more else ""))
    out.field("Description", clean(key.description, lim.long_value_len) if key.description else None)
    if key.tags:
        tags, more = _shown(sorted(key.tags.items()), lim.list_shown)
        out.field("Tags", f"{len(key.tags)}")
        for name, value in tags:
            out.line(f"- {clean(name, 128)} = {clean(value, lim.value_len)}", indent=4)
        if more:
            out.line(f"- ... {more} more tags not shown", indent=4)
    else:
        out.field("Tags", "none" if key.readable else "unknown")
    out.field("State", clean(key.state, 40) if key.state else "unknown")
    out.field("Manager", clean(key.manager, 40) if key.manager else None)
    spec = " / ".join(clean(v, 40) for v in (key.spec, key.usage, key.origin) if v)
    out.field("Spec", spec or None)
    if key.multi_region is None:
        out.field("Multi-Region", "unknown")
    elif key.multi_region:
        role = clean(key.multi_region_role, 20).lower() if key.multi_region_role else "role unknown"
        out.field("Multi-Region", f"yes ({role})")
        if key.primary_arn and key.primary_arn != key.arn:
            out.field("Primary key", clean(key.primary_arn, lim.value_len))
        replicas, more = _shown(key.replica_arns, lim.list_shown)
        for replica in replicas:
            out.line(f"- replica {clean(replica, lim.value_len)}", indent=4)
        if more:
            out.line(f"- ... {more} more replicas", indent=4)
    else:
        out.field("Multi-Region", "no")
    out.field("Rotation", _yes_no(key.rotation_enabled) if key.rotation_enabled is not None else None)
    out.field("Created", clean(key.creation_date, 40) if key.creation_date else None)


def _action_section(out: _Text, doc: AlertDocument, lim: RenderLimits) -> None:
    event = doc.event
    out.section("ACTION")
    out.field("Event", clean(event.name, 80))
    out.field("Time", clean(event.time, 40) if event.time else "unknown")
    out.field("Region", clean(event.region, 40) if event.region else "unknown")
    out.field("Account", clean(event.account, 20) if event.account else None)
    if event.error_code:
        message = f": {clean(event.error_message, lim.long_value_len)}" if event.error_message else ""
        out.field("Result", f"FAILED ({clean(event.error_code, 80)}){message}")
        if doc.kind == "tripwire":
            out.line("This call failed because of the key's state: a workload still depends on the key.")
        else:
            out.line("The call failed, so the key was not changed by it; someone tried.")
    else:
        out.field("Result", "succeeded")
    if event.pending_window_days is not None:
        default = " (default)" if event.pending_window_is_default else ""
        out.field("Pending window", f"{_plural(event.pending_window_days, 'day')}{default}")
    if event.short_window:
        out.field("Short window", "YES: less time than usual to notice and cancel")
    if event.requested_key:
        origin = (
            f" (key resolved from {clean(event.key_resolved_from, 60)})" if event.key_resolved_from else ""
        )
        out.field("Key as requested", clean(event.requested_key, lim.value_len) + origin)
    out.field("Event ID", clean(event.id, 80) if event.id else None)


def _actor_section(out: _Text, doc: AlertDocument, lim: RenderLimits) -> None:
    actor = doc.actor
    out.section("ACTOR")
    out.field("Type", clean(actor.type, 40) if actor.type else "unknown")
    out.field("Principal", clean(actor.principal, lim.value_len) if actor.principal else None)
    out.field("ARN", clean(actor.arn, lim.value_len) if actor.arn else None)
    out.field("Session name", clean(actor.session_name, lim.value_len) if actor.session_name else None)
    out.field("Account", clean(actor.account, 20) if actor.account else None)
    if actor.is_root:
        out.field("Root user", "YES: the account root user made this call")
    if actor.cross_account:
        out.field("Cross-account", "YES: the caller is not in the key's account")
    out.field("Source IP", clean(actor.source_ip, 80) if actor.source_ip else "unknown")
    out.field("User agent", clean(actor.user_agent, lim.long_value_len) if actor.user_agent else "unknown")
    out.field("Console", _yes_no(actor.via_console))
    out.field("MFA", _yes_no(actor.mfa))
    out.field("Invoked by", clean(actor.invoked_by, 80) if actor.invoked_by else None)


def _timeline_section(out: _Text, doc: AlertDocument) -> None:
    key, event = doc.key, doc.event
    out.section("TIMELINE")
    out.field("Event time", clean(event.time, 40) if event.time else "unknown")
    if key.deletion_date:
        left = f" ({_days(key.days_until_deletion)})" if key.days_until_deletion is not None else ""
        out.field("Deletion date", f"{clean(key.deletion_date, 40)}{left}")
    elif not key.readable and event.event_deletion_date:
        out.field(
            "Deletion date",
            f"{clean(event.event_deletion_date, 60)} (UNVERIFIED: as shown in the "
            "event; the key could not be read)",
        )
    if key.state == "PendingReplicaDeletion":
        out.line("State PendingReplicaDeletion: this multi-Region primary key is scheduled for deletion,")
        out.line("but its own waiting period starts only when its last replica key is deleted.")
        out.line("Cancelling deletion of the replicas and of the primary stops it.")
    elif key.readable and key.state and key.state not in _PENDING_STATES:
        out.field("Deletion", f"none scheduled (key state now {clean(key.state, 40)})")
    if key.pending_window_days is not None:
        out.field("Waiting period", _plural(key.pending_window_days, "day"))
    out.field("Alert generated", clean(doc.generated_at, 40))


def _dependencies_section(out: _Text, doc: AlertDocument, lim: RenderLimits) -> None:
    deps = doc.dependencies
    status = "complete" if deps.complete else "INCOMPLETE: some finders did not run; counts are a lower bound"
    if doc.kind == "resolved" and not deps.total:
        out.section("DEPENDENCIES")
        out.line("Not searched again for this follow-up; the first alert on this thread lists them.")
        return
    out.section(f"DEPENDENCIES ({status})")
    if deps.total:
        out.field("Total", str(deps.total))
        for rtype, count in sorted(deps.counts.items(), key=lambda kv: (-kv[1], kv[0])):
            out.line(f"- {clean(rtype, 80)}: {count}", indent=4)
    elif deps.complete:
        out.line("No dependent resources found by any finder.")
    else:
        out.line("No dependent resources found by the finders that ran. The search was incomplete,")
        out.line("so this is NOT evidence that nothing uses the key.")
    if deps.regions_searched:
        out.field(
            "Regions searched", ", ".join(clean(r, 30) for r in deps.regions_searched[: lim.list_shown])
        )
    items, not_shown = _shown(deps.items, lim.items_shown)
    if items:
        out.line(
            f"Resources (first {len(items)} of {deps.total}):" if deps.total > len(items) else "Resources:"
        )
        for item in items:
            out.line(
                f"- {clean(item.resource_type, 60)} {clean(item.name, lim.value_len)} "
                f"[{clean(item.region, 30)}]: {clean(item.evidence, lim.value_len)}",
                indent=4,
            )
            if item.arn and item.arn != item.name:
                out.line(clean(item.arn, lim.value_len), indent=6)
    if not_shown or deps.items_omitted:
        out.line(f"{not_shown + deps.items_omitted} more resources not listed here (see the counts above).")
    if deps.unchecked:
        out.line(f"Not checked ({len(deps.unchecked)}):")
        unchecked, more = _shown(deps.unchecked, lim.list_shown)
        for finder in unchecked:
            where = f" [{clean(finder.region, 30)}]" if finder.region else ""
            out.line(f"- {clean(finder.finder, 60)}{where}: {clean(finder.reason, lim.value_len)}", indent=4)
        if more:
            out.line(f"- ... {more} more", indent=4)
    _grants_lines(out, deps, lim)
    _usage_lines(out, deps, lim)
    if deps.elapsed_seconds is not None:
        out.field("Search took", f"{deps.elapsed_seconds:.1f} s")


def _grants_lines(out: _Text, deps: DependenciesSection, lim: RenderLimits) -> None:
    total = len(deps.grants) + deps.grants_omitted
    out.field("Grants", str(total) if total else "none")
    grants, more = _shown(deps.grants, lim.list_shown)
    for grant in grants:
        parts = [clean(grant.grant_id, 80)]
        if grant.name:
            parts.append(f"name {clean(grant.name, lim.value_len)}")
        if grant.grantee_principal:
            parts.append(f"grantee {clean(grant.grantee_principal, lim.value_len)}")
        if grant.service:
            parts.append(f"service {clean(grant.service, 60)}")
        if grant.resource:
            parts.append(f"resource {clean(grant.resource, lim.value_len)}")
        if grant.operations:
            parts.append("ops " + ",".join(clean(op, 40) for op in grant.operations[: lim.list_shown]))
        out.line("- " + "; ".join(parts), indent=4)
    if more + deps.grants_omitted:
        out.line(f"- ... {more + deps.grants_omitted} more grants not listed", indent=4)


def _usage_lines(out: _Text, deps: DependenciesSection, lim: RenderLimits) -> None:
    usage = deps.usage
    if usage is None:
        out.field("Usage evidence", "not collected")
        return
    if usage.last_usage:
        operation = f" ({clean(usage.last_usage_operation, 60)})" if usage.last_usage_operation else ""
        out.field("Last used", f"{clean(usage.last_usage, 40)}{operation}")
    elif usage.last_usage_note:
        out.field("Last used", clean(usage.last_usage_note, lim.value_len))
    else:
        out.field("Last used", "unknown")
    if usage.lookback_days is not None:
        count = len(usage.principals) + usage.principals_omitted
        out.field(
            "CloudTrail usage",
            f"{_plural(usage.events_examined, 'event')} in "
            f"{_plural(usage.lookback_days, 'day')}, {_plural(count, 'principal')}",
        )
    principals, more = _shown(usage.principals, lim.list_shown)
    for principal in principals:
        line = f"- {clean(principal.principal, lim.value_len)}: {_plural(principal.calls, 'call')}"
        if principal.operations:
            line += " (" + ", ".join(clean(op, 40) for op in principal.operations[:10]) + ")"
        if principal.invoked_by:
            line += " via " + ", ".join(clean(s, 60) for s in principal.invoked_by[:5])
        if principal.last_seen:
            line += f"; last {clean(principal.last_seen, 40)}"
        out.line(line, indent=4)
        for context in principal.encryption_context[:3]:
            out.line(f"context {clean(context, lim.value_len)}", indent=6)
    if more + usage.principals_omitted:
        out.line(f"- ... {more + usage.principals_omitted} more principals", indent=4)


def _remediation_section(out: _Text, doc: AlertDocument, lim: RenderLimits) -> None:
    rem = doc.remediation
    out.section("WHAT WAS DONE")
    mode_note = {
        "off": "off (alert only; nothing was changed)",
        "dry-run": "dry-run (nothing was changed; the action is what enforce mode would do)",
        "enforce": "enforce",
    }[rem.mode]
    out.field("Mode", mode_note)
    out.field("Action", clean(rem.action, lim.value_len) or "none")
    out.field("Outcome", clean(rem.outcome, lim.long_value_len))
    out.field("Resulting state", clean(rem.resulting_state, 40) if rem.resulting_state else None)
    for reason in rem.reasons[: lim.list_shown]:
        out.line(f"- {clean(reason, lim.long_value_len)}", indent=4)


def render_text(doc: AlertDocument) -> str:
    """The plain-text report (SNS ``default`` and ``email``)."""
    return _render_text(doc, DEFAULT_LIMITS)


def _render_text(doc: AlertDocument, lim: RenderLimits) -> str:
    out = _Text()
    out.lines.append(verdict(doc))
    _key_section(out, doc, lim)
    _action_section(out, doc, lim)
    _actor_section(out, doc, lim)
    _timeline_section(out, doc)
    _dependencies_section(out, doc, lim)
    _remediation_section(out, doc, lim)
    out.section("NEXT STEPS")
    if doc.next_steps:
        for number, step in enumerate(doc.next_steps, 1):
            out.line(f"{number}. {clean_trusted(step)}")
    else:
        out.line("None suggested.")
    if doc.notes:
        out.section("NOTES")
        for note in doc.notes:
            out.line(f"- {clean(note, lim.long_value_len)}")
    out.lines.extend(
        [
            "",
            f"Alert {clean(doc.alert_id, 80)} ({clean(doc.kind, 30)}, schema "
            f"{doc.schema_version}), generated {clean(doc.generated_at, 40)} by kms-keyguard.",
        ]
    )
    return out.render()


# --------------------------------------------------------------------------------------------
# Chat (Amazon Q Developer in chat applications custom notification)
# --------------------------------------------------------------------------------------------
def _chat_step(step: str) -> str:
    text = clean_trusted(step, 1024)
    if text.startswith("aws "):
        return "`" + text.replace("`", "\u02cb") + "`"
    return md_text(text, 1024)


def _chat_lines(doc: AlertDocument, lim: RenderLimits) -> list[str]:
    key, event, actor, deps, rem = doc.key, doc.event, doc.actor, doc.dependencies, doc.remediation
    lines = [md_text(verdict(doc), 400)]
    readable = "" if key.readable else " :grey_question: _key unreadable, details from the event_"
    lines.append(
        f"*Key* {md_code(key.arn or key.id or event.requested_key, lim.value_len)} "
        f"state {md_code(key.state or 'unknown', 40)}{readable}"
    )
    if key.aliases:
        shown, more = _shown(key.aliases, 5)
        lines.append("*Aliases* " + " ".join(md_code(a, 80) for a in shown) + (f" +{more}" if more else ""))
    if key.description:
        lines.append(f"*Description* {md_code(key.description, lim.value_len)}")
    if key.tags:
        shown_tags, more = _shown(sorted(key.tags.items()), 5)
        tag_text = " ".join(md_code(f"{k}={v}", 80) for k, v in shown_tags)
        lines.append(f"*Tags* {tag_text}" + (f" +{more}" if more else ""))
    if key.deletion_date:
        left = f" ({_days(key.days_until_deletion)})" if key.days_until_deletion is not None else ""
        lines.append(f"*Deletion date* {md_code(key.deletion_date, 40)}{left}")
    elif not key.readable and event.event_deletion_date:
        lines.append(f"*Deletion date* {md_code(event.event_deletion_date, 60)} (unverified, from the event)")
    if key.state == "PendingReplicaDeletion":
        lines.append(
            "Primary key waits for its replicas: its own waiting period starts when the last "
            "replica is deleted."
        )
    if key.multi_region:
        lines.append(
            f"*Multi-Region* {md_code(key.multi_region_role or 'unknown', 20)} "
            f"with {_plural(len(key.replica_arns), 'replica')}"
        )
    result = f" failed {md_code(event.error_code, 60)}" if event.error_code else ""
    window = ""
    if event.pending_window_days is not None:
        window = f", window {_plural(event.pending_window_days, 'day')}"
        window += " (default)" if event.pending_window_is_default else ""
        window += " :warning: short" if event.short_window else ""
    lines.append(
        f"*Event* {md_code(event.name, 60)}{result} at {md_code(event.time or 'unknown', 40)} "
        f"in {md_code(event.region or 'unknown', 30)}{window}"
    )
    who = md_code(actor.principal or actor.arn or actor.invoked_by or "unknown", lim.value_len)
    flags = [f"session {md_code(actor.session_name, 64)}"] if actor.session_name else []
    flags.append(f"from {md_code(actor.source_ip or 'unknown', 60)}")
    flags.append("console" if actor.via_console else "API")
    flags.append(f"MFA {_yes_no(actor.mfa)}")
    if actor.is_root:
        flags.append(":bangbang: root user")
    if actor.cross_account:
        flags.append(f":bangbang: cross-account {md_code(actor.account, 20)}")
    lines.append(f"*Actor* {who} " + ", ".join(flags))
    if actor.user_agent:
        lines.append(f"*User agent* {md_code(actor.user_agent, 120)}")
    status = "complete" if deps.complete else "INCOMPLETE, a lower bound"
    counts = ", ".join(
        f"{md_code(t, 60)} {n}" for t, n in sorted(deps.counts.items(), key=lambda kv: -kv[1])[:8]
    )
    lines.append(f"*Dependencies* {deps.total} ({status})" + (f": {counts}" if counts else ""))
    if not deps.total:
        lines.append(
            "None found" + ("." if deps.complete else " by the finders that ran; NOT evidence of no use.")
        )
    for item in deps.items[: lim.chat_items_shown]:
        lines.append(
            f"• {md_code(item.name, 80)} {md_code(item.resource_type, 60)} {md_code(item.region, 30)}"
        )
    rest = deps.total - min(len(deps.items), lim.chat_items_shown)
    if deps.items and rest > 0:
        lines.append(f"…and {rest} more (see the email report)")
    if deps.unchecked:
        shown_finders = ", ".join(md_code(u.finder, 40) for u in deps.unchecked[:5])
        lines.append(f"*Not checked* {len(deps.unchecked)}: {shown_finders}")
    grants = len(deps.grants) + deps.grants_omitted
    if grants:
        lines.append(f"*Grants* {grants}")
    if deps.usage and deps.usage.last_usage:
        lines.append(f"*Last used* {md_code(deps.usage.last_usage, 40)}")
    state = f", key now {md_code(rem.resulting_state, 40)}" if rem.resulting_state else ""
    lines.append(
        f"*Remediation* {md_code(rem.mode, 10)} {md_code(rem.action, 60)}: "
        f"{md_code(rem.outcome, lim.value_len)}{state}"
    )
    lines.extend(f"_Note:_ {md_text(note, lim.value_len)}" for note in doc.notes[:10])
    lines.append(f"Alert {md_code(doc.alert_id, 80)}")
    return lines


def _bounded_lines(lines: Iterable[str], max_chars: int) -> str:
    kept: list[str] = []
    size = 0
    all_lines = list(lines)
    for index, line in enumerate(all_lines):
        if size + len(line) + 1 > max_chars - 60:
            kept.append(f"…{len(all_lines) - index} more lines in the email report")
            break
        kept.append(line)
        size += len(line) + 1
    return "\n".join(kept)


def render_chat(doc: AlertDocument) -> dict[str, Any]:
    """The Amazon Q Developer in chat applications custom notification for this alert."""
    return _render_chat(doc, DEFAULT_LIMITS)


def _render_chat(doc: AlertDocument, lim: RenderLimits) -> dict[str, Any]:
    key, event = doc.key, doc.event
    severity = doc.severity.value.upper()
    headline = verdict(doc)
    title = (
        f"{_CHAT_ICON[doc.severity]} {severity}: KMS key {md_code(_raw_key_label(doc), 80)} "
        f"{md_text(_short_what(doc), 80)}"
    )
    related = [
        clean(arn, 2048) for arn in [key.arn, *(item.arn for item in doc.dependencies.items[:10])] if arn
    ]
    context = {
        "alertId": doc.alert_id,
        "severity": doc.severity.value,
        "kind": doc.kind,
        "account": event.account,
        "region": event.region,
        "keyState": key.state,
        "dependencies": str(doc.dependencies.total),
        "dependencySearch": "complete" if doc.dependencies.complete else "incomplete",
        "remediation": f"{doc.remediation.mode}: {doc.remediation.action}",
    }
    keywords = [severity, event.name, event.region or "", key.state or ""]
    return {
        "version": "1.0",
        "source": "custom",
        "id": clean(doc.alert_id, 128),
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": _bounded_lines(_chat_lines(doc, lim), CHAT_DESCRIPTION_MAX_CHARS),
            "nextSteps": [_chat_step(step) for step in doc.next_steps[:10]],
            "keywords": [clean(word, 40) for word in keywords if word],
        },
        "metadata": {
            "threadId": clean(key.arn or key.id or doc.alert_id, 2048),
            "summary": clean(headline, 500),
            "eventType": clean(event.name, 100),
            "relatedResources": related,
            "additionalContext": {k: clean(v, 256) for k, v in context.items() if v not in (None, "")},
        },
    }


# --------------------------------------------------------------------------------------------
# SNS message and size bounding
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Level:
    """One step of trimming; ``None`` keeps everything."""

    items: int | None  # dependency items kept in the document
    lists: int | None  # grants, usage principals and every other list
    strings: int | None  # longest string kept in the document
    tags: int | None  # AWS allows 50 tags a key
    limits: RenderLimits


_LEVELS = (
    _Level(None, None, None, None, DEFAULT_LIMITS),
    _Level(2_000, None, None, None, DEFAULT_LIMITS),
    _Level(500, 500, 4_096, None, DEFAULT_LIMITS),
    _Level(100, 100, 1_024, None, DEFAULT_LIMITS),
    _Level(20, 20, 512, None, RenderLimits(10, 5, 10, 128, 256)),
    _Level(0, 10, 256, 50, RenderLimits(5, 3, 5, 96, 200)),
    _Level(0, 5, 128, 50, RenderLimits(3, 3, 5, 80, 200)),
    _Level(0, 3, 64, 20, RenderLimits(0, 0, 3, 64, 200)),
)
# Identifiers a responder needs intact; none of them is long.
_KEEP_WHOLE = frozenset(
    {
        ("alert_id",),
        ("key", "arn"),
        ("key", "id"),
        ("key", "primary_arn"),
        ("event", "id"),
        ("event", "name"),
        ("generated_at",),
    }
)
_KEEP_LISTS = frozenset({("next_steps",), ("notes",)})


def _json(value: Any) -> str:
    """Compact JSON that SNS accepts and every JSON parser reads.

    A lone surrogate (never valid in UTF-8) becomes U+FFFD; the noncharacters U+FFFE and U+FFFF,
    which SNS refuses raw, are written as ``\\u`` escapes.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = _SURROGATE.sub("\ufffd", text)
    return _SNS_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _trim(value: Any, path: tuple[str, ...], level: _Level, changed: list[bool]) -> Any:
    if isinstance(value, str):
        if (
            level.strings is not None
            and len(value) > level.strings
            and path not in _KEEP_WHOLE
            and path[:1] != ("next_steps",)
        ):
            changed.append(True)
            return truncate(value, level.strings)
        return value
    if isinstance(value, list):
        if level.lists is not None and len(value) > level.lists and path not in _KEEP_LISTS:
            changed.append(True)
            value = value[: level.lists]
        return [_trim(item, path, level, changed) for item in value]
    if isinstance(value, dict):
        items = list(value.items())
        if path == ("key", "tags"):
            if level.tags is not None and len(items) > level.tags:
                changed.append(True)
                items = sorted(items)[: level.tags]
            if level.strings is not None and any(len(k) > level.strings for k, _ in items):
                changed.append(True)
                items = [(truncate(k, level.strings), v) for k, v in items]
        return {k: _trim(v, (*path, k), level, changed) for k, v in items}
    return value


def fit_document(doc: AlertDocument, level_index: int) -> AlertDocument:
    """The document trimmed to one level, with a note for everything it leaves out."""
    if level_index == 0:
        return doc
    return AlertDocument.model_validate(_fit_data(doc.model_dump(mode="json"), _LEVELS[level_index]))


def _drop(container: dict[str, Any], field: str, counter: str, keep: int | None) -> int:
    """Keep the first ``keep`` entries of ``container[field]``; count the rest in ``counter``."""
    if keep is None or len(container[field]) <= keep:
        return 0
    dropped = len(container[field]) - keep
    container[field] = container[field][:keep]
    container[counter] += dropped
    return dropped


def _fit_data(data: dict[str, Any], level: _Level) -> dict[str, Any]:
    """``_fit_document`` on a JSON-mode dump; ``data`` itself is left unchanged."""
    data = dict(data)
    deps = data["dependencies"] = dict(data["dependencies"])
    notes: list[str] = []
    dropped = _drop(deps, "items", "items_omitted", level.items)
    if dropped:
        notes.append(
            f"{dropped} dependency items omitted to fit the SNS size limit; the total and the "
            "per-type counts still cover every resource found."
        )
    dropped = _drop(deps, "grants", "grants_omitted", level.lists)
    if dropped:
        notes.append(f"{dropped} grants omitted to fit the SNS size limit.")
    if deps.get("usage"):
        usage = deps["usage"] = dict(deps["usage"])
        dropped = _drop(usage, "principals", "principals_omitted", level.lists)
        if dropped:
            notes.append(f"{dropped} usage principals omitted to fit the SNS size limit.")
    changed: list[bool] = []
    data = _trim(data, (), level, changed)
    if changed:
        notes.append(
            "Some long values and lists were shortened to fit the SNS size limit; "
            "a shortened value ends with '… [+N chars]'."
        )
    data["notes"] = [*data["notes"], *notes]
    return data


def message_size(message: dict[str, Any]) -> int:
    """Bytes SNS counts against its limit: message, subject, attribute names, types and values."""
    size = len(message["Message"].encode("utf-8")) + len(message.get("Subject", "").encode("utf-8"))
    for name, attribute in message.get("MessageAttributes", {}).items():
        size += len(name.encode("utf-8")) + len(attribute["DataType"].encode("utf-8"))
        size += len(attribute["StringValue"].encode("utf-8"))
    return size


def _attributes(doc: AlertDocument) -> dict[str, dict[str, str]]:
    values = {
        "severity": doc.severity.value,
        "event_name": doc.event.name,
        "account": doc.event.account,
        "region": doc.event.region,
    }
    attributes = {}
    for name, value in values.items():
        text = ascii_line(value, 256) if value else ""
        if text:
            attributes[name] = {"DataType": "String", "StringValue": text}
    return attributes


def _assemble(doc: AlertDocument, document: str, lim: RenderLimits) -> dict[str, Any]:
    text = _render_text(doc, lim)
    bodies = {
        "default": text,
        "email": text,
        **dict.fromkeys(DOCUMENT_PROTOCOLS, document),
        "https": _json(_render_chat(doc, lim)),
    }
    return {
        "Subject": render_subject(doc),
        "MessageStructure": "json",
        "Message": _json(bodies),
        "MessageAttributes": _attributes(doc),
    }


def _larger_than(value: Any, limit: int) -> bool:
    """Whether the JSON of ``value`` surely has more than ``limit`` characters (stops early)."""
    size, stack = 0, [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            size += len(item) + 3
        elif isinstance(item, dict):
            size += 2 + sum(len(k) + 4 for k in item)
            stack.extend(item.values())
        elif isinstance(item, list):
            size += 2 + len(item)
            stack.extend(item)
        else:
            size += 4
        if size > limit:
            return True
    return False


def build_message(doc: AlertDocument, max_bytes: int = SNS_MAX_BYTES - SIZE_HEADROOM_BYTES) -> dict[str, Any]:
    """SNS ``publish`` keyword arguments (all but ``TopicArn``) for one alert, under ``max_bytes``.

    Trims step by step (dependency items first, then grants, principals, long values and other
    lists) and notes in the alert what was left out. Raises ``AlertDeliveryError`` only when even
    the last step does not fit, which takes pathological responder-written next steps or notes.
    """
    original = doc.model_dump(mode="json")
    for index, level in enumerate(_LEVELS):
        data = original if index == 0 else _fit_data(original, level)
        if _larger_than(data, max_bytes // len(DOCUMENT_PROTOCOLS)):
            continue
        document = _json(data)
        if len(document.encode("utf-8")) * len(DOCUMENT_PROTOCOLS) > max_bytes:
            continue  # the copies of the document alone are too big: no need to render
        fitted = doc if index == 0 else AlertDocument.model_validate(data)
        message = _assemble(fitted, document, level.limits)
        if message_size(message) <= max_bytes:
            return message
    raise AlertDeliveryError(f"alert {doc.alert_id} does not fit in an SNS message even after trimming")


class SnsPublisher:
    """Publishes one alert to one topic; a failure raises ``AlertDeliveryError`` so Lambda retries."""

    def __init__(self, client: Any, topic_arn: str) -> None:
        self._client = client
        self._topic_arn = topic_arn

    @classmethod
    def for_topic(cls, clients: ClientFactory, topic_arn: str) -> SnsPublisher:
        """A publisher whose client is in the topic's own region (not necessarily the function's)."""
        return cls(clients.client("sns", topic_arn.split(":")[3]), topic_arn)

    @property
    def topic_arn(self) -> str:
        return self._topic_arn

    def publish(self, doc: AlertDocument) -> str:
        """Publish the alert and return the SNS MessageId."""
        message = build_message(doc)
        try:
            response = self._client.publish(TopicArn=self._topic_arn, **message)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "Unknown")
            raise AlertDeliveryError(
                f"SNS rejected alert {doc.alert_id} for {self._topic_arn}: {code}"
            ) from error
        except BotoCoreError as error:
            raise AlertDeliveryError(
                f"could not reach SNS for alert {doc.alert_id} ({type(error).__name__})"
            ) from error
        return str(response["MessageId"])
