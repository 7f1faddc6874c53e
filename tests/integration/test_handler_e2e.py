"""The whole path under moto: EventBridge event -> lambda_handler -> SNS -> subscribed SQS queue.

One account per module (moto's backends are slow to start); each test puts the key back as it found
it. Dependency discovery runs for real where the alert's dependencies are asserted, limited to the
finders of the resource types the account holds (all of which moto emulates), and is a stub
elsewhere: every finder is tested on its own under tests/unit/dependencies.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from shared.config import Settings
from shared.dependencies import REGISTRY, discover
from shared.errors import AlertDeliveryError
from shared.responder import Responder
from tests.conftest import FAKE_ENV
from tests.unit.remediation.support import FakeDiscoverer

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "alert.schema.json").read_text())
SEEDED_TYPES = {"AWS::S3::Bucket", "AWS::EC2::Volume", "AWS::SecretsManager::Secret"}

pytestmark = pytest.mark.integration

# Real discovery over the finders of what the account holds, and the key's grants.
search_seeded = partial(
    discover,
    finders=[finder for finder in REGISTRY if SEEDED_TYPES & set(finder.resource_types)],
    evidence={"kms-grants"},
)


@pytest.fixture(scope="module")
def account() -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_ENV.items():
            patch.setenv(name, value)
        with mock_aws():
            yield build_world()


@pytest.fixture
def world(account: World, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    monkeypatch.setenv("ALERT_TOPIC_ARN", account.topic_arn)
    yield account
    account.read_alerts()  # nothing left for the next test
    kms = boto3.client("kms", region_name=account.region)
    if kms.describe_key(KeyId=account.key_id)["KeyMetadata"]["KeyState"] == "PendingDeletion":
        kms.cancel_key_deletion(KeyId=account.key_id)  # leaves the key Disabled, as AWS does
    kms.enable_key(KeyId=account.key_id)


def responder(world: World, discoverer: Any = None, **settings: Any) -> Responder:
    settings = {"alert_topic_arn": world.topic_arn, **settings}
    return Responder(Settings(**settings), discoverer=discoverer or FakeDiscoverer())


def _deliver(
    world: World, name: str, context: Any, discoverer: Any = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Send a sample (after making moto match it) and read the one alert back from the queue."""
    event = world.event(name)
    perform(world, event)
    receipt = lambda_handler(event, context, responder=responder(world, discoverer))
    envelopes = world.read_alerts()
    assert len(envelopes) == 1, "exactly one alert per event"
    document = json.loads(envelopes[0]["Message"])
    jsonschema.validate(document, SCHEMA)
    return receipt, envelopes[0], document


def test_scheduled_deletion_of_a_key_with_dependencies_is_a_critical_enriched_alert(
    world: World, lambda_context: Any
) -> None:
    receipt, envelope, doc = _deliver(world, "schedule_key_deletion", lambda_context, search_seeded)

    assert receipt["alert_id"] == doc["alert_id"] == "5b0d2b71-8a43-4c41-9d53-0f7c0d1a9e11"
    assert doc["severity"] == "critical"
    assert doc["key"]["arn"] == world.key_arn
    assert doc["key"]["state"] == "PendingDeletion"
    assert doc["key"]["days_until_deletion"] == 7
    assert doc["key"]["deletion_date"] is not None
    assert doc["key"]["aliases"] == ["alias/payments", "alias/prod-db"]
    assert doc["key"]["tags"]["team"] == "payments"
    assert doc["event"]["pending_window_days"] == 7
    assert doc["event"]["pending_window_is_default"] is False
    assert doc["actor"]["principal"] == "role/ops-admin"
    assert doc["actor"]["session_name"] == "alice"
    deps = doc["dependencies"]
    assert deps["complete"] is True
    names = {item["name"] for item in deps["items"]}
    assert {"payments-ledger-prod", "prod/payments/db-password", "prod/payments/api-token"} <= names
    assert "analytics-scratch" not in names
    assert "analytics/warehouse" not in names
    assert deps["counts"]["AWS::EC2::Volume"] == 2
    assert {grant["name"] for grant in deps["grants"]} == {"ebs-attachment", "payments-api"}
    assert any(
        f"cancel-key-deletion --key-id {world.key_id} --region us-east-1" in s for s in doc["next_steps"]
    )
    assert envelope["Subject"].isascii()
    assert len(envelope["Subject"]) < 100
    attributes = {k: v["Value"] for k, v in envelope["MessageAttributes"].items()}
    assert attributes == {
        "severity": "critical",
        "event_name": "ScheduleKeyDeletion",
        "account": "123456789012",
        "region": "us-east-1",
    }


