"""Key inventory: the key is re-read, and every failed call degrades into a visible note."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from shared.aws import ClientFactory
from shared.key_inventory import KeyInventory, KeySnapshot

REGION = "us-east-1"


class _OneClient(ClientFactory):
    """A factory that hands out one prepared (stubbed) KMS client."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self._kms = client

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "kms"
        return self._kms


@pytest.fixture
def kms() -> Any:
    with mock_aws():
        yield boto3.client("kms", region_name=REGION)


def test_snapshot_reads_state_aliases_tags_and_rotation(kms: Any) -> None:
    key = kms.create_key(Description="payments", Tags=[{"TagKey": "team", "TagValue": "pay"}])["KeyMetadata"]
    kms.create_alias(AliasName="alias/pay", TargetKeyId=key["KeyId"])
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)

    snapshot = KeyInventory(ClientFactory()).read("alias/pay", REGION)

    assert snapshot.readable
    assert snapshot.arn == key["Arn"]
    assert snapshot.state == "PendingDeletion"
    assert snapshot.aliases == ["alias/pay"]
    assert snapshot.tags == {"team": "pay"}
    assert snapshot.rotation_enabled is True
    assert snapshot.description == "payments"
    assert snapshot.is_customer_managed
    assert snapshot.deletion_date is not None
    assert snapshot.days_until_deletion(datetime.now(UTC)) == 7
    assert snapshot.notes() == []


def test_unknown_key_gives_an_unreadable_snapshot_with_a_note(kms: Any) -> None:
    arn = f"arn:aws:kms:{REGION}:123456789012:key/0987dcba-09fe-87dc-65ba-ab0987654321"
    snapshot = KeyInventory(ClientFactory()).read(arn, REGION)
    assert not snapshot.readable
    assert snapshot.arn == arn  # still named, from the reference
    assert snapshot.notes() == ["key details unavailable: NotFoundException"]


DESCRIBE = {
    "KeyMetadata": {
        "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab",
        "Arn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "KeyState": "Disabled",
        "Enabled": False,
        "KeyManager": "CUSTOMER",
        "Origin": "AWS_KMS",
        "KeySpec": "SYMMETRIC_DEFAULT",
        "KeyUsage": "ENCRYPT_DECRYPT",
    }
}


