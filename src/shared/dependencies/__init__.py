"""Ciphertext dependency discovery: the registry of finders and the discovery entry point."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from shared.aws import ClientFactory
from shared.dependencies.base import DiscoveryOutcome, Finder, FinderContext, RateLimit, Work
from shared.dependencies.catalog import TABLE
from shared.dependencies.clients import discovery_clients
from shared.dependencies.config_index import INDEX_ACTIONS, ConfigIndexFinder, IndexReport
from shared.dependencies.engine import run_finders
from shared.dependencies.evidence import CloudTrailUsageFinder, GrantsFinder, LastUsageFinder, summarise_usage
from shared.dependencies.table import TableFinder
from shared.document import DependenciesSection, DependencyItem, GrantItem, IndexFallback, IndexSection
from shared.keyref import KeyIdentity

REGISTRY: tuple[TableFinder, ...] = TABLE
EVIDENCE: tuple[Finder, ...] = (GrantsFinder(), LastUsageFinder(), CloudTrailUsageFinder())
EVIDENCE_NAMES = frozenset(finder.name for finder in EVIDENCE)
INDEXABLE: tuple[TableFinder, ...] = tuple(finder for finder in REGISTRY if finder.indexable)

__all__ = [
    "EVIDENCE",
    "REGISTRY",
    "DiscoveryOutcome",
    "Finder",
    "FinderContext",
    "RateLimit",
    "Work",
    "discover",
    "required_actions",
    "resource_types",
    "run_finders",
]

# Alert order: by tier (databases, volumes, secrets, buckets, the rest), then registry order.
_RANK = {rtype: (finder.tier, n) for n, finder in enumerate(REGISTRY) for rtype in finder.resource_types}


def required_actions() -> set[str]:
    """Every IAM action discovery calls: the index's, the resource finders' and the evidence finders'."""
    return {*INDEX_ACTIONS, *(action for finder in (*REGISTRY, *EVIDENCE) for action in finder.actions)}


def resource_types() -> list[str]:
    """Every resource type discovery checks, in alert order."""
    return sorted(_RANK, key=_RANK.__getitem__)


def _merge(items: Iterable[DependencyItem]) -> list[DependencyItem]:
    """One item per resource, evidence merged; most critical first."""
    merged: dict[tuple[str, str, str], DependencyItem] = {}
    for item in items:
        ident = (item.resource_type, item.arn or item.name, item.region)
        known = merged.get(ident)
        if known is None:
            merged[ident] = item
        elif item.evidence not in known.evidence.split("; "):
            merged[ident] = known.model_copy(update={"evidence": f"{known.evidence}; {item.evidence}"})
    return sorted(
        merged.values(),
        key=lambda i: (_RANK.get(i.resource_type, (9, 0)), i.resource_type, i.region, i.name),
    )


