"""Everything that makes a key unusable is seen: the tripwire on both refusal errors, the native
expiration event, expired material deleted, custom key store changes, a policy lock-out staged on a
key that is still Enabled, and keys whose reference could not be read.

Under moto (KMS, SNS, SQS), records shaped as the AWS documentation shows them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from tests.unit.remediation.support import documents, make_responder

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False, protect=False)


def _deliver(world: World, event: dict[str, Any], context: Any, **settings: Any) -> dict[str, Any]:
    lambda_handler(event, context, responder=make_responder(world, **settings))
    (doc,) = documents(world)
    return doc


def test_a_decrypt_refused_with_disabled_exception_on_a_disabled_key_is_a_tripwire(
    world: World, lambda_context: Any
) -> None:
    # Given a Disabled key, and a Decrypt by Secrets Manager refused with DisabledException
    event = world.event("tripwire_decrypt_disabled")
    perform(world, event)

    # When it arrives through the tripwire rule
    doc = _deliver(world, event, lambda_context)

    # Then it is a tripwire alert: something still uses the disabled key
    assert doc["kind"] == "tripwire"
    assert doc["key"]["state"] == "Disabled"
    assert doc["severity"] == "high"
    assert doc["event"]["error_code"] == "DisabledException"


def test_a_disabled_exception_on_a_key_enabled_again_is_not_a_tripwire(
    world: World, lambda_context: Any
) -> None:
    # Decided from the re-read state: the key was re-enabled before the event arrived.
    event = world.event("tripwire_decrypt_disabled")

    lambda_handler(event, lambda_context, responder=make_responder(world))

    assert documents(world) == []


def _native_expiration(world: World) -> dict[str, Any]:
    """KMS's own event, as the developer guide's "Monitor KMS keys with Amazon EventBridge" shows it."""
    return {
        "version": "0",
        "id": "9da9af57-9253-4406-87cb-7cc400e43465",
        "detail-type": "KMS Imported Key Material Expiration",
        "source": "aws.kms",
        "account": world.key_arn.split(":")[4],
        "time": "2026-11-30T03:11:54Z",
        "region": world.region,
        "resources": [world.key_arn],
        "detail": {"key-id": world.key_id},
    }


def test_the_native_expiration_event_names_the_key_and_is_critical(world: World, lambda_context: Any) -> None:
    doc = _deliver(world, _native_expiration(world), lambda_context)

    assert doc["kind"] == "alert"
    assert doc["event"]["name"] == "KMS Imported Key Material Expiration"
    assert (doc["key"]["arn"], doc["key"]["id"]) == (world.key_arn, world.key_id)
    assert doc["key"]["readable"] is True
    assert doc["severity"] == "critical"
    assert doc["title"] == "KMS imported key material of key alias/payments expired"


def test_the_native_expiration_event_names_the_key_from_its_id_alone(
    world: World, lambda_context: Any
) -> None:
    event = {**_native_expiration(world), "resources": []}

    doc = _deliver(world, event, lambda_context)

    assert doc["key"]["arn"] == world.key_arn


def test_expired_key_material_deleted_by_kms_is_alerted(world: World, lambda_context: Any) -> None:
    # The developer guide's DeleteExpiredKeyMaterial record: a service event, the key in resources.
    account = world.key_arn.split(":")[4]
    event = {
        "version": "0",
        "id": "0f0d6c2e-1b8e-4b1e-9d41-6a3c1f2e5d7a",
        "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.kms",
        "account": account,
        "time": "2026-11-30T19:55:11Z",
        "region": world.region,
        "resources": [],
        "detail": {
            "eventVersion": "1.11",
            "userIdentity": {"accountId": account, "invokedBy": "AWS Internal"},
            "eventTime": "2026-11-30T19:55:11Z",
            "eventSource": "kms.amazonaws.com",
            "eventName": "DeleteExpiredKeyMaterial",
            "awsRegion": world.region,
            "sourceIPAddress": "AWS Internal",
            "userAgent": "AWS Internal",
            "requestParameters": None,
            "responseElements": None,
            "eventID": "cfa932fd-0d3a-4a76-a8b8-616863a2b547",
            "readOnly": False,
            "resources": [{"accountId": account, "type": "AWS::KMS::Key", "ARN": world.key_arn}],
            "eventType": "AwsServiceEvent",
            "recipientAccountId": account,
            "serviceEventDetails": {"keyId": world.key_id, "keyMaterialId": "1234abcd" * 8},
            "eventCategory": "Management",
        },
    }

    doc = _deliver(world, event, lambda_context)

    assert doc["event"]["name"] == "DeleteExpiredKeyMaterial"
    assert doc["key"]["arn"] == world.key_arn
    assert doc["severity"] == "critical"


def test_a_disconnected_custom_key_store_is_alerted_naming_the_store(
    world: World, lambda_context: Any
) -> None:
    event = world.event("disable_key")
    detail = event["detail"]
    detail.update(
        eventName="DisconnectCustomKeyStore",
        requestParameters={"customKeyStoreId": "cks-1234567890abcdef0"},
        responseElements=None,
        resources=None,
    )

    doc = _deliver(world, event, lambda_context)

    assert doc["severity"] == "high"
    assert doc["target"] == {
        "service": "kms.amazonaws.com",
        "resource_type": "KMS custom key store",
        "name": "cks-1234567890abcdef0",
    }
    assert "DisconnectCustomKeyStore on KMS custom key store cks-1234567890abcdef0" in doc["summary"]
    assert not any("names no key" in note for note in doc["notes"])


@pytest.mark.parametrize(
    ("key_id", "expected_id"),
    [
        ("1234abcd-12ab-34cd-56ef-1234567890ab\u202e\n@channel", "1234abcd-12ab-34cd-56ef-1234567890ab"),
        ("arn:aws:kms:us-east-1:123456789012:key/not-a-key-id", "not-a-key-id"),
        ("key-that-is-not-an-id", "key-that-is-not-an-id"),
    ],
    ids=["hostile", "malformed-arn", "malformed-id"],
)
def test_an_alert_on_an_unreadable_key_reference_keeps_the_reference(
    world: World, lambda_context: Any, key_id: str, expected_id: str
) -> None:
    # Given a failed DisableKey whose keyId is not a key reference KMS would accept
    event = world.event("disable_key_not_found")
    event["detail"]["requestParameters"]["keyId"] = key_id
    event["detail"]["resources"] = None
    event["detail"]["responseElements"] = None

    doc = _deliver(world, event, lambda_context)

    # Then the key section still carries it: the id, and the reference verbatim but sanitised
    key = doc["key"]
    assert key["readable"] is False
    assert key["id"].startswith(expected_id)
    assert key["reference"] is not None
    assert "\u202e" not in key["reference"]
    assert "\n" not in key["reference"]
    assert "@channel" not in key["reference"]
    assert any("could not be read" in note for note in doc["notes"])
