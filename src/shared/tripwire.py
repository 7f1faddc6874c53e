"""The tripwire's coalescing gate: at most one tripwire alert per key per hour, decided before any
expensive work whenever the event names the key outright.

A workload that keeps calling a key pending deletion (or disabled) fails on every call, so one
broken service can send thousands of tripwire events an hour. The gate's marker
(``tripwire#<key ARN>``, ``journal.claim``) is taken from the event's key ARN (``resources[]`` or
``requestParameters.keyId`` when it is a full key ARN) before the key is re-read: a marker already
held ends the event there, with no ``DescribeKey``, no tag or policy read and no discovery.

An alias or a bare key id is resolved first (the key is re-read): an alias may point at another key
by now, and a bare id completed with the event's account and Region is only a guess at the key's
ARN, so neither may take or test the marker. The same marker is then claimed from the re-read key's
ARN, as before. A marker taken early for an event that proves to be no tripwire once the key is
re-read (the key was re-enabled meanwhile) is released again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared import assemble
from shared.approval import Approval, ApprovalStatus
from shared.config import Settings
from shared.document import AlertDocument
from shared.events import TRIPWIRE_ERRORS, Kind, Route, kms_event
from shared.journal import Journal
from shared.key_inventory import KeySnapshot
from shared.keyref import RefKind
from shared.models import CloudTrailRecord
from shared.observability import logger, metrics
from shared.policy import Outcome, Remediation
from shared.triage import COALESCED, TRIPWIRE_WINDOW_SECONDS, Triage


def marker_for(key_arn: str) -> str:
    return f"tripwire#{key_arn}"


def may_be_tripwire(record: CloudTrailRecord) -> bool:
    """Whether the record can be a tripwire at all, before the key's state is known: a call the
    tripwire rule routes (not one named by a rule), refused with one of ``TRIPWIRE_ERRORS``, that
    proves a workload (``KmsEvent.tripwire``)."""
    event = kms_event(record.event_name)
    return record.error_code in TRIPWIRE_ERRORS and event.route is Route.TRIPWIRE and event.tripwire


def named_key_arn(record: CloudTrailRecord) -> str | None:
    """The key ARN the event names outright, or ``None`` when it must be resolved first."""
    key_arn, _, reference = record.resolve_key_arn()
    if reference is None or reference.kind is not RefKind.KEY_ARN:
        return None
    return key_arn


@dataclass(frozen=True)
class EarlyClaim:
    """The gate's answer before the key is read: the marker taken, or the event coalesced."""

    key_arn: str
    marker: str | None  # taken by this event; ``None`` when another event holds it

    @property
    def coalesced(self) -> bool:
        return self.marker is None


class TripwireGate:
    """Claims, settles and releases the per-key tripwire marker in the journal."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    def claim_early(self, record: CloudTrailRecord, now: datetime) -> EarlyClaim | None:
        """Before the key is re-read: ``None`` when the gate cannot decide yet (no tripwire, or the
        key is not named by its ARN)."""
        key_arn = named_key_arn(record) if may_be_tripwire(record) else None
        if key_arn is None:
            return None
        marker = marker_for(key_arn)
        if self.journal.claim(marker, TRIPWIRE_WINDOW_SECONDS, now):
            return EarlyClaim(key_arn, marker)
        self._coalesced(record, key_arn, early=True)
        return EarlyClaim(key_arn, None)

    def settle(
        self,
        decision: Triage,
        record: CloudTrailRecord,
        key_arn: str | None,
        now: datetime,
        early: EarlyClaim | None,
        *,
        claim: bool,
    ) -> tuple[Triage, str | None]:
        """After triage: the decision (coalesced or not) and the marker this event holds."""
        held = early.marker if early is not None else None
        wanted = marker_for(key_arn) if decision.coalesce and claim and key_arn else None
        if held is not None and held != wanted:
            # Taken early, but no tripwire once the key was re-read (or another ARN): free it.
            self.journal.release(held)
            held = None
        if wanted is None or held is not None:
            return decision, held
        if self.journal.claim(wanted, TRIPWIRE_WINDOW_SECONDS, now):
            return decision, wanted
        self._coalesced(record, key_arn, early=False)
        return decision.coalesced(), None

    @staticmethod
    def _coalesced(record: CloudTrailRecord, key_arn: str | None, *, early: bool) -> None:
        metrics.add_metric(name="TripwireCoalesced", unit="Count", value=1)
        logger.info(
            "tripwire coalesced",
            key_arn=key_arn,
            event_name=record.event_name,
            event_id=record.event_id,
            before_reading_the_key=early,
        )


def coalesced_alert(
    record: CloudTrailRecord, key_arn: str, settings: Settings, now: datetime
) -> AlertDocument:
    """The document of an event coalesced before the key was read: built from the event alone and
    never published (the receipt and the replay tools show it)."""
    decision = Triage(Kind.TRIPWIRE, coalesce=True).coalesced()
    region = record.aws_region or key_arn.split(":")[3]
    found = assemble.Findings(
        record=record,
        snapshot=KeySnapshot(reference=key_arn, region=region),
        key_arn=key_arn,
        key_origin=record.resolve_key_arn()[1],
        triage=decision,
        dependencies=assemble.not_searched(COALESCED),
        remediation=Remediation(
            settings.remediation_mode.value, Outcome.NOT_ATTEMPTED, detail="the alert is not published"
        ),
        approval=Approval(ApprovalStatus.NONE),
        notes=(
            "Coalesced with the tripwire alert already sent for this key within the hour; "
            "the key was not re-read.",
        ),
    )
    return assemble.event_alert(found, settings, now)