def discover(
    identity: KeyIdentity,
    clients: ClientFactory,
    *,
    deadline: float,
    max_workers: int = 16,
    regions: list[str] | None = None,
    max_items: int | None = None,
    lookback_days: int = 7,
    max_events: int = 5000,
    evidence: bool | Iterable[str] = True,
    finders: Iterable[Finder] | None = None,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    config_index: bool | None = None,
    aggregator: str = "auto",
    usage_seconds: float | None = 5.0,
    rate_limits: Mapping[str, float] | None = None,
) -> DependenciesSection:
    """Find what encrypts with the key, within ``deadline`` (a ``clock()`` value, by default
    ``time.monotonic()``).

    Searches the key's region and every multi-Region replica's region (or ``regions``). With
    ``evidence``, also lists grants, asks KMS for the key's last use and summarises ``lookback_days``
    of CloudTrail (``0`` skips CloudTrail) within ``usage_seconds`` of its own. ``evidence`` may
    instead name the evidence finders to run (``EVIDENCE_NAMES``), for a caller that already read
    the grants or the last usage itself. ``max_items`` bounds ``items``; ``total`` and ``counts``
    still count everything and ``items_omitted`` says how many were left out.

    ``config_index`` (by default on when the whole registry is searched) answers the resource types
    AWS Config records continuously from its index; ``aggregator`` is ``"auto"`` (an organization
    aggregator covering the Region, if the account can query one), ``"none"`` or a name.
    ``rate_limits`` overrides documented rates by operation, for accounts with raised quotas.
    """
    selected: list[Finder] = list(finders) if finders is not None else list(REGISTRY)
    if config_index if config_index is not None else finders is None:
        indexable = tuple(f for f in selected if isinstance(f, TableFinder) and f.indexable)
        if indexable:  # the index goes first: its probe heads the chain of 24 resource types
            selected = [
                ConfigIndexFinder(indexable, aggregator),
                *(f for f in selected if f not in indexable),
            ]
    wanted = set(EVIDENCE_NAMES if evidence is True else () if evidence is False else evidence)
    if lookback_days <= 0:
        wanted.discard("cloudtrail-key-usage")
    candidates: list[Finder] = [
        GrantsFinder(),
        LastUsageFinder(),
        CloudTrailUsageFinder(lookback_days, now, max_events, usage_seconds),
    ]
    selected += [finder for finder in candidates if finder.name in wanted]
    with _traced_as_one("## discovery"):
        outcome = run_finders(
            selected,
            identity,
            discovery_clients(clients, max_workers),
            deadline,
            regions=regions,
            max_workers=max_workers,
            clock=clock,
            rate_limits=rate_limits,
        )
    items = _merge(outcome.items)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.resource_type] = counts.get(item.resource_type, 0) + 1
    grants = {g.grant_id: g for g in outcome.results if isinstance(g, GrantItem)}
    shown = items if max_items is None else items[: max(0, max_items)]
    return DependenciesSection(
        complete=outcome.complete,
        total=len(items),
        counts=counts,
        items=shown,
        items_omitted=len(items) - len(shown),
        unchecked=outcome.unchecked,
        regions_searched=outcome.regions,
        grants=sorted(grants.values(), key=lambda g: (g.service or "~", g.grant_id)),
        usage=summarise_usage(outcome.results, lookback_days) if wanted else None,
        elapsed_seconds=outcome.elapsed_seconds,
        index=index_section(outcome.results, items, len(outcome.regions)),
    )


@contextmanager
def _traced_as_one(name: str) -> Iterator[None]:
    """One X-Ray subsegment for the whole search (its calls are not traced one by one)."""
    from shared.observability import tracer

    if tracer.disabled:
        yield
        return
    with tracer.provider.in_subsegment(name):
        yield


def index_section(
    results: Iterable[Any], items: list[DependencyItem], regions: int = 1
) -> IndexSection | None:
    """The alert's account of the AWS Config index: what it answered, what it did not and why, and
    how old its answer may be. ``None`` when the index was not consulted."""
    reports = [r for r in results if isinstance(r, IndexReport)]
    if not reports:
        return None
    indexed = sorted({t for r in reports for t in r.indexed})
    fallback: dict[tuple[str, str], None] = {}
    for report in reports:
        for rtype, reason in report.fallback:
            fallback[(rtype, f"{report.region}: {reason}" if regions > 1 else reason)] = None
    frequencies = {r.frequency for r in reports if r.frequency}
    captured = sorted(i.captured_at for i in items if i.via == "config" and i.captured_at)
    notes = [n for r in reports for n in r.notes]
    aggregator = next((r.aggregator for r in reports if r.aggregator), None)
    if indexed:
        note = (
            "Resource types answered from the AWS Config index show Config's recorded state. Continuous "
            "recording records a change within minutes: a resource created or re-keyed in the last "
            "minutes may be missing, so an empty answer is not proof of absence."
        )
        if captured:
            note += f" Oldest configuration item used was captured at {captured[0]}."
    else:
        reasons = sorted({reason for _, reason in fallback})
        note = "AWS Config index not used: " + ("; ".join(reasons[:3]) or "nothing to query")
    if aggregator:
        note += f" Other accounts' resources come from the organization aggregator {aggregator}."
    if notes:
        note += " " + "; ".join(notes) + "."
    return IndexSection(
        used=bool(indexed),
        aggregator=aggregator,
        recording=(next(iter(frequencies)).lower() if len(frequencies) == 1 else "mixed")
        if frequencies
        else None,
        resource_types=indexed,
        fallback=[IndexFallback(resource_type=t, reason=r) for t, r in fallback],
        queries=sum(r.queries for r in reports),
        oldest_capture=captured[0] if captured else None,
        note=note,
    )
