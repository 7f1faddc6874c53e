"""The small memory kept between events, in the idempotency table (or in memory without one).

``Journal``: per-key facts the responder remembers: the last Enabled / Disabled transition it saw,
the last dependency list it discovered (for the "key deleted" notice, when the key and its aliases
are gone), and short-lived markers that coalesce floods of tripwire events and reminders.
``MemoryJournal`` is the best-effort fallback when no table is configured.

Every journal call degrades: a failing table is logged and the alert still goes out.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shared.aws import ClientFactory, error_code
from shared.document import DependenciesSection, DependencyItem
from shared.keyref import parse_key_reference
from shared.models import CloudTrailRecord
from shared.observability import logger
from shared.policy import Transition, transition_state

# Exact DynamoDB actions the journal calls on the table (conditional puts, consistent reads).
ACTIONS: tuple[str, ...] = ("dynamodb:GetItem", "dynamodb:PutItem")

DEPENDENCIES_TTL = timedelta(days=60)  # longer than the longest pending window (30 days)
TRANSITIONS_TTL = timedelta(days=400)
ALERTED_TTL = timedelta(days=400)  # "this key was alerted on in this state", for reconciliation
MAX_REMEMBERED_ITEMS = 200


@dataclass(frozen=True)
class RememberedDependencies:
    items: list[DependencyItem]
    complete: bool
    total: int
    recorded_at: str


class Journal(Protocol):
    def record_transition(self, key_arn: str, transition: Transition) -> None: ...
    def transitions(self, key_arn: str) -> list[Transition]: ...
    def record_dependencies(
        self, key_arn: str, items: list[DependencyItem], complete: bool, total: int, at: datetime
    ) -> None: ...
    def last_dependencies(self, key_arn: str) -> RememberedDependencies | None: ...
    def claim(self, marker: str, seconds: int, now: datetime) -> bool: ...
    def release(self, marker: str) -> None: ...
    def mark_alerted(self, key_arn: str, state: str, at: datetime) -> None: ...
    def alerted_state(self, key_arn: str) -> str | None: ...


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class JournalUnavailable(Exception):
    """The journal's table could not be read; the argument is the AWS error code."""


class MemoryJournal:
    """Best-effort journal for a function without a table: lasts as long as the warm container."""

    def __init__(self) -> None:
        self._transitions: dict[str, dict[str, Transition]] = {}
        self._dependencies: dict[str, RememberedDependencies] = {}
        self._markers: dict[str, datetime] = {}
        self._alerted: dict[str, str] = {}
        self._lock = threading.Lock()

    def record_transition(self, key_arn: str, transition: Transition) -> None:
        with self._lock:
            latest = self._transitions.setdefault(key_arn, {})
            current = latest.get(transition.state)
            if current is None or current.time < transition.time:
                latest[transition.state] = transition

    def transitions(self, key_arn: str) -> list[Transition]:
        return list(self._transitions.get(key_arn, {}).values())

    def record_dependencies(
        self, key_arn: str, items: list[DependencyItem], complete: bool, total: int, at: datetime
    ) -> None:
        self._dependencies[key_arn] = RememberedDependencies(
            items[:MAX_REMEMBERED_ITEMS], complete, total, _iso(at)
        )

    def last_dependencies(self, key_arn: str) -> RememberedDependencies | None:
        return self._dependencies.get(key_arn)

    def claim(self, marker: str, seconds: int, now: datetime) -> bool:
        with self._lock:
            expires = self._markers.get(marker)
            if expires is not None and expires > now:
                return False
            self._markers[marker] = now + timedelta(seconds=seconds)
            return True

    def release(self, marker: str) -> None:
        self._markers.pop(marker, None)

    def mark_alerted(self, key_arn: str, state: str, at: datetime) -> None:
        self._alerted[key_arn] = state

    def alerted_state(self, key_arn: str) -> str | None:
        return self._alerted.get(key_arn)


