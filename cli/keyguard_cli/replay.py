"""``keyguard replay FILE``: put a recorded KMS call through the real responder, without side effects.

FILE is one CloudTrail record, a CloudTrail log file (``{"Records": [...]}``: every KMS record in
it) or an EventBridge event, including KMS's own ``KMS CMK Deletion`` event. Records are wrapped
the way EventBridge delivers them. Nothing is published and nothing is remediated unless
``--publish`` / ``--enforce`` ask for it. An event the stack's rules never route makes no alert.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keyguard_cli.errors import CliError, ExitCode
from shared.config import RemediationMode, Settings
from shared.errors import ConfigurationError
from shared.events import TRIPWIRE_ERROR, Route, kms_event
from shared.models import CLOUDTRAIL_DETAIL_TYPE, KEY_DELETION_DETAIL_TYPE
from shared.parse import UnprocessableEvent, parse_key_deletion, parse_record

KMS_SOURCE = "kms.amazonaws.com"
UNUSED_TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:keyguard-cli-not-published"


def read_json(path: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(ExitCode.BAD_INPUT_FILE, f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(ExitCode.BAD_INPUT_FILE, f"{path} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            ExitCode.BAD_INPUT_FILE,
            f"{path} is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
        ) from None


def envelope(record: Mapping[str, Any]) -> dict[str, Any]:
    """The EventBridge event EventBridge builds around a CloudTrail record.

    EventBridge gives each event a random id; a replay derives it from the record's eventID so that
    replaying the same file twice yields the same alert id.
    """
    identity = record.get("userIdentity") if isinstance(record.get("userIdentity"), Mapping) else {}
    event_id = record.get("eventID")
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"cloudtrail:{event_id}"))
        if event_id
        else str(uuid.uuid4()),
        "detail-type": CLOUDTRAIL_DETAIL_TYPE,
        "source": "aws.kms",
        "account": record.get("recipientAccountId") or identity.get("accountId"),  # type: ignore[union-attr]
        "time": record.get("eventTime"),
        "region": record.get("awsRegion"),
        "resources": [],
        "detail": dict(record),
    }


def to_events(document: Any, path: str = "input") -> list[dict[str, Any]]:
    """Every KMS event in the document, as EventBridge events; ``CliError`` when there is none."""
    if not isinstance(document, Mapping):
        raise CliError(
            ExitCode.NOT_A_KMS_EVENT, f"{path}: expected a JSON object, found {type(document).__name__}"
        )
    if isinstance(document.get("Records"), list):
        records = [r for r in document["Records"] if isinstance(r, Mapping)]
        kms = [r for r in records if r.get("eventSource") == KMS_SOURCE]
        if not kms:
            raise CliError(
                ExitCode.NOT_A_KMS_EVENT, f"{path}: no KMS records among {len(records)} CloudTrail records"
            )
        events = [envelope(r) for r in kms]
    elif "detail-type" in document or "detail" in document:
        if document.get("source") != "aws.kms":
            raise CliError(
                ExitCode.NOT_A_KMS_EVENT, f"{path}: not a KMS event (source {document.get('source')!r})"
            )
        events = [dict(document)]
    elif "eventName" in document:
        if document.get("eventSource") != KMS_SOURCE:
            raise CliError(
                ExitCode.NOT_A_KMS_EVENT,
                f"{path}: not a KMS event (eventSource {document.get('eventSource')!r})",
            )
        events = [envelope(document)]
    else:
        raise CliError(
            ExitCode.NOT_A_KMS_EVENT,
            f"{path}: not a CloudTrail record, CloudTrail log file or EventBridge event",
        )
    for event in events:
        try:
            if event.get("detail-type") == KEY_DELETION_DETAIL_TYPE:
                # KMS's own event at the end of a waiting period (the stack's native rule routes it).
                parse_key_deletion(event, str(event.get("region") or "us-east-1"))
            else:
                parse_record(event)
        except UnprocessableEvent as exc:
            raise CliError(ExitCode.NOT_A_KMS_EVENT, f"{path}: {exc}") from None
    return events


def replay_settings(*, enforce: bool, publish: bool, topic_arn: str | None) -> Settings:
    """The responder's settings from the environment, with the replay's mode and topic on top."""
    topic = topic_arn or os.environ.get("ALERT_TOPIC_ARN")
    if publish and not topic:
        raise CliError(ExitCode.USAGE, "--publish needs --topic-arn or ALERT_TOPIC_ARN")
    environ = dict(os.environ)
    environ["ALERT_TOPIC_ARN"] = topic or UNUSED_TOPIC_ARN
    environ["REMEDIATION_MODE"] = (RemediationMode.ENFORCE if enforce else RemediationMode.DRY_RUN).value
    # A replay is not a delivery: it must neither be swallowed as a duplicate by, nor write its
    # journal into, the deployed function's idempotency table.
    environ.pop("IDEMPOTENCY_TABLE_NAME", None)
    try:
        return Settings.from_env(environ)
    except ConfigurationError as exc:
        raise CliError(ExitCode.USAGE, str(exc)) from None


def not_routed(event: Mapping[str, Any]) -> str | None:
    """Why the stack's EventBridge rules would never deliver this event (``None``: they would).

    The rules follow the event table (``shared.events``; ``tests/contract`` holds ``template.yaml`` to
    it): calls named by the alerting and lifecycle rules, KMS's own deletion event, and any KMS call
    that failed with the key-state error (the tripwire rule).
    """
    if event.get("detail-type") == KEY_DELETION_DETAIL_TYPE:
        return None
    detail = event.get("detail") if isinstance(event.get("detail"), Mapping) else {}
    name = str(detail.get("eventName") or "")  # type: ignore[union-attr]
    row = kms_event(name)
    if row.route in (Route.ALERTING, Route.LIFECYCLE) or detail.get("errorCode") == TRIPWIRE_ERROR:  # type: ignore[union-attr]
        return None
    return f"{name or 'this event'} is not routed to kms-keyguard by the stack's EventBridge rules"