def test_denied_aliases_tags_and_rotation_become_notes_not_failures() -> None:
    client = boto3.client("kms", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response("describe_key", DESCRIBE)
        stub.add_client_error("list_aliases", "AccessDeniedException")
        stub.add_client_error("list_resource_tags", "AccessDeniedException")
        stub.add_client_error("get_key_rotation_status", "ThrottlingException")
        snapshot = KeyInventory(_OneClient(client)).read("1234abcd-12ab-34cd-56ef-1234567890ab", REGION)
    assert snapshot.readable
    assert snapshot.state == "Disabled"
    assert snapshot.aliases is None
    assert snapshot.tags is None
    assert snapshot.notes() == [
        "aliases unavailable: AccessDeniedException",
        "tags unavailable: AccessDeniedException",
        "rotation status unavailable: ThrottlingException",
    ]


def test_multi_region_configuration_feeds_the_identity() -> None:
    client = boto3.client("kms", region_name=REGION)
    primary = "arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    replica = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab"
    metadata = {
        **DESCRIBE["KeyMetadata"],
        "KeyId": primary.rsplit("/", 1)[1],
        "Arn": primary,
        "KeyState": "PendingReplicaDeletion",
        "MultiRegion": True,
        "MultiRegionConfiguration": {
            "MultiRegionKeyType": "PRIMARY",
            "PrimaryKey": {"Arn": primary, "Region": "us-east-1"},
            "ReplicaKeys": [{"Arn": replica, "Region": "eu-west-1"}],
        },
    }
    with Stubber(client) as stub:
        stub.add_response("describe_key", {"KeyMetadata": metadata})
        stub.add_response("list_aliases", {"Aliases": []})
        stub.add_response("list_resource_tags", {"Tags": []})
        stub.add_response("get_key_rotation_status", {"KeyRotationEnabled": False})
        snapshot = KeyInventory(_OneClient(client)).read(primary, REGION)
    identity = snapshot.identity()
    assert identity is not None
    assert identity.regions == ["us-east-1", "eu-west-1"]
    assert snapshot.multi_region_role == "PRIMARY"
    assert snapshot.deletion_date is None


@pytest.mark.parametrize(
    ("delta", "days"),
    [
        (timedelta(days=7), 7),
        (timedelta(days=6, hours=23), 7),
        (timedelta(hours=1), 1),
        (timedelta(hours=-2), 0),
    ],
)
def test_days_until_deletion_rounds_up_and_never_goes_negative(delta: timedelta, days: int) -> None:
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    snapshot = KeySnapshot(reference="k", region=REGION, deletion_date=now + delta)
    assert snapshot.days_until_deletion(now) == days


def test_a_snapshot_from_metadata_is_enriched_without_rotation_when_asked() -> None:
    # Given a key already described (the reminder pass lists and describes keys itself)
    client = boto3.client("kms", region_name=REGION)
    snapshot = KeySnapshot.from_metadata("k", REGION, DESCRIBE["KeyMetadata"])
    assert snapshot.readable
    assert snapshot.key_id == "1234abcd-12ab-34cd-56ef-1234567890ab"

    # When its aliases and tags are added, without the rotation status
    with Stubber(client) as stub:
        stub.add_response("list_aliases", {"Aliases": [{"AliasName": "alias/b"}, {"AliasName": "alias/a"}]})
        stub.add_response("list_resource_tags", {"Tags": [{"TagKey": "team", "TagValue": "pay"}]})
        KeyInventory(_OneClient(client)).enrich(snapshot, rotation=False)

    # Then exactly those two calls were made
    assert snapshot.aliases == ["alias/a", "alias/b"]
    assert snapshot.tags == {"team": "pay"}
    assert snapshot.rotation_enabled is None
    assert snapshot.notes() == []


def test_the_key_policy_is_read_or_the_error_code_returned() -> None:
    client = boto3.client("kms", region_name=REGION)
    snapshot = KeySnapshot.from_metadata("k", REGION, DESCRIBE["KeyMetadata"])
    inventory = KeyInventory(_OneClient(client))
    key_id = snapshot.key_id
    with Stubber(client) as stub:
        stub.add_response("get_key_policy", {"Policy": "{}"}, {"KeyId": key_id, "PolicyName": "default"})
        stub.add_client_error("get_key_policy", "AccessDeniedException")
        assert inventory.key_policy(snapshot) == ("{}", None)
        assert inventory.key_policy(snapshot) == (None, "AccessDeniedException")


@pytest.mark.parametrize(
    ("origin", "store"),
    [("AWS_CLOUDHSM", "cks-1234567890abcdef0"), ("EXTERNAL_KEY_STORE", "cks-0fedcba987654321")],
)
def test_no_rotation_status_is_requested_for_a_key_in_a_custom_key_store(origin: str, store: str) -> None:
    # Given a symmetric customer managed key in a custom key store (no automatic rotation there)
    client = boto3.client("kms", region_name=REGION)
    metadata = {**DESCRIBE["KeyMetadata"], "Origin": origin, "CustomKeyStoreId": store}
    snapshot = KeySnapshot.from_metadata("k", REGION, metadata)

    # When it is enriched with rotation asked for
    with Stubber(client) as stub:
        stub.add_response("list_aliases", {"Aliases": []})
        stub.add_response("list_resource_tags", {"Tags": []})
        KeyInventory(_OneClient(client)).enrich(snapshot, rotation=True)

    # Then GetKeyRotationStatus was not called (it would be an unexpected call, noted as unavailable)
    assert snapshot.rotation_enabled is None
    assert snapshot.notes() == []
