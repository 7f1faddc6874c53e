"""``keyguard impact KEY --organization``: where in the organization this key (or alias) lives, and
what depends on it in each place.

A StackSet usually gives every account the same alias (``alias/app-data``), and a key id found in a
log names no account: this answers "which accounts and Regions hold it, and what breaks in each if it
stops working?" in one command. The accounts and Regions are the ones ``keyguard audit
--organization`` covers (``organization.active_accounts``, ``enabled_regions`` or ``--regions``),
read through the same member role. In each, the key is described by its reference; where it exists,
its dependencies are searched exactly as ``keyguard impact --account`` searches them. A Region
without the key is counted, not listed; an account or Region that could not be read is a row with
the reason. The exit code is the worst of all (``errors.SEVERITY``), and ``KEY_NOT_FOUND`` when the
key is nowhere.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from keyguard_cli.errors import CliError, ExitCode, worst
from keyguard_cli.impact import (
    ImpactDocument,
    ImpactResult,
    check_reference,
    raise_if_unreadable,
    search_key,
)
from keyguard_cli.organization import Member, OrganizationWalk, Prepared
from keyguard_cli.session import AwsContext
from shared.key_inventory import KeyInventory
from shared.keyref import parse_key_reference

ImpactResultName = Literal["DEPENDENCIES", "NONE FOUND", "INCOMPLETE", "NOT SEARCHED"]


class ImpactRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str
    account_name: str
    region: str | None = Field(description="null when the account as a whole could not be read")
    key_arn: str | None = None
    key_state: str | None = None
    result: ImpactResultName
    dependencies: int = Field(
        default=0, description="dependent resources found (a lower bound if incomplete)"
    )
    grants: int = 0
    detail: str = Field(description="the resource types found, what left the search incomplete, or why not")
    exit_code: int


class KeyImpact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: str
    account_name: str
    region: str
    impact: ImpactDocument


class OrganizationImpactSummary(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accounts: int
    accounts_not_searched: int
    account_regions_read: int
    keys_found: int
    keys_with_dependencies: int
    keys_incomplete: int


class OrganizationImpact(BaseModel):
    """``keyguard impact KEY --organization --json``."""

    model_config = ConfigDict(extra="forbid", title="keyguard impact --organization --json")

    schema_version: Literal["1"] = "1"
    key: str = Field(description="the key reference as given (alias name or key id)")
    caller_account: str
    generated_at: str
    role_name: str
    regions_requested: list[str] | None = Field(description="--regions, or null: each account's enabled ones")
    keys: list[KeyImpact] = Field(description="every place the key was found, with its impact document")
    rows: list[ImpactRow]
    summary: OrganizationImpactSummary
    exit_code: int = Field(description="the worst row's exit code; 5 when the key is found nowhere")


def check_organization_reference(reference: str) -> None:
    """An alias name or key id: a key ARN or alias ARN names one account (use ``--account``)."""
    check_reference(reference)
    ref = parse_key_reference(reference)
    if ref is not None and ref.account:
        raise CliError(
            ExitCode.USAGE,
            f"{reference} names account {ref.account}: use --account {ref.account}, or give --organization "
            "an alias name or key id",
        )


def _row(
    member: Member, region: str | None, result: ImpactResult | None, error: CliError | None
) -> ImpactRow:
    if result is None:
        assert error is not None
        return ImpactRow(
            account=member.id,
            account_name=member.name,
            region=region,
            result="NOT SEARCHED",
            detail=error.message,
            exit_code=int(error.code),
        )
    deps = result.document.dependencies
    code = result.exit_code
    names: dict[ExitCode, ImpactResultName] = {
        ExitCode.DEPENDENCIES_FOUND: "DEPENDENCIES",
        ExitCode.INCOMPLETE: "INCOMPLETE",
    }
    types = ", ".join(f"{t} {n}" for t, n in sorted(deps.counts.items(), key=lambda kv: (-kv[1], kv[0])))
    gaps = [u.finder for u in deps.unchecked_as("incomplete")]
    detail = "; ".join(
        part for part in (types, f"{len(deps.grants)} grants" if deps.grants else "", _gaps(gaps)) if part
    )
    return ImpactRow(
        account=member.id,
        account_name=member.name,
        region=region,
        key_arn=result.document.key.arn,
        key_state=result.document.key.state,
        result=names.get(code, "NONE FOUND"),
        dependencies=deps.total,
        grants=len(deps.grants) + deps.grants_omitted,
        detail=detail or "nothing found",
        exit_code=int(code),
    )


def _gaps(finders: list[str]) -> str:
    if not finders:
        return ""
    return (
        "not checked: "
        + ", ".join(finders[:3])
        + (f" and {len(finders) - 3} more" if len(finders) > 3 else "")
    )


class OrganizationImpactSearch(OrganizationWalk):
    """Finds the key in every active account and Region and searches its dependencies there."""

    def __init__(
        self,
        ctx: AwsContext,
        reference: str,
        *,
        region: str,
        role_name: str,
        regions: list[str] | None,
        max_workers: int,
        timeout: float,
        workers: int,
        tick: Callable[[int, int], None] | None = None,
        now: datetime | None = None,
    ) -> None:
        check_organization_reference(reference)
        super().__init__(
            ctx,
            region=region,
            role_name=role_name,
            regions=regions,
            max_workers=max_workers,
            tick=tick,
            now=now,
        )
        self.reference = reference
        self.timeout = timeout
        self.workers = workers

    def run(self) -> OrganizationImpact:
        caller = self.ctx.account()
        members = self._members()
        found: dict[tuple[str, str], ImpactResult | CliError | None] = {}
        with ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="keyguard-org") as pool:
            places = [f.result() for f in [pool.submit(self._prepare, m, caller) for m in members]]
            futures = {
                pool.submit(self._search, place.ctx, place.member.id, region): (place.member.id, region)
                for place in places
                if place.ctx is not None
                for region in place.regions
            }
            for future in as_completed(futures):
                found[futures[future]] = future.result()
                self._progress(done=1)
        return self._assemble(caller, places, found)

    def _search(self, ctx: AwsContext, account: str, region: str) -> ImpactResult | CliError | None:
        """The key's impact in one account and Region; ``None`` where it does not exist."""
        ref = parse_key_reference(self.reference)
        key_ref = (ref.arn(account, region) if ref else None) or self.reference
        snapshot = KeyInventory(ctx.clients).read(key_ref, region)
        try:  # read as `keyguard impact` reads it; "not found" here means "not in this place"
            raise_if_unreadable(snapshot, key_ref, region)
        except CliError as exc:
            return None if exc.code is ExitCode.KEY_NOT_FOUND else exc
        return search_key(ctx, snapshot, key_ref, timeout=self.timeout, workers=self.workers)

    def _assemble(
        self,
        caller: str,
        places: list[Prepared],
        found: dict[tuple[str, str], ImpactResult | CliError | None],
    ) -> OrganizationImpact:
        rows: list[ImpactRow] = []
        keys: list[KeyImpact] = []
        for place in places:
            member = place.member
            if place.error is not None:
                rows.append(_row(member, None, None, place.error))
                continue
            for region in place.regions:
                outcome = found.get((member.id, region))
                if isinstance(outcome, CliError):
                    rows.append(_row(member, region, None, outcome))
                elif outcome is not None:
                    rows.append(_row(member, region, outcome, None))
                    keys.append(
                        KeyImpact(
                            account=member.id,
                            account_name=member.name,
                            region=region,
                            impact=outcome.document,
                        )
                    )
        located = [r for r in rows if r.key_arn]
        summary = OrganizationImpactSummary(
            accounts=len(places),
            accounts_not_searched=sum(p.error is not None for p in places),
            account_regions_read=sum(len(p.regions) for p in places),
            keys_found=len(located),
            keys_with_dependencies=sum(r.result == "DEPENDENCIES" for r in located),
            keys_incomplete=sum(r.result == "INCOMPLETE" for r in located),
        )
        code = worst(ExitCode(r.exit_code) for r in rows)
        if not located and code is ExitCode.OK:
            code = ExitCode.KEY_NOT_FOUND
        return OrganizationImpact(
            key=self.reference,
            caller_account=caller,
            generated_at=self.now.isoformat().replace("+00:00", "Z"),
            role_name=self.role_name,
            regions_requested=self.regions,
            keys=keys,
            rows=rows,
            summary=summary,
            exit_code=int(code),
        )
