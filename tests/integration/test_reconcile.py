"""The reconciliation pass: unusable keys with no alert on record get one "missed event" alert each,
never repeated; keys the responder already alerted on are left alone. KMS, SNS, SQS and DynamoDB are
moto; moto creates a key with Origin EXTERNAL in PendingImport, as KMS does."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from handlers.key_events import lambda_handler
from handlers.reconcile import lambda_handler as reconcile_handler
from keyguard_cli.demo.world import World, build_world, perform
from shared.aws import ClientFactory
from shared.config import Settings
from shared.document import AlertDocument
from shared.journal import DynamoJournal
from shared.key_inventory import describe_keys
from shared.reconcile import Reconciler
from tests.unit.remediation.support import create_table, documents, make_responder

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False, protect=False)


class RecordingPublisher:
    def __init__(self) -> None:
        self.sent: list[AlertDocument] = []

    def publish(self, doc: AlertDocument) -> str:
        self.sent.append(doc)
        return f"message-{len(self.sent)}"


ACCOUNT = "111122223333"
IMPORT_KEY = "0b7c4e2a-1f3d-4c5e-8a9b-0c1d2e3f4a5b"
STORE_KEY = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"


def _metadata(key_id: str, state: str, **extra: Any) -> dict[str, Any]:
    return {
        "AWSAccountId": ACCOUNT,
        "KeyId": key_id,
        "Arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key_id}",
        "CreationDate": datetime(2026, 1, 5, tzinfo=UTC),
        "Enabled": False,
        "KeyUsage": "ENCRYPT_DECRYPT",
        "KeyState": state,
        "KeyManager": "CUSTOMER",
        "KeySpec": "SYMMETRIC_DEFAULT",
        **extra,
    }


def test_keys_pending_import_or_unavailable_are_reconciled_too() -> None:
    # Given (as KMS describes them; moto models neither state) a key whose imported material expired
    # and a key whose custom key store was disconnected
    clients = ClientFactory()
    kms = clients.client("kms", "us-east-1")
    stub = Stubber(kms)
    stub.add_response(
        "list_keys",
        {
            "Keys": [
                {"KeyId": key, "KeyArn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{key}"}
                for key in (IMPORT_KEY, STORE_KEY)
            ],
            "Truncated": False,
        },
    )
    stub.add_response(
        "describe_key", {"KeyMetadata": _metadata(IMPORT_KEY, "PendingImport", Origin="EXTERNAL")}
    )
    stub.add_response(
        "describe_key",
        {
            "KeyMetadata": _metadata(
                STORE_KEY, "Unavailable", Origin="AWS_CLOUDHSM", CustomKeyStoreId="cks-1234567890abcdef0"
            )
        },
    )
    for _ in range(2):
        stub.add_response("list_aliases", {"Aliases": [], "Truncated": False})
        stub.add_response("list_resource_tags", {"Tags": [], "Truncated": False})
    publisher = RecordingPublisher()
    settings = Settings(alert_topic_arn=f"arn:aws:sns:us-east-1:{ACCOUNT}:alerts")

    # When the pass runs
    with stub:
        counts = Reconciler(settings, clients, publisher=publisher, max_workers=1).run("us-east-1")

    # Then both are reported, each in its state, with no other call made on them
    stub.assert_no_pending_responses()
    assert counts["sent"] == 2
    assert [(doc.key.id, doc.key.state) for doc in publisher.sent] == [
        (IMPORT_KEY, "PendingImport"),
        (STORE_KEY, "Unavailable"),
    ]
    assert all(doc.severity.value == "high" for doc in publisher.sent)


def reconciler(world: World, table: str, **settings: Any) -> Reconciler:
    config = Settings(alert_topic_arn=world.topic_arn, idempotency_table_name=table, **settings)
    clients = ClientFactory()
    return Reconciler(config, clients, journal=DynamoJournal(clients, table))


def test_unusable_keys_without_an_alert_get_one_missed_event_alert_each(
    world: World, lambda_context: Any
) -> None:
    # Given a key disabled and one scheduled for deletion, whose events never reached the function,
    # a key awaiting its imported material, and the demo's second key still Enabled
    table = create_table()
    kms = boto3.client("kms", region_name=world.region)
    kms.disable_key(KeyId=world.key_id)
    scheduled = kms.create_key(Description="orders")["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=scheduled["KeyId"], PendingWindowInDays=7)

    # When the pass runs (through its handler)
    counts = reconcile_handler({}, lambda_context, reconciler=reconciler(world, table))

    # Then each unusable key gets one alert, naming the key and its state
    docs = {doc["key"]["arn"]: doc for doc in documents(world)}
    assert set(docs) == {world.key_arn, scheduled["Arn"]}
    assert counts["sent"] == 2
    assert {doc["kind"] for doc in docs.values()} == {"missed-event"}
    assert docs[world.key_arn]["key"]["state"] == "Disabled"
    assert docs[world.key_arn]["severity"] == "high"
    assert docs[scheduled["Arn"]]["severity"] == "critical"
    assert docs[scheduled["Arn"]]["key"]["days_until_deletion"] == 7
    assert "missed event" in docs[world.key_arn]["summary"]

    # And the next run says nothing more
    again = reconciler(world, table).run()
    assert (again["sent"], again["already_alerted"]) == (0, 2)
    assert documents(world) == []


def test_a_key_the_responder_alerted_on_is_not_reported_as_missed(world: World, lambda_context: Any) -> None:
    # Given the DisableKey event reached the responder, which alerted
    table = create_table()
    event = world.event("disable_key")
    perform(world, event)
    lambda_handler(event, lambda_context, responder=make_responder(world, idempotency_table_name=table))
    assert len(documents(world)) == 1

    # When the pass runs
    counts = reconciler(world, table).run()

    # Then no missed-event alert is sent for that key
    assert counts["sent"] == 0
    assert documents(world) == []


def test_a_key_alerted_in_another_state_is_reported_in_its_new_state(
    world: World, lambda_context: Any
) -> None:
    # Given the responder alerted on the key Disabled, and its later deletion was never delivered
    table = create_table()
    event = world.event("disable_key")
    perform(world, event)
    lambda_handler(event, lambda_context, responder=make_responder(world, idempotency_table_name=table))
    documents(world)
    boto3.client("kms", region_name=world.region).schedule_key_deletion(
        KeyId=world.key_id, PendingWindowInDays=7
    )

    counts = reconciler(world, table).run()

    (doc,) = documents(world)
    assert counts["sent"] == 1
    assert (doc["key"]["arn"], doc["key"]["state"]) == (world.key_arn, "PendingDeletion")


def test_a_guard_key_found_unusable_is_critical(world: World) -> None:
    table = create_table()
    boto3.client("kms", region_name=world.region).disable_key(KeyId=world.key_id)

    reconciler(world, table, guard_key_arns=(world.key_arn,)).run()

    (doc,) = documents(world)
    assert doc["severity"] == "critical"


def test_without_its_journal_the_pass_alerts_nobody_and_says_why(world: World) -> None:
    # Unknown is not "never alerted": otherwise every run would repeat every alert.
    boto3.client("kms", region_name=world.region).disable_key(KeyId=world.key_id)

    counts = reconciler(world, "kms-keyguard-idempotency-deleted").run()

    assert (counts["sent"], counts["journal_unavailable"]) == (0, 1)
    assert documents(world) == []


class BarrierKms:
    """DescribeKey that returns only once ``parties`` calls are in flight together."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties)
        self.lock = threading.Lock()
        self.in_flight = self.peak = 0

    def describe_key(self, KeyId: str) -> dict[str, Any]:
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        self.barrier.wait(timeout=10)  # raises BrokenBarrierError if the calls do not overlap
        with self.lock:
            self.in_flight -= 1
        return {"KeyMetadata": {"KeyId": KeyId, "KeyState": "Enabled"}}


def test_keys_are_described_concurrently_by_a_bounded_pool() -> None:
    # Given a KMS whose DescribeKey blocks until four calls run at once
    kms = BarrierKms(parties=4)
    keys = [f"key-{n}" for n in range(8)]

    # When eight keys are described with a pool of four
    described = describe_keys(kms, keys, max_workers=4)

    # Then four ran together (a sequential loop would break the barrier), never more, in order
    assert [meta["KeyId"] for meta in described if meta] == keys
    assert kms.peak == 4
    assert not kms.barrier.broken
