"""Organization-wide sweeps behind ``handlers/org_sweep.py``: reconciliation and reminders in every
member account and Region.

Two ways in (docs/organization.md, "Sweeps"):

- **one account and Region** (an item of the Step Functions Distributed Map): the hub assumes the
  account's discovery role (``MemberAccounts``, ``SourceIdentity=kms-keyguard``) and runs the
  ordinary pass there, with the hub's own journal and alert topic;
- **one AWS Config aggregator query** (``CONFIG_AGGREGATOR_NAME``): a single
  ``SelectAggregateResourceConfig`` lists the organization's customer managed keys in an unusable
  state; only those keys are re-read, through their account's role, before anything is alerted
  (Config's view can be minutes old).

A member account whose role cannot be assumed is reported in the summary and counted
(``OrgSweepErrors``, alarmed), never swept with the hub's own credentials; a failed publish raises.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import boto3
from pydantic import BaseModel, ConfigDict, Field

from shared.accounts import MemberAccounts, MemberRoleUnavailable
from shared.aws import ClientFactory
from shared.config import Settings
from shared.journal import DynamoJournal, Journal, MemoryJournal
from shared.observability import logger, metrics
from shared.reconcile import RECONCILED_STATES, Reconciler
from shared.reminders import Reminders

# What the sweep worker calls itself; the passes it runs declare theirs (RECONCILE_ACTIONS,
# REMINDER_ACTIONS), made in the member account through its discovery role.
ACTIONS: tuple[str, ...] = ("sts:AssumeRole", "sts:SetSourceIdentity")
AGGREGATOR_ACTIONS: tuple[str, ...] = ("config:SelectAggregateResourceConfig",)

Sweep = Literal["reconcile", "reminders"]
ACCOUNT_ID = r"^\d{12}$"
REGION = r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$"

# Field names of AWS::KMS::Key in AWS Config (aws-config-resource-schema, AWS::KMS::Key); the
# query language offers =, IN, BETWEEN, AND, OR, NOT ("Query components":
# https://docs.aws.amazon.com/config/latest/developerguide/query-components.html).
UNUSABLE_KEYS_QUERY = (
    "SELECT accountId, awsRegion, resourceId, configuration.keyState, configuration.deletionDate "
    "WHERE resourceType = 'AWS::KMS::Key' AND configuration.keyManager = 'CUSTOMER' "
    "AND configuration.keyState IN ({states})"
).format(states=", ".join(f"'{state}'" for state in sorted(RECONCILED_STATES)))
# SelectAggregateResourceConfig returns at most 100 results a page
# (https://docs.aws.amazon.com/config/latest/APIReference/API_SelectAggregateResourceConfig.html).
QUERY_PAGE_SIZE = 100


class SweepRequest(BaseModel):
    """One item of the Map: which account and Region, and which pass."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    account: str = Field(pattern=ACCOUNT_ID)
    region: str = Field(pattern=REGION)
    sweep: Sweep


