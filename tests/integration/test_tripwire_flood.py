"""The tripwire's coalescing gate, under moto: a flood of failed calls on one key costs one key
re-read and one search, because the per-key marker is claimed from the event's key ARN before the
key is read. Calls are counted with a botocore event hook on the responder's own KMS client."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world
from tests.unit.remediation.support import (
    FakeDiscoverer,
    count_calls,
    create_table,
    documents,
    make_responder,
    with_event_id,
)

pytestmark = pytest.mark.integration

FLOOD = 25


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False)


def _tripwire(world: World, n: int, *, key: str | None = None) -> dict[str, Any]:
    """A Decrypt refused with KMSInvalidStateException; ``key`` replaces how it names the key."""
    event = with_event_id(world.event("tripwire_decrypt"), f"8a9b0c1d-2e3f-4a4b-9c5d-{n:012d}")
    if key is not None:
        event = copy.deepcopy(event)
        event["detail"]["resources"] = []
        event["resources"] = []
        event["detail"]["requestParameters"]["keyId"] = key
    return event


def _flood(world: World, responder: Any, context: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [dict(lambda_handler(event, context, responder=responder)) for event in events]


@pytest.mark.parametrize("with_table", [True, False], ids=["table", "in-memory"])
def test_a_flood_of_tripwire_events_re_reads_the_key_once(
    world: World, lambda_context: Any, with_table: bool
) -> None:
    # Given a key pending deletion and a workload whose every Decrypt on it fails
    boto3.client("kms", region_name=world.region).schedule_key_deletion(
        KeyId=world.key_id, PendingWindowInDays=7
    )
    settings: dict[str, Any] = {"idempotency_table_name": create_table(world.region)} if with_table else {}
    discoverer = FakeDiscoverer(total=2)
    responder = make_responder(world, discoverer=discoverer, **settings)
    describes = count_calls(responder, world.region, "DescribeKey")
    tag_reads = count_calls(responder, world.region, "ListResourceTags")

    # When a flood of tripwire events arrives, each naming the key by its ARN
    receipts = _flood(world, responder, lambda_context, [_tripwire(world, n) for n in range(FLOOD)])

    # Then the key is re-read and searched once, for the one alert; the rest stop at the gate
    assert len(describes) == 1
    assert len(tag_reads) == 1
    assert len(discoverer.calls) == 1
    assert len(documents(world)) == 1
    assert [r["message_id"] is None for r in receipts] == [False] + [True] * (FLOOD - 1)
    assert {r["key_arn"] for r in receipts} == {world.key_arn}


def test_a_flood_naming_the_key_by_alias_is_resolved_first_and_still_coalesced(
    world: World, lambda_context: Any
) -> None:
    # Given a key pending deletion, and failed calls naming it by its alias (which may point at
    # another key by now: the alias is resolved before the marker is tested)
    boto3.client("kms", region_name=world.region).schedule_key_deletion(
        KeyId=world.key_id, PendingWindowInDays=7
    )
    discoverer = FakeDiscoverer(total=2)
    responder = make_responder(world, discoverer=discoverer)
    describes = count_calls(responder, world.region, "DescribeKey")
    alias_arn = world.key_arn.split(":key/")[0] + ":alias/prod-db"

    # When five of them arrive
    receipts = _flood(
        world, responder, lambda_context, [_tripwire(world, n, key=alias_arn) for n in range(5)]
    )

    # Then each event re-reads the key, and only the first is published or searched
    assert len(describes) == 5
    assert len(discoverer.calls) == 1
    assert len(documents(world)) == 1
    assert [r["message_id"] is None for r in receipts] == [False, True, True, True, True]


def test_a_marker_taken_for_an_event_that_proves_no_tripwire_is_given_back(
    world: World, lambda_context: Any
) -> None:
    # Given a key that was usable again when a failed Decrypt on it was processed
    responder = make_responder(world)
    first = dict(lambda_handler(_tripwire(world, 1), lambda_context, responder=responder))
    assert first["message_id"] is None  # an invalid-state failure on a usable key proves nothing

    # When the key is then scheduled for deletion and a workload fails on it within the hour
    boto3.client("kms", region_name=world.region).schedule_key_deletion(
        KeyId=world.key_id, PendingWindowInDays=7
    )
    second = dict(lambda_handler(_tripwire(world, 2), lambda_context, responder=responder))

    # Then that tripwire is published: the first event did not keep the key's marker
    assert second["message_id"] is not None
    (doc,) = documents(world)
    assert doc["kind"] == "tripwire"
