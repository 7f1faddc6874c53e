"""The plain-text report (SNS ``default`` and ``email``): an on-call engineer can act on it in twenty
seconds, verdict first, then the key, the call, the caller, the timeline, what depends on the key,
what was done and what to do next."""

from __future__ import annotations

import re

from shared.alerting.common import (
    DEFAULT_LIMITS,
    PENDING_STATES,
    UNCHECKED_HEADINGS,
    Rendering,
    RenderLimits,
    days_phrase,
    plural,
    split_shown,
    yes_no,
)
from shared.alerting.verdict import service_name, verdict
from shared.document import AlertDocument, DependenciesSection
from shared.sanitize import clean, clean_trusted

_LABEL_WIDTH = 18
_FRACTION = re.compile(r"(T\d{2}:\d{2}:\d{2})\.\d+")


def _when(value: str | None) -> str | None:
    """A timestamp to the second (fractions dropped), cleaned; ``None`` stays ``None``."""
    return _FRACTION.sub(r"\1", clean(value, 40)) if value else None


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


def _target_section(out: _Text, doc: AlertDocument, lim: RenderLimits) -> None:
    """A tamper alert: the guard's resource the call touched, in place of a key."""
    target = doc.target
    if target is None:
        return
    out.section("TAMPERED RESOURCE" if doc.kind == "tamper" else "RESOURCE")
    out.field("Type", clean(target.resource_type, lim.value_len))
    out.field("Name", clean(target.name, lim.long_value_len) if target.name else "not named by the call")
    out.field("Service", clean(target.service, lim.value_len))


def event_is_follow_up(doc: AlertDocument) -> bool:
    """A CancelKeyDeletion or EnableKey notice: dependencies are not searched again for it."""
    return doc.kind == "resolved" or (
        doc.event.name in ("CancelKeyDeletion", "EnableKey") and not doc.event.error_code
    )


def _key_section(out: _Text, doc: AlertDocument, lim: RenderLimits) -> None:
    key = doc.key
    out.section("KEY")
    if doc.kind == "deleted":
        out.line("! The key has been deleted: details below are from the event and the last record kept.")
    elif not key.readable:
        out.line("! DescribeKey failed: key details below come from the event and are unverified.")
    out.field("ARN", clean(key.arn, lim.value_len) if key.arn else None)
    if key.id and not key.arn:
        out.field("Key ID", clean(key.id, lim.value_len))
    if key.reference:
        out.field("As the event", clean(key.reference, lim.value_len) + " (could not be read)")
    aliases, more = split_shown(key.aliases, lim.list_shown)
    alias_text = ", ".join(clean(a, lim.value_len) for a in aliases) if aliases else "none"
    if aliases or key.readable:
        out.field("Aliases", alias_text + (f" (+{more} more)" if more else ""))
    out.field("Description", clean(key.description, lim.long_value_len) if key.description else None)
    if key.tags:
        tags, more = split_shown(sorted(key.tags.items()), lim.list_shown)
        out.field("Tags", f"{len(key.tags)}")
        for name, value in tags:
            out.line(f"- {clean(name, 128)} = {clean(value, lim.value_len)}", indent=4)
        if more:
            out.line(f"- ... {more} more tags not shown", indent=4)
    elif key.readable:
        out.field("Tags", "none")
    out.field("State", clean(key.state, 40) if key.state else None)
    out.field("Manager", clean(key.manager, 40) if key.manager else None)
    spec = " / ".join(clean(v, 40) for v in (key.spec, key.usage, key.origin) if v)
    out.field("Spec", spec or None)
    if key.multi_region:
        role = clean(key.multi_region_role, 20).lower() if key.multi_region_role else "role unknown"
        out.field("Multi-Region", f"yes ({role})")
        if key.primary_arn and key.primary_arn != key.arn:
            out.field("Primary key", clean(key.primary_arn, lim.value_len))
        replicas, more = split_shown(key.replica_arns, lim.list_shown)
        for replica in replicas:
            out.line(f"- replica {clean(replica, lim.value_len)}", indent=4)
        if more:
            out.line(f"- ... {more} more replicas", indent=4)
    elif key.multi_region is False:
        out.field("Multi-Region", "no")
    out.field("Rotation", yes_no(key.rotation_enabled) if key.rotation_enabled is not None else None)
    out.field("Created", _when(key.creation_date))


