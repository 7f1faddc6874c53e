"""``keyguard audit --organization``: CIS 4.7 in every active account and enabled Region at once.

The accounts come from Organizations ``ListAccounts`` (paginated; only the management account or a
delegated administrator may call it), keeping those whose ``State`` is ``ACTIVE`` (``Status`` is
retired: https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html). Each
account other than the caller's own is audited through its member discovery role, assumed as the
hub assumes it; the caller's own account with the caller's credentials. The Regions are the
account's enabled ones, from EC2 ``DescribeRegions`` without ``AllRegions``
(https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html), unless
``--regions`` names them. Accounts, then their Regions, run on one bounded thread pool.

An account that cannot be audited (its role cannot be assumed, its Regions cannot be listed) is a
row with the reason; the exit code is the worst of all (``errors.SEVERITY``).
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from threading import Lock
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from keyguard_cli.audit import Auditor, AuditReport, RegionAudit
from keyguard_cli.errors import CliError, ExitCode, aws_error_code, from_aws_error, worst
from keyguard_cli.session import AwsContext
from shared.dependencies.base import DENIED_CODES

ACTIVE = "ACTIVE"
Result = Literal["PASS", "FAIL", "UNKNOWN", "NOT AUDITED"]


@dataclass(frozen=True, order=True)
class Member:
    id: str
    name: str


class SummaryRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str
    account_name: str
    region: str | None = Field(description="null when the account as a whole could not be audited")
    result: Result
    worst_finding: str = Field(description="the first FAIL check (else UNKNOWN) and its reason, or 'none'")
    exit_code: int


class AccountAudit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str
    name: str
    exit_code: int = Field(description="what `keyguard audit --account` would exit with")
    error: str | None = Field(default=None, description="why the account could not be audited")
    report: AuditReport | None = None


class OrganizationSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: int
    accounts_passing: int
    accounts_failing: int = Field(description="accounts with at least one FAIL")
    accounts_not_audited: int
    account_regions: int
    passing: int
    failing: int
    unknown: int


class OrganizationReport(BaseModel):
    """``keyguard audit --organization --json``."""

    model_config = ConfigDict(extra="forbid", title="keyguard audit --organization --json")

    schema_version: Literal["1"] = "1"
    caller_account: str
    generated_at: str
    role_name: str
    regions_requested: list[str] | None = Field(description="--regions, or null: each account's enabled ones")
    accounts: list[AccountAudit]
    rows: list[SummaryRow]
    summary: OrganizationSummary
    exit_code: int = Field(description="the worst account's exit code")


def active_accounts(ctx: AwsContext, region: str) -> list[Member]:
    """The organization's ACTIVE accounts, sorted by id; a caller that may not list them is told why."""
    client = ctx.clients.client("organizations", region)
    try:
        found = [a for page in client.get_paginator("list_accounts").paginate() for a in page["Accounts"]]
    except ClientError as exc:
        code = aws_error_code(exc)
        if code == "AWSOrganizationsNotInUseException":
            raise CliError(ExitCode.USAGE, "--organization: this account is not in an organization") from None
        if code in DENIED_CODES:
            raise CliError(
                ExitCode.ACCESS_DENIED,
                f"access denied: organizations:ListAccounts ({code}); --organization runs in the "
                "management account or a delegated administrator",
            ) from None
        raise from_aws_error(exc, "organizations:ListAccounts") from None
    except BotoCoreError as exc:
        raise from_aws_error(exc, "organizations:ListAccounts") from None
    return sorted(
        Member(str(a["Id"]), str(a.get("Name") or ""))
        for a in found
        if (a.get("State") or a.get("Status")) == ACTIVE
    )


def enabled_regions(ctx: AwsContext, region: str) -> list[str]:
    """The Regions enabled for the context's account (``DescribeRegions`` without ``AllRegions``)."""
    try:
        answer = ctx.clients.client("ec2", region).describe_regions()
    except (ClientError, BotoCoreError) as exc:
        raise from_aws_error(exc, "ec2:DescribeRegions") from None
    return sorted(str(r["RegionName"]) for r in answer.get("Regions", []))


def region_exit_code(audit: RegionAudit) -> ExitCode:
    statuses = {check.status for check in audit.checks}
    if "FAIL" in statuses:
        return ExitCode.FAILED_CHECKS
    if "UNKNOWN" in statuses:
        return ExitCode.INCOMPLETE
    return ExitCode.OK


def report_exit_code(report: AuditReport) -> ExitCode:
    return worst(region_exit_code(audit) for audit in report.regions)


def _row(member: Member, audit: RegionAudit) -> SummaryRow:
    code = region_exit_code(audit)
    results: dict[ExitCode, Result] = {ExitCode.FAILED_CHECKS: "FAIL", ExitCode.INCOMPLETE: "UNKNOWN"}
    result = results.get(code, "PASS")
    finding = next((c for status in ("FAIL", "UNKNOWN") for c in audit.checks if c.status == status), None)
    return SummaryRow(
        account=member.id,
        account_name=member.name,
        region=audit.region,
        result=result,
        worst_finding=f"{finding.id}: {finding.reason}" if finding else "none",
        exit_code=int(code),
    )


