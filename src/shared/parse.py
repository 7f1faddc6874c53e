"""Parse: the EventBridge event into a typed record, or ``UnprocessableEvent`` saying why not.

Two shapes arrive: a CloudTrail record (``AWS API Call via CloudTrail``, or a bare record as
replays send) and KMS's own ``KMS CMK Deletion`` event. Nothing here reads AWS.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from shared.keyref import parse_key_reference
from shared.models import (
    CLOUDTRAIL_DETAIL_TYPE,
    CloudTrailRecord,
    EventBridgeEvent,
    KeyDeletionDetail,
)

KMS_EVENT_SOURCE = "kms.amazonaws.com"
# KMS records the calls it makes itself (DeleteExpiredKeyMaterial) as service events.
CLOUDTRAIL_SERVICE_EVENT = "AWS Service Event via CloudTrail"


class UnprocessableEvent(ValueError):
    """The event is not one the responder understands; it is reported, not crashed on."""


def parse_record(event: Mapping[str, Any]) -> CloudTrailRecord:
    """The KMS CloudTrail record inside an EventBridge envelope (or a bare record, as replays send)."""
    record = parse_cloudtrail(event)
    if record.event_source not in (None, KMS_EVENT_SOURCE):
        raise UnprocessableEvent(f"not a KMS event (eventSource {record.event_source!r})")
    return record


def parse_cloudtrail(event: Mapping[str, Any]) -> CloudTrailRecord:
    """The CloudTrail record of any service (the tamper rules route other services' calls)."""
    if not isinstance(event, Mapping):
        raise UnprocessableEvent(f"event is a {type(event).__name__}, not an object")
    try:
        if "detail" not in event and "eventName" in event:
            return CloudTrailRecord.model_validate(event)
        envelope = EventBridgeEvent.model_validate(event)
        if envelope.detail_type not in (CLOUDTRAIL_DETAIL_TYPE, CLOUDTRAIL_SERVICE_EVENT):
            raise UnprocessableEvent(f"unsupported detail-type {envelope.detail_type!r}")
        record = CloudTrailRecord.model_validate(envelope.detail)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"]) or "event" for err in exc.errors()[:5])
        raise UnprocessableEvent(f"malformed event: invalid or missing {fields}") from None
    if record.aws_region is None and isinstance(event.get("region"), str):
        record = record.model_copy(update={"aws_region": event["region"]})
    return record


@dataclass(frozen=True)
class KeyDeletion:
    """A parsed ``KMS CMK Deletion`` event: the envelope and the deleted key's ARN."""

    envelope: EventBridgeEvent
    key_arn: str
    region: str

    @property
    def key_id(self) -> str:
        return self.key_arn.rsplit("/", 1)[-1]


def parse_key_deletion(event: Mapping[str, Any], default_region: str) -> KeyDeletion:
    """The deleted key, from ``resources`` or from ``detail.key-id`` completed with the envelope."""
    try:
        envelope = EventBridgeEvent.model_validate(event)
        detail = KeyDeletionDetail.model_validate(envelope.detail)
    except ValidationError:
        kind = event.get("detail-type") if isinstance(event.get("detail-type"), str) else "KMS"
        raise UnprocessableEvent(f"malformed {kind} event: invalid or missing detail.key-id") from None
    region = envelope.region or default_region
    ref = parse_key_reference(detail.key_id)
    key_arn = next(
        (r for r in envelope.resources or [] if isinstance(r, str) and ":key/" in r),
        ref.arn(envelope.account, region) if ref else None,
    )
    if key_arn is None:
        raise UnprocessableEvent(f"{envelope.detail_type} event names no key that could be resolved")
    return KeyDeletion(envelope, key_arn, region)


def parse_native_key_event(event: Mapping[str, Any], default_region: str) -> CloudTrailRecord:
    """KMS's own event about one key (``KMS Imported Key Material Expiration``: ``detail.key-id``
    and the key ARN in ``resources``, as the KMS developer guide's "Monitor KMS keys with Amazon
    EventBridge" shows it) as the record of a call KMS made, so the key is re-read and alerted on
    like any other: the alert names the key."""
    native = parse_key_deletion(event, default_region)
    envelope = native.envelope
    return CloudTrailRecord.model_validate(
        {
            "userIdentity": {
                "type": "AWSService",
                "invokedBy": KMS_EVENT_SOURCE,
                "accountId": envelope.account,
            },
            "eventTime": envelope.time,
            "eventSource": KMS_EVENT_SOURCE,
            "eventName": envelope.detail_type,
            "awsRegion": native.region,
            "eventID": envelope.id,
            "eventType": "AwsServiceEvent",
            "recipientAccountId": envelope.account,
            "resources": [{"ARN": native.key_arn, "type": "AWS::KMS::Key", "accountId": envelope.account}],
        }
    )