class DynamoJournal:
    """The journal in the idempotency table (hash key ``id``, TTL attribute ``expiration``).

    Item ids are prefixed (``state#``, ``deps#``, ``marker#``) so they never collide with the
    Powertools records, whose ids start with the function name.
    """

    def __init__(self, clients: ClientFactory, table_name: str) -> None:
        self._clients = clients
        self._table = table_name

    @property
    def _ddb(self) -> Any:
        return self._clients.client("dynamodb")

    def record_transition(self, key_arn: str, transition: Transition) -> None:
        item = {
            "id": {"S": f"state#{key_arn}#{transition.state}"},
            "at": {"S": _iso(transition.time)},
            "event_name": {"S": transition.event_name},
            "event_id": {"S": transition.event_id or ""},
            "expiration": {"N": str(int((transition.time + TRANSITIONS_TTL).timestamp()))},
        }
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(id) OR #at < :at",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":at": item["at"]},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":  # a newer transition is kept
                logger.warning("journal write failed", part="transition", error=error_code(exc))
        except BotoCoreError as exc:
            logger.warning("journal write failed", part="transition", error=error_code(exc))

    def transitions(self, key_arn: str) -> list[Transition]:
        found: list[Transition] = []
        for state in ("Enabled", "Disabled"):
            item = self._get(f"state#{key_arn}#{state}")
            if item and "at" in item:
                found.append(
                    Transition(
                        time=_parse(item["at"]["S"]),
                        state=state,
                        event_name=item.get("event_name", {}).get("S", "?"),
                        source="keyguard journal",
                        event_id=item.get("event_id", {}).get("S") or None,
                    )
                )
        return found

    def record_dependencies(
        self, key_arn: str, items: list[DependencyItem], complete: bool, total: int, at: datetime
    ) -> None:
        body = json.dumps([item.model_dump(mode="json") for item in items[:MAX_REMEMBERED_ITEMS]])
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": f"deps#{key_arn}"},
                    "items": {"S": body},
                    "complete": {"BOOL": complete},
                    "total": {"N": str(total)},
                    "at": {"S": _iso(at)},
                    "expiration": {"N": str(int((at + DEPENDENCIES_TTL).timestamp()))},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("journal write failed", part="dependencies", error=error_code(exc))

    def last_dependencies(self, key_arn: str) -> RememberedDependencies | None:
        item = self._get(f"deps#{key_arn}")
        if not item or "items" not in item:
            return None
        items = [DependencyItem.model_validate(raw) for raw in json.loads(item["items"]["S"])]
        return RememberedDependencies(
            items=items,
            complete=bool(item.get("complete", {}).get("BOOL")),
            total=int(item.get("total", {}).get("N", len(items))),
            recorded_at=item.get("at", {}).get("S", ""),
        )

    def claim(self, marker: str, seconds: int, now: datetime) -> bool:
        """Take ``marker`` for ``seconds``; False while someone else holds it (a sliding window)."""
        epoch = int(now.timestamp())
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={"id": {"S": f"marker#{marker}"}, "expiration": {"N": str(epoch + seconds)}},
                ConditionExpression="attribute_not_exists(id) OR expiration <= :now",
                ExpressionAttributeValues={":now": {"N": str(epoch)}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            logger.warning("marker claim failed; publishing anyway", error=error_code(exc))
        except BotoCoreError as exc:
            logger.warning("marker claim failed; publishing anyway", error=error_code(exc))
        return True

    def release(self, marker: str) -> None:
        """Free ``marker`` early (its publish failed) by expiring it: PutItem only, no DeleteItem."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={"id": {"S": f"marker#{marker}"}, "expiration": {"N": "0"}},
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("marker release failed", error=error_code(exc))

    def mark_alerted(self, key_arn: str, state: str, at: datetime) -> None:
        """Record that an alert about ``key_arn`` in ``state`` went out (PutItem, last one wins)."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={
                    "id": {"S": f"alerted#{key_arn}"},
                    "state": {"S": state},
                    "at": {"S": _iso(at)},
                    "expiration": {"N": str(int((at + ALERTED_TTL).timestamp()))},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("journal write failed", part="alerted", error=error_code(exc))

    def alerted_state(self, key_arn: str) -> str | None:
        """The state the last alert about ``key_arn`` reported; raises ``JournalUnavailable`` when
        the table cannot be read (unknown is not "never alerted")."""
        try:
            response = self._ddb.get_item(
                TableName=self._table, Key={"id": {"S": f"alerted#{key_arn}"}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise JournalUnavailable(error_code(exc)) from exc
        item = response.get("Item") or {}
        return str(item["state"]["S"]) if "state" in item else None

    def _get(self, item_id: str) -> dict[str, Any] | None:
        try:
            response = self._ddb.get_item(
                TableName=self._table, Key={"id": {"S": item_id}}, ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            logger.warning("journal read failed", error=error_code(exc))
            return None
        item: dict[str, Any] | None = response.get("Item")
        return item


def remember(
    journal: Journal,
    record: CloudTrailRecord,
    key_arn: str | None,
    dependencies: DependenciesSection | None,
    now: datetime,
) -> None:
    """Keep what later events need from this one: the state a successful call left the key in (the
    restore evidence) and the dependencies found (for the "key deleted" notice and the reminders).

    ``dependencies`` is ``None`` when none were searched for; ``key_arn`` an alias ARN when the key
    could not be read (then nothing is kept).
    """
    if not key_arn or "alias/" in key_arn or parse_key_reference(key_arn) is None:
        return
    state = transition_state(record.event_name)
    if state and not record.failed and record.event_time is not None:
        transition = Transition(
            record.event_time, state, record.event_name, "keyguard journal", record.event_id
        )
        journal.record_transition(key_arn, transition)
    if dependencies is not None:
        journal.record_dependencies(
            key_arn, dependencies.items, dependencies.complete, dependencies.total, now
        )
