"""The idempotency table is gone: the function still alerts (a duplicate beats none), says so in the
alert, and records the IdempotencyUnavailable metric. Under moto, whose DynamoDB answers a call on a
missing table with ResourceNotFoundException as DynamoDB does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from shared.errors import AlertDeliveryError
from tests.unit.remediation.support import create_table, documents, make_responder

pytestmark = pytest.mark.integration

GONE = "kms-keyguard-idempotency-deleted"


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False, protect=False)


def _metric_names(output: str) -> set[str]:
    names: set[str] = set()
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            for directive in blob["_aws"]["CloudWatchMetrics"]:
                names |= {metric["Name"] for metric in directive["Metrics"]}
    return names


def test_with_the_table_deleted_the_alert_still_goes_out_and_says_so(
    world: World, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a responder whose idempotency table does not exist (deleted)
    responder = make_responder(world, idempotency_table_name=GONE)
    event = world.event("schedule_key_deletion")
    perform(world, event)

    # When the event arrives
    receipt = lambda_handler(event, lambda_context, responder=responder)

    # Then the alert is published, once, and says the exactly-once check was skipped
    (doc,) = documents(world)
    assert receipt["message_id"] is not None
    assert doc["notes"][0].startswith("The idempotency table could not be used (ResourceNotFoundException)")
    assert "may repeat" in doc["notes"][0]
    # And the failure is counted
    assert "IdempotencyUnavailable" in _metric_names(capsys.readouterr().out)


def test_a_redelivery_with_the_table_gone_alerts_again(world: World, lambda_context: Any) -> None:
    responder = make_responder(world, idempotency_table_name=GONE)
    event = world.event("schedule_key_deletion")
    perform(world, event)

    lambda_handler(event, lambda_context, responder=responder)
    lambda_handler(event, lambda_context, responder=responder)

    assert len(documents(world)) == 2  # a duplicate beats none


def test_with_the_table_present_a_redelivery_is_not_published_again(
    world: World, lambda_context: Any
) -> None:
    # The control: the exactly-once check still works when the table is there.
    responder = make_responder(world, idempotency_table_name=create_table())
    event = world.event("schedule_key_deletion")
    perform(world, event)

    lambda_handler(event, lambda_context, responder=responder)
    lambda_handler(event, lambda_context, responder=responder)

    (doc,) = documents(world)
    assert not any("idempotency table" in note for note in doc["notes"])


class FailingPublisher:
    def publish(self, doc: Any) -> str:
        raise AlertDeliveryError("sns down")


def test_a_failed_publish_with_the_table_gone_still_fails_the_invocation(
    world: World, lambda_context: Any
) -> None:
    # The work ran and failed: it is not run a second time in the same invocation; Lambda retries.
    responder = make_responder(world, idempotency_table_name=GONE, publisher=FailingPublisher())
    event = world.event("disable_key")
    perform(world, event)

    with pytest.raises(AlertDeliveryError):
        lambda_handler(event, lambda_context, responder=responder)
