"""Discover: the key's dependencies within the time the invocation can spare.

The budget is ``min(DISCOVERY_MAX_SECONDS, remaining time - elapsed - PUBLISH_RESERVE_SECONDS)``
(``docs/decisions.md``, "Discovery budget from the Lambda context"), computed here only. A key that
cannot be searched (unreadable, not customer managed, no time left) gets a section saying why.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Protocol

from shared.assemble.sections import not_searched
from shared.aws import ClientFactory
from shared.config import Settings
from shared.dependencies import discover
from shared.document import DependenciesSection
from shared.key_inventory import KeySnapshot
from shared.keyref import KeyIdentity

if TYPE_CHECKING:
    from shared.cross_account import CrossAccountSearch

PolicyReader = Callable[[KeySnapshot], tuple[str | None, str | None]]


class Discoverer(Protocol):
    def __call__(
        self, identity: KeyIdentity, clients: ClientFactory, *, deadline: float, max_workers: int = ...
    ) -> DependenciesSection: ...


class DependencySearch:
    """Runs a ``Discoverer`` (the finder registry by default) for one key, within a budget; in
    organization mode, ``beyond`` then searches the other accounts the key policy (read with
    ``policy``) or a grant names."""

    def __init__(
        self,
        settings: Settings,
        clients: ClientFactory,
        discoverer: Discoverer | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        beyond: CrossAccountSearch | None = None,
        policy: PolicyReader | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.beyond = beyond
        self.policy = policy
        # The finder registry, configured from the settings (index, aggregator, quotas, usage budget).
        self.discoverer: Discoverer = discoverer or partial(
            discover,
            config_index=settings.discovery_config_index,
            aggregator=settings.discovery_config_aggregator,
            usage_seconds=settings.usage_lookup_seconds,
            rate_limits=settings.rate_limits,
        )
        self._monotonic = monotonic

    def budget(self, started: float, remaining_seconds: float | None) -> float:
        """Seconds discovery may take, for an invocation that began at ``started`` (monotonic)."""
        budget = self.settings.discovery_max_seconds
        if remaining_seconds is None:
            return budget
        elapsed = self._monotonic() - started
        return min(budget, remaining_seconds - elapsed - self.settings.publish_reserve_seconds)

    def for_key(self, snapshot: KeySnapshot, budget: float) -> tuple[DependenciesSection, bool]:
        """The dependencies, and whether they were searched (rather than a reason they were not)."""
        identity = snapshot.identity()
        if not snapshot.readable or identity is None:
            return not_searched("the key could not be read"), False
        if not snapshot.is_customer_managed:
            return not_searched("the key is not customer managed"), False
        if budget <= 0:
            return not_searched("no time left before the Lambda timeout"), False
        if self.beyond is None or self.policy is None:
            return self._run(identity, budget), True
        deadline = self._monotonic() + budget
        text, error = self.policy(snapshot)
        home = self._run(identity, self.beyond.home_budget(identity, text, budget))
        return self.beyond.extend(identity, home, text, error, deadline), True

    def for_deleted_key(self, key_arn: str, budget: float) -> DependenciesSection:
        """A deleted key has no aliases left: the search is by key id and ARN only."""
        if budget <= 0:
            return not_searched("no time left")
        return self._run(KeyIdentity(key_arn=key_arn), budget)

    def _run(self, identity: KeyIdentity, budget: float) -> DependenciesSection:
        return self.discoverer(
            identity,
            self.clients,
            deadline=self._monotonic() + budget,
            max_workers=self.settings.discovery_max_workers,
        )
