"""The journal: transitions, remembered dependencies and coalescing markers (in memory and DynamoDB)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws

from shared.aws import ClientFactory
from shared.journal import DynamoJournal, Journal, MemoryJournal
from shared.policy import Transition
from tests.unit.remediation.support import create_table, dependency

KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["memory", "dynamodb"])
def journal(request: pytest.FixtureRequest) -> Iterator[Journal]:
    if request.param == "memory":
        yield MemoryJournal()
        return
    with mock_aws():
        yield DynamoJournal(ClientFactory(), create_table())


def test_claims_hold_for_their_window_then_free_up(journal: Journal) -> None:
    assert journal.claim("tripwire#k", 3600, NOW) is True
    assert journal.claim("tripwire#k", 3600, NOW + timedelta(minutes=59)) is False
    assert journal.claim("tripwire#other", 3600, NOW) is True
    assert journal.claim("tripwire#k", 3600, NOW + timedelta(minutes=60)) is True


def test_a_released_claim_can_be_taken_again(journal: Journal) -> None:
    journal.claim("reminder#k#2026-11-29", 3600, NOW)
    journal.release("reminder#k#2026-11-29")

    assert journal.claim("reminder#k#2026-11-29", 3600, NOW) is True


def test_only_the_newest_transition_per_state_is_kept(journal: Journal) -> None:
    journal.record_transition(KEY, Transition(NOW, "Disabled", "DisableKey", "keyguard journal", "e2"))
    journal.record_transition(KEY, Transition(NOW - timedelta(days=1), "Disabled", "DisableKey", "x", "e1"))
    journal.record_transition(KEY, Transition(NOW - timedelta(days=2), "Enabled", "EnableKey", "x", "e0"))

    found = {t.state: t for t in journal.transitions(KEY)}

    assert found["Disabled"].event_id == "e2"
    assert found["Disabled"].time == NOW
    assert found["Enabled"].event_name == "EnableKey"
    assert journal.transitions("arn:aws:kms:us-east-1:123456789012:key/other") == []


def test_dependencies_are_remembered(journal: Journal) -> None:
    journal.record_dependencies(KEY, [dependency("a"), dependency("b")], True, 2, NOW)

    remembered = journal.last_dependencies(KEY)

    assert remembered is not None
    assert [i.name for i in remembered.items] == ["a", "b"]
    assert (remembered.complete, remembered.total, remembered.recorded_at) == (
        True,
        2,
        "2026-11-29T12:00:00Z",
    )
    assert journal.last_dependencies("nothing") is None


def test_a_failing_table_never_blocks_the_alert() -> None:
    clients = ClientFactory()
    ddb = clients.client("dynamodb", None)
    journal = DynamoJournal(clients, "t")
    with Stubber(ddb) as stub:
        stub.add_client_error("put_item", "AccessDeniedException")
        stub.add_client_error("get_item", "ResourceNotFoundException")
        stub.add_client_error("get_item", "ResourceNotFoundException")
        stub.add_client_error("put_item", "ProvisionedThroughputExceededException")

        assert journal.claim("m", 60, NOW) is True  # better a duplicate than a missed alert
        assert journal.transitions(KEY) == []
        journal.record_dependencies(KEY, [], True, 0, NOW)


def test_a_held_claim_is_reported_as_held() -> None:
    clients = ClientFactory()
    journal = DynamoJournal(clients, "t")
    with Stubber(clients.client("dynamodb", None)) as stub:
        stub.add_client_error("put_item", "ConditionalCheckFailedException")
        assert journal.claim("m", 60, NOW) is False


def test_client_errors_are_typed() -> None:
    error = ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "PutItem")
    assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