def _action_section(out: _Text, doc: AlertDocument, lim: RenderLimits) -> None:
    event = doc.event
    out.section("ACTION")
    out.field("Event", clean(event.name, 80))
    out.field("Time", _when(event.time))
    out.field("Region", clean(event.region, 40) if event.region else None)
    out.field("Account", clean(event.account, 20) if event.account else None)
    if event.error_code:
        message = f": {clean(event.error_message, lim.long_value_len)}" if event.error_message else ""
        out.field("Result", f"FAILED ({clean(event.error_code, 80)}){message}")
        if doc.kind == "tripwire":
            out.line("This call failed because of the key's state: a workload still depends on the key.")
        elif doc.kind == "tamper":
            out.line("The call failed, so nothing was changed by it; someone tried.")
        else:
            out.line("The call failed, so the key was not changed by it; someone tried.")
    else:
        out.field("Result", "succeeded")
    if event.pending_window_days is not None:
        default = " (default)" if event.pending_window_is_default else ""
        out.field("Pending window", f"{plural(event.pending_window_days, 'day')}{default}")
    if event.short_window:
        out.field("Short window", "YES: less time than usual to notice and cancel")
    if event.requested_key and event.requested_key not in (doc.key.arn, doc.key.id):
        origin = (
            f" (key resolved from {clean(event.key_resolved_from, 60)})" if event.key_resolved_from else ""
        )
        out.field("Key as requested", clean(event.requested_key, lim.value_len) + origin)
    out.field("Event ID", clean(event.id, 80) if event.id else None)


def _actor_section(out: _Text, doc: AlertDocument, lim: RenderLimits) -> None:
    actor = doc.actor
    service = service_name(actor.invoked_by)
    out.section("ACTOR")
    if actor.type == "AWSService" and service:
        # An AWS service acting on its own: named once, not as principal, source, agent and invoker.
        out.field("Service", service)
        return
    out.field("Type", clean(actor.type, 40) if actor.type else None)
    out.field("Principal", clean(actor.principal, lim.value_len) if actor.principal else None)
    out.field("ARN", clean(actor.arn, lim.value_len) if actor.arn and actor.arn != actor.principal else None)
    if actor.session_name and not (actor.arn or "").endswith("/" + actor.session_name):
        out.field("Session name", clean(actor.session_name, lim.value_len))
    out.field("Account", clean(actor.account, 20) if actor.account and actor.cross_account else None)
    if actor.is_root:
        out.field("Root user", "YES: the account root user made this call")
    if actor.cross_account:
        out.field("Cross-account", "YES: the caller is not in the key's account")
    if service:
        out.field("Via", service)
    via_service = {actor.invoked_by} if service else set()
    if actor.source_ip and actor.source_ip not in via_service:
        out.field("Source IP", clean(actor.source_ip, 80))
    if actor.user_agent and actor.user_agent not in via_service:
        out.field("User agent", clean(actor.user_agent, lim.long_value_len))
    out.field("Console", yes_no(actor.via_console))
    out.field("MFA", yes_no(actor.mfa) if actor.mfa is not None else None)
    if actor.invoked_by and not service:
        out.field("Invoked by", clean(actor.invoked_by, 80))


def _timeline_section(out: _Text, doc: AlertDocument) -> None:
    key, event = doc.key, doc.event
    out.section("TIMELINE")
    if key.deletion_date:
        left = f" ({days_phrase(key.days_until_deletion)})" if key.days_until_deletion is not None else ""
        out.field("Deletion date", f"{_when(key.deletion_date)}{left}")
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
    elif key.readable and key.state and key.state not in PENDING_STATES:
        out.field("Deletion", f"none scheduled (key state now {clean(key.state, 40)})")
    if key.pending_window_days is not None:
        out.field("Waiting period", plural(key.pending_window_days, "day"))