@dataclass
class Prepared:
    member: Member
    ctx: AwsContext | None = None
    regions: tuple[str, ...] = ()
    error: CliError | None = None


class OrganizationWalk:
    """Every active account of the organization and its Regions, reached through the member role on
    one bounded pool; ``tick(done, total)`` reports progress. Subclasses do the work per Region."""

    def __init__(
        self,
        ctx: AwsContext,
        *,
        region: str,
        role_name: str,
        regions: list[str] | None,
        max_workers: int,
        tick: Callable[[int, int], None] | None = None,
        now: datetime | None = None,
    ) -> None:
        self.ctx = ctx
        self.region = region  # STS, Organizations and DescribeRegions are asked here
        self.role_name = role_name
        self.regions = regions
        self.max_workers = max_workers
        self.now = now or datetime.now(UTC)
        self.tick = tick
        self._lock = Lock()
        self._done = 0
        self._total = 0

    def _progress(self, *, done: int = 0, more: int = 0) -> None:
        with self._lock:
            self._done += done
            self._total += more
            done_now, total = self._done, self._total
        if self.tick is not None:
            self.tick(done_now, total)

    def _members(self) -> list[Member]:
        members = active_accounts(self.ctx, self.region)
        self._progress(more=len(members))
        return members

    def _prepare(self, member: Member, caller: str) -> Prepared:
        """The member's context (assumed role, or the caller's own) and Regions, or why not."""
        try:
            ctx = self.ctx if member.id == caller else self.ctx.assume(member.id, self.role_name, self.region)
            regions = tuple(self.regions or enabled_regions(ctx, self.region))
        except CliError as exc:
            return Prepared(member, error=exc)
        finally:
            self._progress(done=1)
        self._progress(more=len(regions))
        return Prepared(member, ctx, regions)


class OrganizationAudit(OrganizationWalk):
    """Audits every active account of the organization."""

    def run(self) -> OrganizationReport:
        caller = self.ctx.account()
        members = self._members()
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="keyguard-org") as pool:
            prepared = [f.result() for f in [pool.submit(self._prepare, m, caller) for m in members]]
            audits: dict[tuple[str, str], RegionAudit] = {}
            failures: dict[str, CliError] = {}
            auditors = {
                p.member.id: Auditor(p.ctx.clients, p.member.id, now=self.now) for p in prepared if p.ctx
            }
            futures: dict[Any, tuple[str, str]] = {
                pool.submit(auditors[p.member.id].region, region): (p.member.id, region)
                for p in prepared
                for region in p.regions
            }
            for future in as_completed(futures):
                account, region = futures[future]
                try:
                    audits[account, region] = future.result()
                except (ClientError, BotoCoreError) as exc:
                    failures[account] = from_aws_error(exc, f"auditing {region}")
                self._progress(done=1)
        return self._assemble(caller, prepared, audits, failures)

    def _assemble(
        self,
        caller: str,
        prepared: list[Prepared],
        audits: dict[tuple[str, str], RegionAudit],
        failures: dict[str, CliError],
    ) -> OrganizationReport:
        accounts: list[AccountAudit] = []
        rows: list[SummaryRow] = []
        for item in prepared:
            member = item.member
            error = item.error or failures.get(member.id)
            if error is not None:
                accounts.append(
                    AccountAudit(
                        account=member.id, name=member.name, exit_code=int(error.code), error=error.message
                    )
                )
                rows.append(
                    SummaryRow(
                        account=member.id,
                        account_name=member.name,
                        region=None,
                        result="NOT AUDITED",
                        worst_finding=error.message,
                        exit_code=int(error.code),
                    )
                )
                continue
            assert item.ctx is not None
            regional = [audits[member.id, region] for region in item.regions]
            report = Auditor(item.ctx.clients, member.id, now=self.now).report(regional)
            accounts.append(
                AccountAudit(
                    account=member.id,
                    name=member.name,
                    exit_code=int(report_exit_code(report)),
                    report=report,
                )
            )
            rows.extend(_row(member, audit) for audit in regional)
        audited = [a for a in accounts if a.report is not None]
        summary = OrganizationSummary(
            accounts=len(accounts),
            accounts_passing=sum(a.exit_code == ExitCode.OK for a in audited),
            accounts_failing=sum(a.exit_code == ExitCode.FAILED_CHECKS for a in audited),
            accounts_not_audited=len(accounts) - len(audited),
            account_regions=sum(r.region is not None for r in rows),
            passing=sum(r.result == "PASS" for r in rows),
            failing=sum(r.result == "FAIL" for r in rows),
            unknown=sum(r.result == "UNKNOWN" for r in rows),
        )
        return OrganizationReport(
            caller_account=caller,
            generated_at=self.now.isoformat().replace("+00:00", "Z"),
            role_name=self.role_name,
            regions_requested=self.regions,
            accounts=accounts,
            rows=rows,
            summary=summary,
            exit_code=int(worst(ExitCode(a.exit_code) for a in accounts)),
        )
