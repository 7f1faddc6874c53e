"""Readable terminal reports (rich) for ``impact`` and ``audit``; JSON goes out unrendered."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich import box
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from keyguard_cli.audit import AuditReport
from keyguard_cli.checkers import CHECKERS
from keyguard_cli.impact import ImpactResult
from keyguard_cli.org_impact import OrganizationImpact
from keyguard_cli.organization import OrganizationReport
from shared.alerting.common import UNCHECKED_HEADINGS

STATUS_STYLE = {
    "PASS": "bold green",
    "FAIL": "bold red",
    "UNKNOWN": "bold yellow",
    "NOT AUDITED": "bold magenta",
}


def _kv_table(title: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    return table


def _listing(title: str, *columns: str) -> Table:
    """A titled table whose columns fold long values (ARNs, reasons) instead of cutting them."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def render_impact(console: Console, result: ImpactResult) -> None:
    key = result.document.key
    deps = result.document.dependencies
    facts = _kv_table("Key")
    rows: list[tuple[str, str | None]] = [
        ("ARN", key.arn),
        ("Aliases", ", ".join(key.aliases) or "none"),
        ("State", key.state),
        (
            "Deletion",
            f"{key.deletion_date} ({key.days_until_deletion} days left)" if key.deletion_date else None,
        ),
        ("Manager", key.manager),
        ("Spec / usage", " / ".join(v for v in (key.spec, key.usage) if v) or None),
        ("Origin", key.origin),
        (
            "Multi-Region",
            f"{key.multi_region_role} ({len(key.replica_arns)} replicas)" if key.multi_region else None,
        ),
        (
            "Rotation",
            {True: "enabled", False: "disabled"}.get(key.rotation_enabled)
            if key.rotation_enabled is not None
            else None,
        ),
        ("Created", key.creation_date),
        ("Description", key.description),
        ("Tags", ", ".join(f"{k}={v}" for k, v in sorted(key.tags.items())) or None),
    ]
    for label, value in rows:
        if value:
            facts.add_row(label, value)
    console.print(facts)

    if deps.items:
        table = _listing(f"Dependencies ({deps.total})", "Type", "Name", "Region", "Evidence")
        for item in sorted(deps.items, key=lambda i: (i.resource_type, i.name)):
            where = f"{item.region} (account {item.account})" if item.account else item.region
            table.add_row(item.resource_type, item.name, where, item.evidence)
        console.print(table)
        if deps.items_omitted:
            console.print(f"  … and {deps.items_omitted} more not listed")
    if deps.grants:
        table = _listing(
            f"Grants ({len(deps.grants) + deps.grants_omitted})", "Grant", "Grantee", "Operations", "For"
        )
        for grant in deps.grants:
            table.add_row(
                grant.name or grant.grant_id[:16],
                grant.grantee_principal or "?",
                ", ".join(grant.operations),
                grant.resource or grant.service or "",
            )
        console.print(table)
    usage = deps.usage
    if usage and (usage.principals or usage.last_usage or usage.last_usage_note):
        table = _listing(
            f"Usage evidence (last {usage.lookback_days} days)",
            "Principal",
            "Calls",
            "Operations",
            "Last seen",
        )
        for principal in usage.principals:
            table.add_row(
                principal.principal,
                str(principal.calls),
                ", ".join(principal.operations),
                principal.last_seen or "",
            )
        if usage.principals:
            console.print(table)
        if usage.last_usage or usage.last_usage_note:
            console.print(
                f"  Last use: {usage.last_usage or 'unknown'} {usage.last_usage_operation or ''} "
                f"{usage.last_usage_note or ''}".rstrip()
            )
    for effect, heading in UNCHECKED_HEADINGS:
        listed = deps.unchecked_as(effect)
        if not listed:
            continue
        table = _listing(f"{heading} ({len(listed)})", "Finder", "Region", "Why")
        for unchecked in listed:
            style = "yellow" if effect == "incomplete" else "dim"
            table.add_row(unchecked.finder, unchecked.region or "", unchecked.reason, style=style)
        console.print(table)

    elapsed = f" in {deps.elapsed_seconds:.1f} s" if deps.elapsed_seconds is not None else ""
    regions = f" across {', '.join(deps.regions_searched)}" if deps.regions_searched else ""
    if result.found_something:
        verdict = Text(f"{deps.total} dependent resources", style="bold red")
        if deps.grants:
            verdict.append(f", {len(deps.grants) + deps.grants_omitted} grants", style="bold red")
        verdict.append("" if deps.complete else " (search incomplete: there may be more)")
    elif deps.complete:
        verdict = Text("Nothing found that depends on this key", style="bold green")
    else:
        verdict = Text("Nothing found, but the search was incomplete", style="bold yellow")
    verdict.append(f" — searched{regions}{elapsed}.", style="default")
    console.print(verdict)


