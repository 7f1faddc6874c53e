"""What the scheduled passes over a Region's keys share: settings, clients, a journal, a clock, a
bounded pool for describing keys, and the alert topic's publisher built on first use."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from shared.aws import ClientFactory
from shared.config import Settings
from shared.journal import DynamoJournal, Journal, MemoryJournal
from shared.key_inventory import KeyInventory


class KeySweep:
    """The base of the reminder and reconciliation passes."""

    def __init__(
        self,
        settings: Settings,
        clients: ClientFactory,
        *,
        publisher: Any = None,
        journal: Journal | None = None,
        now: Callable[[], datetime] | None = None,
        max_workers: int = 16,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.max_workers = max_workers
        self._now = now or (lambda: datetime.now(UTC))
        self._publisher = publisher
        self.inventory = KeyInventory(clients, clock=self._now)
        table = settings.idempotency_table_name
        self.journal: Journal = journal or (DynamoJournal(clients, table) if table else MemoryJournal())

    @property
    def publisher(self) -> Any:
        if self._publisher is None:
            from shared.alerting import SnsPublisher

            self._publisher = SnsPublisher.for_topic(self.clients, self.settings.alert_topic_arn)
        return self._publisher


def list_key_entries(kms: Any) -> list[tuple[str, str]]:
    """(key id, key ARN) of every key of the client's account and Region (ListKeys, paginated)."""
    return [
        (str(entry["KeyId"]), str(entry["KeyArn"]))
        for page in kms.get_paginator("list_keys").paginate()
        for entry in page.get("Keys", [])
    ]
