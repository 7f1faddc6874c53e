"""Re-read the key: DescribeKey, aliases, tags and rotation status into a ``KeySnapshot``; the key
policy on request.

Never trust the event for the key's current state. Every call is best-effort: a denied or failing
call becomes a visible note ("tags unavailable: AccessDenied") and the snapshot is still returned.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.aws import ClientFactory, error_code
from shared.keyref import KeyIdentity, parse_key_reference
from shared.observability import logger

ACTIONS: tuple[str, ...] = (
    "kms:DescribeKey",
    "kms:ListAliases",
    "kms:ListResourceTags",
    "kms:GetKeyRotationStatus",
    "kms:GetKeyPolicy",
)

_SECONDS_PER_DAY = 86_400


@dataclass
class KeySnapshot:
    """What is known about the key right now; ``readable`` is False when DescribeKey failed."""

    reference: str
    region: str
    readable: bool = False
    arn: str | None = None
    key_id: str | None = None
    state: str | None = None
    deletion_date: datetime | None = None
    pending_window_days: int | None = None
    manager: str | None = None
    origin: str | None = None
    spec: str | None = None
    usage: str | None = None
    description: str | None = None
    creation_date: datetime | None = None
    enabled: bool | None = None
    multi_region: bool | None = None
    multi_region_role: str | None = None
    primary_arn: str | None = None
    replica_arns: list[str] = field(default_factory=list)
    aliases: list[str] | None = None
    tags: dict[str, str] | None = None
    rotation_enabled: bool | None = None
    custom_key_store_id: str | None = None
    unavailable: dict[str, str] = field(default_factory=dict)  # part -> error code

    @classmethod
    def from_metadata(cls, reference: str, region: str, metadata: dict[str, Any]) -> KeySnapshot:
        """A readable snapshot from a ``DescribeKey`` ``KeyMetadata`` (aliases and tags not read yet)."""
        snapshot = cls(reference=reference, region=region, readable=True)
        snapshot.arn = metadata.get("Arn")
        snapshot.key_id = metadata.get("KeyId")
        snapshot.state = metadata.get("KeyState")
        snapshot.deletion_date = _aware(metadata.get("DeletionDate"))
        snapshot.pending_window_days = metadata.get("PendingDeletionWindowInDays")
        snapshot.manager = metadata.get("KeyManager")
        snapshot.origin = metadata.get("Origin")
        snapshot.spec = metadata.get("KeySpec") or metadata.get("CustomerMasterKeySpec")
        snapshot.usage = metadata.get("KeyUsage")
        snapshot.description = metadata.get("Description") or None
        snapshot.creation_date = _aware(metadata.get("CreationDate"))
        snapshot.enabled = metadata.get("Enabled")
        snapshot.custom_key_store_id = metadata.get("CustomKeyStoreId") or None
        snapshot.multi_region = metadata.get("MultiRegion")
        config = metadata.get("MultiRegionConfiguration") or {}
        if config:
            snapshot.multi_region_role = config.get("MultiRegionKeyType")
            snapshot.primary_arn = (config.get("PrimaryKey") or {}).get("Arn")
            snapshot.replica_arns = [r["Arn"] for r in config.get("ReplicaKeys") or [] if r.get("Arn")]
        return snapshot

    @property
    def is_customer_managed(self) -> bool:
        return self.manager == "CUSTOMER"

    def days_until_deletion(self, now: datetime) -> int | None:
        if self.deletion_date is None:
            return None
        seconds = (self.deletion_date - now).total_seconds()
        return max(0, math.ceil(seconds / _SECONDS_PER_DAY))

    def identity(self) -> KeyIdentity | None:
        if not self.arn:
            return None
        related = {self.primary_arn, *self.replica_arns} - {None, self.arn}
        return KeyIdentity(
            key_arn=self.arn,
            aliases=frozenset(self.aliases or ()),
            related_arns=frozenset(arn for arn in related if arn),
        )

    def notes(self) -> list[str]:
        labels = {
            "describe": "key details",
            "aliases": "aliases",
            "tags": "tags",
            "rotation": "rotation status",
        }
        return [f"{labels.get(part, part)} unavailable: {code}" for part, code in self.unavailable.items()]


class KeyInventory:
    """Reads one key's current state through an injected client factory."""

    def __init__(self, clients: ClientFactory, clock: Callable[[], datetime] | None = None) -> None:
        self._clients = clients
        self._clock = clock or (lambda: datetime.now(UTC))

    def read(self, reference: str, region: str) -> KeySnapshot:
        """Snapshot the key named by ``reference`` (any form) in ``region``."""
        kms = self._clients.client("kms", region)
        try:
            metadata = kms.describe_key(KeyId=reference)["KeyMetadata"]
        except (ClientError, BotoCoreError) as exc:
            snapshot = KeySnapshot(reference=reference, region=region)
            snapshot.unavailable["describe"] = error_code(exc)
            logger.warning("key could not be described", key=reference, error=error_code(exc))
            ref = parse_key_reference(reference)
            if ref and not ref.is_alias and ref.arn():
                snapshot.arn, snapshot.key_id = ref.arn(), ref.value
            return snapshot
        snapshot = KeySnapshot.from_metadata(reference, region, metadata)
        self.enrich(snapshot)
        return snapshot

    def enrich(self, snapshot: KeySnapshot, *, rotation: bool = True) -> None:
        """Add the aliases, the tags and (with ``rotation``, where it applies) the rotation status.

        Each part is best-effort: a failed call is recorded in ``snapshot.unavailable``.
        """
        kms = self._clients.client("kms", snapshot.region)
        key_id = snapshot.key_id
        snapshot.aliases = _best_effort(snapshot, "aliases", lambda: _aliases(kms, key_id))
        snapshot.tags = _best_effort(snapshot, "tags", lambda: _tags(kms, key_id))
        if (
            rotation
            and snapshot.is_customer_managed
            and snapshot.spec == "SYMMETRIC_DEFAULT"
            and snapshot.origin != "EXTERNAL"
            # Keys in custom key stores (CloudHSM, external) have no automatic rotation:
            # GetKeyRotationStatus is not supported for them (API_GetKeyRotationStatus.html).
            and snapshot.custom_key_store_id is None
        ):
            snapshot.rotation_enabled = _best_effort(
                snapshot,
                "rotation",
                lambda: bool(kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]),
            )

    def key_policy(self, snapshot: KeySnapshot) -> tuple[str | None, str | None]:
        """The key's ``default`` policy document, or ``None`` and the error code that stopped the read.

        ``default`` is the only valid policy name:
        https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html
        """
        kms = self._clients.client("kms", snapshot.region)
        try:
            text = kms.get_key_policy(KeyId=snapshot.key_id, PolicyName="default")["Policy"]
        except (ClientError, BotoCoreError) as exc:
            return None, error_code(exc)
        return str(text), None


