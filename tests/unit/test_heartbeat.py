"""A heartbeat canary runs through the handler, pages nobody, and emits the metric its alarm watches."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handlers.key_events import lambda_handler
from shared.config import HEARTBEAT_DETAIL_TYPE, HEARTBEAT_SOURCE, Settings
from shared.document import AlertDocument
from shared.heartbeat import canary
from shared.responder import Responder
from tests.support.lambda_context import FakeLambdaContext

TOPIC = "arn:aws:sns:us-east-1:123456789012:kms-keyguard-alerts"


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[AlertDocument] = []

    def publish(self, doc: AlertDocument) -> str:
        self.sent.append(doc)
        return "message-1"


def canary_event(rule: str, **detail: Any) -> dict[str, Any]:
    """A canary as EventBridge delivers it after the schedule's PutEvents."""
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": HEARTBEAT_DETAIL_TYPE,
        "source": HEARTBEAT_SOURCE,
        "account": "123456789012",
        "time": "2026-12-01T09:15:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {"stack": "kms-keyguard", "rule": rule, **detail},
    }


def emf_blobs(output: str) -> list[dict[str, Any]]:
    blobs = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blobs.append(json.loads(line))
    return blobs


@pytest.mark.parametrize("rule", ["KeyEventsRule", "TripwireRule", "TamperTrailRule"])
def test_a_canary_emits_the_rules_heartbeat_and_publishes_nothing(
    rule: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a responder whose every publish is recorded
    publisher = RecordingPublisher()
    responder = Responder(Settings(alert_topic_arn=TOPIC), publisher=publisher)

    # When the canary that went through the rule reaches the handler
    receipt = lambda_handler(canary_event(rule), FakeLambdaContext(), responder=responder)

    # Then nobody is paged
    assert publisher.sent == []
    assert receipt["kind"] == "heartbeat"
    assert receipt["message_id"] is None

    # And the Heartbeat metric carries exactly the alarm's dimensions: service and the rule
    (blob,) = [b for b in emf_blobs(capsys.readouterr().out) if "Heartbeat" in b]
    (directive,) = blob["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "KmsKeyguard"
    assert [m["Name"] for m in directive["Metrics"]] == ["Heartbeat"]
    assert [sorted(d) for d in directive["Dimensions"]] == [["Rule", "service"]]
    assert (blob["service"], blob["Rule"], blob["Heartbeat"]) == ("kms-keyguard", rule, [1.0])


def test_a_canary_is_never_an_invalid_event_alert(capsys: pytest.CaptureFixture[str]) -> None:
    # Without the canary branch the event is not a KMS record, and would page as "invalid event".
    publisher = RecordingPublisher()
    responder = Responder(Settings(alert_topic_arn=TOPIC), publisher=publisher)

    responder.handle(canary_event("LifecycleRule"))

    assert publisher.sent == []
    assert not any("UnprocessableEvent" in b for b in emf_blobs(capsys.readouterr().out))


@pytest.mark.parametrize(
    "event",
    [
        {**canary_event("KeyEventsRule"), "source": "aws.kms"},  # only the custom source is a canary
        {**canary_event("KeyEventsRule"), "detail-type": "AWS API Call via CloudTrail"},
        canary_event("Key Events Rule; DROP"),  # not a rule's logical id: no new metric stream
        {**canary_event("KeyEventsRule"), "detail": "KeyEventsRule"},
    ],
)
def test_only_a_well_formed_canary_counts_as_a_heartbeat(event: dict[str, Any]) -> None:
    assert canary(event) is None


def test_a_malformed_canary_is_reported_not_counted(capsys: pytest.CaptureFixture[str]) -> None:
    publisher = RecordingPublisher()
    responder = Responder(Settings(alert_topic_arn=TOPIC), publisher=publisher)

    responder.handle(canary_event("not a rule!"))

    (doc,) = publisher.sent
    assert doc.kind == "invalid-event"
    assert not any("Heartbeat" in b for b in emf_blobs(capsys.readouterr().out))
