"""Ciphertext dependency discovery: the registry of finders and the discovery entry point."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from shared.aws import ClientFactory
from shared.dependencies.base import DiscoveryOutcome, Finder, FinderContext, Work, run_finders
from shared.dependencies.catalog import TABLE
from shared.dependencies.evidence import CloudTrailUsageFinder, GrantsFinder, LastUsageFinder, summarise_usage
from shared.dependencies.table import TableFinder
from shared.document import DependenciesSection, DependencyItem, GrantItem
from shared.keyref import KeyIdentity

REGISTRY: tuple[TableFinder, ...] = TABLE
EVIDENCE: tuple[Finder, ...] = (GrantsFinder(), LastUsageFinder(), CloudTrailUsageFinder())
EVIDENCE_NAMES = frozenset(finder.name for finder in EVIDENCE)

__all__ = [
    "EVIDENCE",
    "REGISTRY",
    "DiscoveryOutcome",
    "Finder",
    "FinderContext",
    "Work",
    "discover",
    "required_actions",
    "resource_types",
    "run_finders",
]

# Alert order: by tier (databases, volumes, secrets, buckets, the rest), then registry order.
_RANK = {rtype: (finder.tier, n) for n, finder in enumerate(REGISTRY) for rtype in finder.resource_types}


def required_actions() -> set[str]:
    """Every IAM action discovery calls: the resource finders' and the evidence finders'."""
    return {action for finder in (*REGISTRY, *EVIDENCE) for action in finder.actions}


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
) -> DependenciesSection:
    """Find what encrypts with the key, within ``deadline`` (a ``clock()`` value, by default
    ``time.monotonic()``).

    Searches the key's region and every multi-Region replica's region (or ``regions``). With
    ``evidence``, also lists grants, asks KMS for the key's last use and summarises ``lookback_days``
    of CloudTrail (``0`` skips CloudTrail). ``evidence`` may instead name the evidence finders to run
    (``EVIDENCE_NAMES``), for a caller that already read the grants or the last usage itself.
    ``max_items`` bounds ``items``; ``total`` and ``counts`` still count everything and
    ``items_omitted`` says how many were left out.
    """
    selected: list[Finder] = list(finders) if finders is not None else list(REGISTRY)
    wanted = set(EVIDENCE_NAMES if evidence is True else () if evidence is False else evidence)
    if lookback_days <= 0:
        wanted.discard("cloudtrail-key-usage")
    candidates: list[Finder] = [
        GrantsFinder(),
        LastUsageFinder(),
        CloudTrailUsageFinder(lookback_days, now, max_events),
    ]
    selected += [finder for finder in candidates if finder.name in wanted]
    outcome = run_finders(
        selected, identity, clients, deadline, regions=regions, max_workers=max_workers, clock=clock
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
    )