def _best_effort(snapshot: KeySnapshot, part: str, call: Callable[[], Any]) -> Any:
    try:
        return call()
    except (ClientError, BotoCoreError) as exc:
        snapshot.unavailable[part] = error_code(exc)
        logger.warning("key enrichment degraded", part=part, error=error_code(exc))
        return None


def _aliases(kms: Any, key_id: str | None) -> list[str]:
    names: list[str] = []
    for page in kms.get_paginator("list_aliases").paginate(KeyId=key_id):
        names.extend(alias["AliasName"] for alias in page.get("Aliases", []) if alias.get("AliasName"))
    return sorted(names)


def _tags(kms: Any, key_id: str | None) -> dict[str, str]:
    tags: dict[str, str] = {}
    for page in kms.get_paginator("list_resource_tags").paginate(KeyId=key_id):
        for tag in page.get("Tags", []):
            tags[str(tag.get("TagKey"))] = str(tag.get("TagValue", ""))
    return tags


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def describe_one(kms: Any, key_id: str) -> dict[str, Any] | None:
    """DescribeKey's metadata, or ``None`` (logged) when the key cannot be described."""
    try:
        metadata: dict[str, Any] = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    except (ClientError, BotoCoreError) as exc:
        logger.warning("key could not be described", key_id=key_id, error=error_code(exc))
        return None
    return metadata


def describe_keys(kms: Any, key_ids: Sequence[str], max_workers: int = 16) -> list[dict[str, Any] | None]:
    """DescribeKey for every key, ``max_workers`` at a time, in the order given.

    A pool of 16 stays far below KMS's DescribeKey quota (thousands of requests a second per account
    and Region: https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html);
    throttled calls are retried by the client's standard retry mode. boto3 clients are thread safe.
    """
    if len(key_ids) <= 1 or max_workers <= 1:
        return [describe_one(kms, key_id) for key_id in key_ids]
    with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="describe") as pool:
        return list(pool.map(lambda key_id: describe_one(kms, key_id), key_ids))