def test_legacy_disable_key_record_with_null_response_is_enriched(world: World, lambda_context: Any) -> None:
    _, _, doc = _deliver(world, "disable_key_legacy", lambda_context, search_seeded)
    assert doc["key"]["state"] == "Disabled"
    assert doc["event"]["key_resolved_from"] == "resources"
    assert doc["severity"] == "high"
    assert doc["dependencies"]["total"] >= 5


def test_default_window_is_said_to_be_the_default(world: World, lambda_context: Any) -> None:
    _, _, doc = _deliver(world, "schedule_key_deletion_default_window", lambda_context)
    assert doc["event"]["pending_window_days"] == 30
    assert doc["event"]["pending_window_is_default"] is True
    assert doc["key"]["days_until_deletion"] == 30


def test_failed_attempt_from_another_account_is_a_medium_attempt(world: World, lambda_context: Any) -> None:
    _, _, doc = _deliver(world, "schedule_key_deletion_failed", lambda_context)
    assert doc["kind"] == "attempt"
    assert doc["severity"] == "medium"
    assert doc["event"]["error_code"] == "AccessDeniedException"
    assert doc["actor"]["cross_account"] is True
    assert doc["key"]["state"] == "Enabled"  # nothing changed


def test_unknown_key_still_alerts_from_the_event_alone(world: World, lambda_context: Any) -> None:
    _, _, doc = _deliver(world, "disable_key_not_found", lambda_context)
    assert doc["key"]["readable"] is False
    assert doc["dependencies"]["complete"] is False
    assert any("built from the event" in note for note in doc["notes"])


def test_alias_arn_reference_resolves_to_the_key(world: World, lambda_context: Any) -> None:
    _, _, doc = _deliver(world, "disable_key_federated_alias_arn", lambda_context)
    assert doc["key"]["arn"] == world.key_arn
    assert doc["actor"]["type"] == "FederatedUser"


def test_root_actor_is_flagged_and_raises_severity(world: World, lambda_context: Any) -> None:
    # Given a key with dependencies (a disable is then high), disabled by the root user
    _, _, doc = _deliver(world, "disable_key_root", lambda_context, FakeDiscoverer(total=2))

    # Then the actor is flagged and the severity one step higher
    assert doc["actor"]["is_root"] is True
    assert doc["severity"] == "critical"


def test_malformed_event_is_reported_not_crashed_on(world: World, lambda_context: Any) -> None:
    # The handler's own responder, built from the environment as in Lambda
    receipt = lambda_handler(
        {
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.kms",
            "id": "abc",
            "detail": {"eventSource": "kms.amazonaws.com"},
        },
        lambda_context,
    )
    envelopes = world.read_alerts()
    assert receipt["kind"] == "invalid-event"
    assert len(envelopes) == 1
    doc = json.loads(envelopes[0]["Message"])
    jsonschema.validate(doc, SCHEMA)
    assert "eventName" in doc["notes"][0]


def test_failed_delivery_raises_so_lambda_retries(
    world: World, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deleted = world.topic_arn.replace("kms-keyguard-alerts", "deleted-topic")
    with pytest.raises(AlertDeliveryError):
        lambda_handler(
            world.event("disable_key"), lambda_context, responder=responder(world, alert_topic_arn=deleted)
        )


def test_failed_enrichment_degrades_the_alert_but_never_prevents_it(world: World) -> None:
    """DescribeKey denied: the alert still goes out, built from the event, and says why."""
    subject = responder(world)
    kms = subject.clients.client("kms", "us-east-1")
    with Stubber(kms) as stub:
        stub.add_client_error("describe_key", "AccessDeniedException")
        receipt = subject.handle(world.event("schedule_key_deletion"), remaining_seconds=30)
    doc = json.loads(world.read_alerts()[0]["Message"])
    assert receipt.severity == doc["severity"]
    assert "key details unavailable: AccessDeniedException" in doc["notes"]
    assert doc["key"]["readable"] is False
    assert doc["event"]["event_deletion_date"] == "Dec 5, 2026, 9:14:03 AM"


def test_no_time_left_skips_discovery_and_says_so(world: World) -> None:
    event = world.event("disable_key")
    perform(world, event)
    responder(world).handle(event, remaining_seconds=2)  # less than the publish reserve
    doc = json.loads(world.read_alerts()[0]["Message"])
    assert doc["dependencies"]["complete"] is False
    assert "no time left" in doc["dependencies"]["unchecked"][0]["reason"]