def render_audit(console: Console, report: AuditReport) -> None:
    console.print(Text(f"CIS 4.7 audit of account {report.account}", style="bold"))
    for region in report.regions:
        table = Table(title=region.region, title_justify="left", box=box.SIMPLE_HEAD)
        table.add_column("Check", no_wrap=True)
        table.add_column("Status", no_wrap=True)
        table.add_column("Reason / fix", overflow="fold")
        for check in region.checks:
            detail = Text(check.reason)
            if check.fix and check.status != "PASS":
                detail.append(f"\nfix: {check.fix}", style="dim")
            table.add_row(check.id, Text(check.status, style=STATUS_STYLE[check.status]), detail)
        console.print(table)
        filters = next((c.details.get("filters") for c in region.checks if c.id == "metric-filter"), None)
        if filters:
            accepted = Table(
                title="Metric filters and the checkers that accept their exact text",
                title_justify="left",
                box=box.SIMPLE_HEAD,
            )
            accepted.add_column("Filter", overflow="fold", min_width=24)
            accepted.add_column("4.7", no_wrap=True)
            for rule in CHECKERS:
                accepted.add_column(rule.checker, no_wrap=True)
            for flt in filters:
                verdicts = flt.get("accepted_by", {})
                accepted.add_row(
                    str(flt.get("name")),
                    _yes(flt.get("implements_4_7")),
                    *(_yes(verdicts.get(rule.checker)) for rule in CHECKERS),
                )
            console.print(accepted)
        if region.pending_deletion:
            pending = _listing("Keys pending deletion", "Key", "Days left", "Approval", "To keep it")
            for key in region.pending_deletion:
                pending.add_row(
                    ", ".join(key.aliases) or key.arn,
                    str(key.days_left if key.days_left is not None else "?"),
                    Text(key.approval, style="yellow" if key.approval == "unverified" else "red"),
                    key.cancel_command,
                )
            console.print(pending)
    summary = report.summary
    console.print(
        Text.assemble(
            (f"{summary['PASS']} PASS", STATUS_STYLE["PASS"]),
            "  ",
            (f"{summary['FAIL']} FAIL", STATUS_STYLE["FAIL"]),
            "  ",
            (f"{summary['UNKNOWN']} UNKNOWN", STATUS_STYLE["UNKNOWN"]),
        )
    )


def _yes(value: object) -> Text:
    return Text("yes", style="green") if value else Text("no", style="red")


@contextmanager
def organization_progress(console: Console, label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on ``console`` (stderr, a terminal only); yields ``tick(done, total)``."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("accounts and regions"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("organization", total=None)

        def tick(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield tick


def render_organization(console: Console, report: OrganizationReport) -> None:
    console.print(
        Text(
            f"CIS 4.7 audit of the organization from account {report.caller_account} "
            f"(member role {report.role_name})",
            style="bold",
        )
    )
    table = _listing("Summary", "Account", "Region", "Result", "Worst finding")
    for row in report.rows:
        name = f"{row.account} ({row.account_name})" if row.account_name else row.account
        table.add_row(
            name,
            row.region or "-",
            Text(row.result, style=STATUS_STYLE[row.result]),
            row.worst_finding,
        )
    console.print(table)
    summary = report.summary
    console.print(
        Text.assemble(
            f"{summary.account_regions} account-regions: ",
            (f"{summary.passing} PASS", STATUS_STYLE["PASS"]),
            "  ",
            (f"{summary.failing} FAIL", STATUS_STYLE["FAIL"]),
            "  ",
            (f"{summary.unknown} UNKNOWN", STATUS_STYLE["UNKNOWN"]),
            f"; {summary.accounts} accounts: {summary.accounts_passing} pass, "
            f"{summary.accounts_failing} fail, {summary.accounts_not_audited} not audited",
        )
    )
    for result in ("FAIL", "UNKNOWN", "NOT AUDITED"):
        where: dict[str, list[str]] = {}
        for row in report.rows:
            if row.result == result:
                where.setdefault(row.account, []).extend([row.region] if row.region else [])
        if where:
            listed = "; ".join(
                f"{account} ({', '.join(regions)})" if regions else account
                for account, regions in where.items()
            )
            console.print(Text.assemble((result, STATUS_STYLE[result]), f": {listed}"))
    everywhere = (
        summary.accounts > 0
        and summary.accounts_not_audited == 0
        and summary.account_regions == summary.passing
    )
    console.print(
        Text("CIS 4.7 is met everywhere.", style=STATUS_STYLE["PASS"])
        if everywhere
        else Text("CIS 4.7 is not met everywhere.", style=STATUS_STYLE["FAIL"])
    )


IMPACT_STYLE = {"DEPENDENCIES": "bold red", "NONE FOUND": "bold green", "INCOMPLETE": "bold yellow"}


def render_impact_organization(console: Console, report: OrganizationImpact) -> None:
    console.print(
        Text(
            f"Where {report.key} is in the organization, and what depends on it "
            f"(from account {report.caller_account}, member role {report.role_name})",
            style="bold",
        )
    )
    table = _listing("Summary", "Account", "Region", "Key", "Result", "Dependencies", "Detail")
    for row in report.rows:
        name = f"{row.account} ({row.account_name})" if row.account_name else row.account
        key = f"{row.key_arn.rsplit('/', 1)[-1]} {row.key_state or ''}".strip() if row.key_arn else "-"
        table.add_row(
            name,
            row.region or "-",
            key,
            Text(row.result, style=IMPACT_STYLE.get(row.result, STATUS_STYLE["NOT AUDITED"])),
            str(row.dependencies) if row.key_arn else "-",
            row.detail,
        )
    if report.rows:
        console.print(table)
    summary = report.summary
    console.print(
        f"Found in {summary.keys_found} of {summary.account_regions_read} account-regions read "
        f"({summary.accounts} accounts, {summary.accounts_not_searched} not searched): "
        f"{summary.keys_with_dependencies} with dependencies, {summary.keys_incomplete} incomplete."
    )
    if not summary.keys_found and not summary.accounts_not_searched:
        console.print(Text(f"{report.key} exists in none of them.", style="bold"))
