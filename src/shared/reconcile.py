"""The reconciliation pass behind ``handlers/reconcile.py``: catch the key events never delivered.

EventBridge delivers CloudTrail events best effort. Every run (``ReconcileMinutes``) lists the
Region's keys, describes them concurrently (a bounded pool), and for each customer managed key in an
unusable state (``RECONCILED_STATES``) whose last alert, per the journal, did not report that state,
publishes one "missed event" alert and records it in the journal: one per key and state, never
repeated. The responder records every alert it publishes about a key the same way
(``Journal.mark_alerted``), so a delivered event is never reported as missed.

Calls stay inside ``ReconcileRole``: ListKeys, DescribeKey, ListAliases and ListResourceTags (no
rotation status, grants or policy), GetItem and PutItem on the table, Publish on the alert topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.assemble import missed_event_alert
from shared.journal import JournalUnavailable
from shared.key_inventory import KeySnapshot, describe_keys
from shared.observability import logger, metrics
from shared.sweep import KeySweep, list_key_entries

RECONCILE_ACTIONS: tuple[str, ...] = (
    "kms:ListKeys",
    "kms:DescribeKey",
    "kms:ListAliases",
    "kms:ListResourceTags",
)
# The states in which a key cannot be used ("Key states of AWS KMS keys":
# https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html).
RECONCILED_STATES = frozenset(
    {"PendingDeletion", "PendingReplicaDeletion", "Disabled", "PendingImport", "Unavailable"}
)
MISSED_MARKER_SECONDS = 3600  # two overlapping runs never both publish for one key


class Reconciler(KeySweep):
    """Finds unusable keys with no alert on record and publishes one "missed event" alert each."""

    def run(self, region: str | None = None, keys: Sequence[tuple[str, str]] | None = None) -> dict[str, Any]:
        """One pass over the Region's keys, or only ``keys`` (key id, key ARN) when given; returns
        counts. A failed publish raises (the scheduled rule retries the run)."""
        region = region or self.clients.default_region or "us-east-1"
        now = self._now()
        kms = self.clients.client("kms", region)
        entries = list(keys) if keys is not None else list_key_entries(kms)
        unusable = alerted = sent = unknown = undescribed = 0
        described = describe_keys(kms, [key_id for key_id, _ in entries], self.max_workers)
        for (_, key_arn), metadata in zip(entries, described, strict=True):
            if metadata is None:
                undescribed += 1
                continue
            state = str(metadata.get("KeyState"))
            if metadata.get("KeyManager") != "CUSTOMER" or state not in RECONCILED_STATES:
                continue
            unusable += 1
            try:
                if self.journal.alerted_state(key_arn) == state:
                    alerted += 1
                    continue
            except JournalUnavailable as exc:
                # Unknown is not "never alerted": without the journal every run would repeat itself.
                unknown += 1
                logger.warning("journal unavailable; key not reconciled", key_arn=key_arn, error=str(exc))
                continue
            marker = f"missed#{key_arn}#{state}"
            if not self.journal.claim(marker, MISSED_MARKER_SECONDS, now):
                alerted += 1
                continue
            snapshot = KeySnapshot.from_metadata(key_arn, region, metadata)
            self.inventory.enrich(snapshot, rotation=False)  # RECONCILE_ACTIONS: no rotation status
            try:
                message_id = self.publisher.publish(missed_event_alert(snapshot, self.settings, now))
            except Exception:
                self.journal.release(marker)  # not sent: the retry, or the next run, sends it
                raise
            self.journal.mark_alerted(key_arn, state, now)
            sent += 1
            logger.warning("missed event alert sent", key_arn=key_arn, state=state, message_id=message_id)
        metrics.add_metric(name="MissedEventAlerts", unit="Count", value=sent)
        if unknown:
            metrics.add_metric(name="ReconcileJournalUnavailable", unit="Count", value=unknown)
        return {
            "examined": len(entries),
            "unusable": unusable,
            "already_alerted": alerted,
            "sent": sent,
            "journal_unavailable": unknown,
            "not_described": undescribed,
        }
