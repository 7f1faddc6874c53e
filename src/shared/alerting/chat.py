"""The chat card (SNS ``https``): an Amazon Q Developer in chat applications (AWS Chatbot) custom
notification, whose subscription endpoint is HTTPS. Any other HTTPS subscriber receives the same
card."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from shared.alerting.common import (
    DEFAULT_LIMITS,
    UNCHECKED_HEADINGS,
    Rendering,
    RenderLimits,
    days_phrase,
    plural,
    sns_json,
    split_shown,
    yes_no,
)
from shared.alerting.verdict import raw_key_label, short_what, verdict
from shared.document import AlertDocument, DependenciesSection, Severity
from shared.sanitize import clean, clean_trusted, md_code, md_text

# Slack rejects a section longer than 3,000 characters; a longer card is cut by the chat client.
CHAT_DESCRIPTION_MAX_CHARS = 3_000

_CHAT_ICON = {
    Severity.CRITICAL: ":rotating_light:",
    Severity.HIGH: ":warning:",
    Severity.MEDIUM: ":large_orange_diamond:",
    Severity.LOW: ":information_source:",
}


def _chat_step(step: str) -> str:
    text = clean_trusted(step, 1024)
    if text.startswith("aws "):
        return "`" + text.replace("`", "\u02cb") + "`"
    return md_text(text, 1024)


def _chat_lines(doc: AlertDocument, lim: RenderLimits) -> list[str]:
    key, event, actor, deps, rem = doc.key, doc.event, doc.actor, doc.dependencies, doc.remediation
    lines = [md_text(verdict(doc), 400)]
    readable = "" if key.readable else " :grey_question: _key unreadable, details from the event_"
    if doc.target is not None:
        target = doc.target
        lines.append(
            f"*Tampered* {md_code(target.resource_type, 60)} "
            f"{md_code(target.name or 'not named by the call', lim.value_len)}"
        )
    else:
        lines.append(
            f"*Key* {md_code(key.arn or key.id or event.requested_key, lim.value_len)} "
            f"state {md_code(key.state or 'unknown', 40)}{readable}"
        )
    if key.aliases:
        shown, more = split_shown(key.aliases, 5)
        lines.append("*Aliases* " + " ".join(md_code(a, 80) for a in shown) + (f" +{more}" if more else ""))
    if key.description:
        lines.append(f"*Description* {md_code(key.description, lim.value_len)}")
    if key.tags:
        shown_tags, more = split_shown(sorted(key.tags.items()), 5)
        tag_text = " ".join(md_code(f"{k}={v}", 80) for k, v in shown_tags)
        lines.append(f"*Tags* {tag_text}" + (f" +{more}" if more else ""))
    if key.deletion_date:
        left = f" ({days_phrase(key.days_until_deletion)})" if key.days_until_deletion is not None else ""
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
            f"with {plural(len(key.replica_arns), 'replica')}"
        )
    result = f" failed {md_code(event.error_code, 60)}" if event.error_code else ""
    window = ""
    if event.pending_window_days is not None:
        window = f", window {plural(event.pending_window_days, 'day')}"
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
    flags.append(f"MFA {yes_no(actor.mfa)}")
    if actor.is_root:
        flags.append(":bangbang: root user")
    if actor.cross_account:
        flags.append(f":bangbang: cross-account {md_code(actor.account, 20)}")
    lines.append(f"*Actor* {who} " + ", ".join(flags))
    if actor.user_agent:
        lines.append(f"*User agent* {md_code(actor.user_agent, 120)}")
    if doc.target is None:  # a tamper alert is not about a key: nothing depends on it
        lines.extend(_dependency_lines(deps, lim))
    state = f", key now {md_code(rem.resulting_state, 40)}" if rem.resulting_state else ""
    lines.append(
        f"*Remediation* {md_code(rem.mode, 10)} {md_code(rem.action, 60)}: "
        f"{md_code(rem.outcome, lim.value_len)}{state}"
    )
    lines.extend(f"_Note:_ {md_text(note, lim.value_len)}" for note in doc.notes[:10])
    lines.append(f"Alert {md_code(doc.alert_id, 80)}")
    return lines


def _dependency_lines(deps: DependenciesSection, lim: RenderLimits) -> list[str]:
    lines: list[str] = []
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
            + (f" account {md_code(item.account, 12)}" if item.account else "")
        )
    rest = deps.total - min(len(deps.items), lim.chat_items_shown)
    if deps.items and rest > 0:
        lines.append(f"…and {rest} more (see the email report)")
    for effect, heading in UNCHECKED_HEADINGS:
        listed = deps.unchecked_as(effect)
        if listed:
            shown_finders = ", ".join(md_code(u.finder, 40) for u in listed[:5])
            lines.append(f"*{heading}* {len(listed)}: {shown_finders}")
    grants = len(deps.grants) + deps.grants_omitted
    if grants:
        lines.append(f"*Grants* {grants}")
    if deps.usage and deps.usage.last_usage:
        lines.append(f"*Last used* {md_code(deps.usage.last_usage, 40)}")
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


def render_chat(doc: AlertDocument, lim: RenderLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """The Amazon Q Developer in chat applications custom notification for this alert."""
    key, event = doc.key, doc.event
    severity = doc.severity.value.upper()
    headline = verdict(doc)
    subject = md_code(raw_key_label(doc), 80) if doc.target is None else "kms-keyguard"
    title = (
        f"{_CHAT_ICON[doc.severity]} {severity}: {'KMS key ' if doc.target is None else ''}{subject} "
        f"{md_text(short_what(doc), 80)}"
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
            "threadId": clean(
                (doc.target.name if doc.target else None) or key.arn or key.id or doc.alert_id, 2048
            ),
            "summary": clean(headline, 500),
            "eventType": clean(event.name, 100),
            "relatedResources": related,
            "additionalContext": {k: clean(v, 256) for k, v in context.items() if v not in (None, "")},
        },
    }


def chat_body(rendering: Rendering) -> str:
    """The chat card as an SNS body."""
    return sns_json(render_chat(rendering.doc, rendering.limits))
