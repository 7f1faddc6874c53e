"""Ciphertext dependency discovery: the registry of finders and the discovery entry point."""

from __future__ import annotations

from shared.dependencies.base import DiscoveryOutcome, Finder, FinderContext, run_finders
from shared.dependencies.coded import S3BucketEncryptionFinder
from shared.dependencies.table import TABLE

REGISTRY: tuple[Finder, ...] = (*TABLE, S3BucketEncryptionFinder())


def required_actions() -> set[str]:
    """Every IAM action the registry's finders call."""
    return {action for finder in REGISTRY for action in finder.actions}


__all__ = ["REGISTRY", "DiscoveryOutcome", "Finder", "FinderContext", "required_actions", "run_finders"]
