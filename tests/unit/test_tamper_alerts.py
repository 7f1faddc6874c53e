"""Calls routed by the tamper rules become one critical tamper alert: who did what to which resource.

Records are built as AWS documents them (``tests/contract/records.py``) and go through the whole
handler; a recording publisher stands in for SNS.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from handlers.key_events import lambda_handler
from shared.config import Settings
from shared.document import AlertDocument
from shared.responder import Responder
from tests.contract.records import ACCOUNT, ATTACKER, REGION, api_call
from tests.support.lambda_context import FakeLambdaContext

TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:kms-keyguard-alerts"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "alert.schema.json").read_text())
RULE = "kms-keyguard-KeyEventsRule-3C5D7E9F1A2B4"


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[AlertDocument] = []

    def publish(self, doc: AlertDocument) -> str:
        self.sent.append(doc)
        return f"message-{len(self.sent)}"


def deliver(event: dict[str, Any], **settings: Any) -> AlertDocument:
    publisher = RecordingPublisher()
    responder = Responder(Settings(alert_topic_arn=TOPIC, **settings), publisher=publisher)
    lambda_handler(event, FakeLambdaContext(), responder=responder)
    (doc,) = publisher.sent
    jsonschema.validate(doc.model_dump(mode="json"), SCHEMA)
    return doc


def test_stop_logging_is_a_critical_tamper_alert_naming_who_what_and_which_trail() -> None:
    trail = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/management-events"

    doc = deliver(api_call("cloudtrail", "StopLogging", {"name": trail}))

    assert (doc.kind, doc.severity.value) == ("tamper", "critical")
    assert doc.event.name == "StopLogging"
    assert doc.actor.arn == ATTACKER
    assert doc.target is not None
    assert (doc.target.service, doc.target.resource_type, doc.target.name) == (
        "cloudtrail.amazonaws.com",
        "CloudTrail trail",
        trail,
    )
    assert doc.summary == (
        f"CRITICAL 111122223333 us-east-1: kms-keyguard tampered with: StopLogging on CloudTrail trail "
        f"{trail} by user/Mallory"
    )
    assert doc.remediation.outcome.startswith("not attempted")


def test_delete_rule_on_the_stacks_rule_names_the_rule() -> None:
    doc = deliver(api_call("events", "DeleteRule", {"name": RULE, "force": False}))

    assert (doc.kind, doc.severity.value) == ("tamper", "critical")
    assert doc.target is not None
    assert (doc.target.resource_type, doc.target.name) == ("EventBridge rule", RULE)


def test_a_lambda_call_recorded_with_its_api_version_suffix_is_tampering() -> None:
    function = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:kms-keyguard-KeyEventsFunction-1A2B3C"

    doc = deliver(
        api_call(
            "lambda",
            "PutFunctionConcurrency20171031",
            {"functionName": function, "reservedConcurrentExecutions": 0},
        )
    )

    assert doc.kind == "tamper"
    assert doc.target is not None
    assert (doc.target.resource_type, doc.target.name) == ("Lambda function", function)


def test_a_refused_tamper_call_is_high_and_says_nothing_changed() -> None:
    event = api_call("sns", "DeleteTopic", {"topicArn": TOPIC}, errorCode="AuthorizationError")

    doc = deliver(event)

    assert (doc.kind, doc.severity.value) == ("tamper", "high")
    assert any("was refused (AuthorizationError)" in note for note in doc.notes)


def test_tamper_alerts_are_reported_whatever_the_remediation_mode() -> None:
    doc = deliver(
        api_call("dynamodb", "DeleteTable", {"tableName": "kms-keyguard-idempotency"}),
        remediation_mode="enforce",
        remediation_scope="all",
    )
    assert (doc.kind, doc.severity.value) == ("tamper", "critical")
    assert doc.remediation.mode == "enforce"
    assert doc.remediation.action == "none"


@pytest.mark.parametrize(
    ("service", "name"),
    [("s3", "PutObject"), ("lambda", "Invoke"), ("cloudtrail", "LookupEvents")],
)
def test_another_services_call_the_rules_do_not_route_is_still_an_invalid_event(
    service: str, name: str
) -> None:
    doc = deliver(api_call(service, name, {}))
    assert doc.kind == "invalid-event"
    assert doc.notes[0] == f"not a KMS event (eventSource '{service}.amazonaws.com')"
