"""The daily reminder pass behind ``handlers/reminders.py``.

A scheduled deletion runs silently at the end of its window, weeks after the first alert; each
customer managed key pending deletion whose deletion is ``REMINDER_DAYS`` days away (default 3 and
1) gets one reminder, threaded on the key ARN like the alert it follows. At most one per key and
day: a marker keyed on the key ARN and the date, in the idempotency table (in memory without one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from shared.approval import Verification, parse_approval
from shared.assemble import reminder_alert
from shared.aws import ClientFactory
from shared.config import Settings
from shared.document import AlertDocument
from shared.errors import ConfigurationError
from shared.journal import Journal
from shared.key_inventory import KeySnapshot, describe_keys
from shared.observability import logger, metrics
from shared.sweep import KeySweep, list_key_entries

REMINDER_ACTIONS: tuple[str, ...] = (
    "kms:ListKeys",
    "kms:DescribeKey",
    "kms:ListAliases",
    "kms:ListResourceTags",
)
REMINDER_MARKER_SECONDS = 2 * 86_400  # one reminder per key and day; the marker outlives the day


def parse_reminder_days(raw: str | None) -> tuple[int, ...]:
    """``"3,1"`` → ``(3, 1)``; raises ``ConfigurationError`` on anything else."""
    text = (raw or "3,1").strip()
    try:
        days = tuple(sorted({int(part) for part in text.split(",") if part.strip()}, reverse=True))
    except ValueError:
        raise ConfigurationError(
            f"invalid configuration: REMINDER_DAYS: '{text[:40]}' is not a list of days"
        ) from None
    if not days or any(day < 0 or day > 30 for day in days):
        raise ConfigurationError("invalid configuration: REMINDER_DAYS: days must be between 0 and 30")
    return days


class Reminders(KeySweep):
    """Finds keys pending deletion at a reminder distance and publishes one reminder each."""

    def __init__(
        self,
        settings: Settings,
        clients: ClientFactory,
        *,
        days: tuple[int, ...] = (3, 1),
        publisher: Any = None,
        journal: Journal | None = None,
        now: Callable[[], datetime] | None = None,
        max_workers: int = 16,
    ) -> None:
        super().__init__(
            settings, clients, publisher=publisher, journal=journal, now=now, max_workers=max_workers
        )
        self.days = days

    def run(self, region: str | None = None, keys: Sequence[tuple[str, str]] | None = None) -> dict[str, Any]:
        """One daily pass over the Region's keys, or only ``keys`` (key id, key ARN) when given;
        returns counts. A failed publish raises (the scheduled rule retries)."""
        region = region or self.clients.default_region or "us-east-1"
        now = self._now()
        kms = self.clients.client("kms", region)
        examined = due = sent = duplicates = 0
        entries = list(keys) if keys is not None else list_key_entries(kms)
        described = describe_keys(kms, [key_id for key_id, _ in entries], self.max_workers)
        for (_, key_arn), metadata in zip(entries, described, strict=True):
            examined += 1
            if not metadata or metadata.get("KeyManager") != "CUSTOMER":
                continue
            if metadata.get("KeyState") != "PendingDeletion" or metadata.get("DeletionDate") is None:
                continue
            snapshot = KeySnapshot.from_metadata(key_arn, region, metadata)
            days_left = snapshot.days_until_deletion(now)
            if days_left is None or days_left not in self.days:
                continue
            # Only keys that are due are enriched; no other call is made on the account's keys
            # (a rejected call on a key pending deletion would itself look like a tripwire).
            self.inventory.enrich(snapshot, rotation=False)  # REMINDER_ACTIONS: no rotation status
            due += 1
            marker = f"reminder#{snapshot.arn}#{now.date().isoformat()}"
            if not self.journal.claim(marker, REMINDER_MARKER_SECONDS, now):
                duplicates += 1
                logger.info("reminder already sent today", key_arn=snapshot.arn)
                continue
            try:
                message_id = self.publisher.publish(self.document(snapshot, now))
            except Exception:
                self.journal.release(marker)  # not sent: tomorrow's run, or a retry, may send it
                raise
            sent += 1
            logger.info("reminder sent", key_arn=snapshot.arn, days=days_left, message_id=message_id)
        metrics.add_metric(name="RemindersSent", unit="Count", value=sent)
        return {"examined": examined, "due": due, "sent": sent, "already_sent": duplicates}

    def document(self, snapshot: KeySnapshot, now: datetime) -> AlertDocument:
        """The reminder for one key pending deletion."""
        value = (snapshot.tags or {}).get(self.settings.allow_deletion_tag_key)
        approval = parse_approval(value, now.date(), max_days=self.settings.approval_max_days)
        if approval.approved:
            # Reminders make no CloudTrail lookups: the approval neither exempts nor lowers here.
            approval = approval.checked(
                Verification.NOT_CHECKED, "reminders do not look approvals up in CloudTrail"
            )
        remembered = self.journal.last_dependencies(str(snapshot.arn))
        return reminder_alert(snapshot, remembered, approval, self.settings, now)
