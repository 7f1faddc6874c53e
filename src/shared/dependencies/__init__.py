"""Ciphertext dependency discovery: the registry of finders and the discovery entry point."""

from __future__ import annotations

from shared.alert import DependenciesSection
from shared.aws import ClientFactory
from shared.dependencies.base import DiscoveryOutcome, Finder, FinderContext, run_finders
from shared.dependencies.coded import S3BucketEncryptionFinder
from shared.dependencies.table import TABLE
from shared.keyref import KeyIdentity

REGISTRY: tuple[Finder, ...] = (*TABLE, S3BucketEncryptionFinder())


def required_actions() -> set[str]:
    """Every IAM action the registry's finders call."""
    return {action for finder in REGISTRY for action in finder.actions}


__all__ = ["REGISTRY", "DiscoveryOutcome", "discover", "Finder", "FinderContext", "required_actions", "run_finders"]


def discover(
    identity: KeyIdentity,
    clients: ClientFactory,
    *,
    deadline: float,
    max_workers: int = 16,
    regions: list[str] | None = None,
) -> DependenciesSection:
    """Find what encrypts with the key, within ``deadline`` (a ``time.monotonic()`` value)."""
    outcome = run_finders(REGISTRY, identity, clients, deadline, regions=regions, max_workers=max_workers)
    counts: dict[str, int] = {}
    for item in outcome.items:
        counts[item.resource_type] = counts.get(item.resource_type, 0) + 1
    return DependenciesSection(
        complete=outcome.complete,
        total=len(outcome.items),
        counts=counts,
        items=outcome.items,
        unchecked=outcome.unchecked,
        regions_searched=outcome.regions,
        elapsed_seconds=outcome.elapsed_seconds,
    )