def _dependencies_section(out: _Text, doc: AlertDocument, lim: RenderLimits) -> None:
    deps = doc.dependencies
    status = "complete" if deps.complete else "INCOMPLETE: some finders did not run; counts are a lower bound"
    if event_is_follow_up(doc) and not deps.total:
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
    items, not_shown = split_shown(deps.items, lim.items_shown)
    if items:
        out.line(
            f"Resources (first {len(items)} of {deps.total}):" if deps.total > len(items) else "Resources:"
        )
        for item in items:
            where = clean(item.region, 30) + (f", account {clean(item.account, 12)}" if item.account else "")
            out.line(
                f"- {clean(item.resource_type, 60)} {clean(item.name, lim.value_len)} "
                f"[{where}]: {clean(item.evidence, lim.value_len)}",
                indent=4,
            )
            if item.arn and item.arn != item.name:
                out.line(clean(item.arn, lim.value_len), indent=6)
    if not_shown or deps.items_omitted:
        out.line(f"{not_shown + deps.items_omitted} more resources not listed here (see the counts above).")
    searched = [a for a in deps.accounts if a.searched]  # the others are listed as not searched below
    if searched:
        shown = ", ".join(
            f"{clean(a.account, 12)} ({', '.join(a.named_by)}): {a.found} found"
            for a in searched[: lim.list_shown]
        )
        out.field("Other accounts", "searched " + shown + (" ..." if len(searched) > lim.list_shown else ""))
    for effect, heading in UNCHECKED_HEADINGS:
        listed = deps.unchecked_as(effect)
        if not listed:
            continue
        out.line(f"{heading} ({len(listed)}):")
        unchecked, more = split_shown(listed, lim.list_shown)
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
    grants, more = split_shown(deps.grants, lim.list_shown)
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
        out.field("Last used", f"{_when(usage.last_usage)}{operation}")
    elif usage.last_usage_note:
        out.field("Last used", clean(usage.last_usage_note, lim.value_len))
    if usage.lookback_days is not None:
        count = len(usage.principals) + usage.principals_omitted
        out.field(
            "CloudTrail usage",
            f"{plural(usage.events_examined, 'event')} in "
            f"{plural(usage.lookback_days, 'day')}, {plural(count, 'principal')}",
        )
    principals, more = split_shown(usage.principals, lim.list_shown)
    for principal in principals:
        line = f"- {clean(principal.principal, lim.value_len)}: {plural(principal.calls, 'call')}"
        if principal.operations:
            line += " (" + ", ".join(clean(op, 40) for op in principal.operations[:10]) + ")"
        if principal.invoked_by:
            line += " via " + ", ".join(clean(s, 60) for s in principal.invoked_by[:5])
        if principal.last_seen:
            line += f"; last {_when(principal.last_seen)}"
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


def render_text(doc: AlertDocument, lim: RenderLimits = DEFAULT_LIMITS) -> str:
    """The plain-text report (SNS ``default`` and ``email``): the verdict, then what to do, then why."""
    out = _Text()
    out.lines.append(verdict(doc))
    out.section("NEXT STEPS")
    if doc.next_steps:
        for number, step in enumerate(doc.next_steps, 1):
            out.line(f"{number}. {clean_trusted(step)}")
    else:
        out.line("None suggested.")
    if doc.target is not None:
        _target_section(out, doc, lim)
    elif doc.kind != "invalid-event":
        _key_section(out, doc, lim)
    _action_section(out, doc, lim)
    _actor_section(out, doc, lim)
    _timeline_section(out, doc)
    if doc.target is None:
        _dependencies_section(out, doc, lim)
    _remediation_section(out, doc, lim)
    if doc.notes:
        out.section("NOTES")
        for note in doc.notes:
            out.line(f"- {clean(note, lim.long_value_len)}")
    out.lines.extend(
        [
            "",
            f"Alert {clean(doc.alert_id, 80)} ({clean(doc.kind, 30)}, schema "
            f"{doc.schema_version}), generated {_when(doc.generated_at)} by kms-keyguard.",
        ]
    )
    return out.render()


def text_body(rendering: Rendering) -> str:
    """The plain-text report as an SNS body."""
    return render_text(rendering.doc, rendering.limits)