class AggregatorRequest(BaseModel):
    """A schedule's input on the aggregator path: only the pass."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    sweep: Sweep


class UnusableKey(BaseModel):
    """One row of the aggregator query (Config's view, re-read before anything is alerted)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    account: str = Field(alias="accountId", pattern=ACCOUNT_ID)
    region: str = Field(alias="awsRegion", pattern=REGION)
    key_id: str = Field(alias="resourceId", min_length=1, max_length=128)

    def arn(self) -> str:
        partition = boto3.Session().get_partition_for_region(self.region)
        return f"arn:{partition}:kms:{self.region}:{self.account}:key/{self.key_id}"


def unusable_keys(config: Any, aggregator: str) -> tuple[list[UnusableKey], int]:
    """Every customer managed key Config's aggregator holds in an unusable state, and the number
    of rows that could not be read. ``Results`` are JSON strings, one per resource."""
    keys: list[UnusableKey] = []
    unreadable = 0
    pages = config.get_paginator("select_aggregate_resource_config").paginate(
        Expression=UNUSABLE_KEYS_QUERY,
        ConfigurationAggregatorName=aggregator,
        PaginationConfig={"PageSize": QUERY_PAGE_SIZE},
    )
    for page in pages:
        for row in page.get("Results", []):
            try:
                keys.append(UnusableKey.model_validate(json.loads(row)))
            except ValueError:  # malformed JSON or a row without account, Region or id
                unreadable += 1
                logger.warning("unreadable aggregator row", row=str(row)[:200])
    return keys, unreadable


class OrgSweeper:
    """Runs the reconciliation or reminder pass in one member account and Region, or over the
    keys an aggregator query names; alerts go to the hub's topic, records to the hub's journal."""

    def __init__(
        self,
        settings: Settings,
        clients: ClientFactory,
        *,
        hub_account: str,
        reminder_days: tuple[int, ...] = (3, 1),
        aggregator: str | None = None,
        members: MemberAccounts | None = None,
        publisher: Any = None,
        journal: Journal | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients  # the hub's own
        self.hub_account = hub_account
        self.reminder_days = reminder_days
        self.aggregator = aggregator
        self.members = members or MemberAccounts(clients)
        self._publisher = publisher
        table = settings.idempotency_table_name
        self.journal: Journal = journal or (DynamoJournal(clients, table) if table else MemoryJournal())
        self._now = now

    @property
    def publisher(self) -> Any:
        if self._publisher is None:
            from shared.alerting import SnsPublisher

            self._publisher = SnsPublisher.for_topic(self.clients, self.settings.alert_topic_arn)
        return self._publisher

    def account_clients(self, account: str, region: str) -> ClientFactory:
        """The hub's own clients for the hub account (it has no member roles); otherwise the
        account's discovery role. Raises ``MemberRoleUnavailable``."""
        if account == self.hub_account:
            return self.clients
        return self.members.factory(account, self.settings.member_role_name, region)

    def _pass(self, sweep: Sweep, clients: ClientFactory) -> Reconciler | Reminders:
        shared: dict[str, Any] = {"publisher": self.publisher, "journal": self.journal, "now": self._now}
        if sweep == "reminders":
            return Reminders(self.settings, clients, days=self.reminder_days, **shared)
        return Reconciler(self.settings, clients, **shared)

    def _run(
        self, sweep: Sweep, account: str, region: str, keys: list[tuple[str, str]] | None
    ) -> dict[str, Any]:
        where = {"account": account, "region": region, "sweep": sweep}
        try:
            clients = self.account_clients(account, region)
        except MemberRoleUnavailable as exc:
            error = f"{exc.code} assuming {exc.role_arn}"
            logger.error("member account not swept", account=account, region=region, sweep=sweep, error=error)
            metrics.add_metric(name="OrgSweepErrors", unit="Count", value=1)
            return {**where, "error": error}
        sweeper = self._pass(sweep, clients)
        summary = sweeper.run(region, keys=keys)
        logger.info("member account swept", account=account, region=region, sweep=sweep, summary=summary)
        return {**where, **summary}

    def sweep_account(self, request: SweepRequest) -> dict[str, Any]:
        """One Map item: the whole pass in one account and Region."""
        return self._run(request.sweep, request.account, request.region, None)

    def sweep_aggregator(self, sweep: Sweep) -> dict[str, Any]:
        """One aggregator query, then the pass over only the keys it named, account by account."""
        if not self.aggregator:
            raise ValueError("no CONFIG_AGGREGATOR_NAME")
        config = self.clients.client("config")
        keys, unreadable = unusable_keys(config, self.aggregator)
        groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
        for key in keys:
            groups[(key.account, key.region)].append((key.key_id, key.arn()))
        results = [
            self._run(sweep, account, region, found) for (account, region), found in sorted(groups.items())
        ]
        if unreadable:
            metrics.add_metric(name="OrgSweepErrors", unit="Count", value=unreadable)
        return {
            "sweep": sweep,
            "aggregator": self.aggregator,
            "keys_reported": len(keys),
            "unreadable_rows": unreadable,
            "accounts": len({account for account, _ in groups}),
            "sent": sum(int(r.get("sent", 0)) for r in results),
            "errors": [r for r in results if "error" in r],
        }
