"""Every change to the protect or approval tag raises its own alert: a headline that says what changed
on which key and by whom, and a severity from what it did (removing the protect tag is high). Under
moto, from the samples in ``events/`` (shaped like the KMS guide's TagResource / UntagResource
examples)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from tests.unit.remediation.support import FakeCalls, FakeDiscoverer, documents, key_state, make_responder

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False, protect=True)


def _deliver(world: World, event: dict[str, Any], lambda_context: Any, **settings: Any) -> dict[str, Any]:
    discoverer, calls = FakeDiscoverer(total=2), FakeCalls()
    responder = make_responder(world, discoverer=discoverer, calls=calls, **settings)
    perform(world, event)
    lambda_handler(event, lambda_context, responder=responder)
    (doc,) = documents(world)
    # A tag change is reported, never searched or remediated, and asks CloudTrail nothing
    assert discoverer.calls == []
    assert calls.asked == []
    assert doc["remediation"]["outcome"] == "not needed: a tag change"
    return doc


def _tag(world: World, value: str) -> dict[str, Any]:
    event = world.event("tag_approval_by_approver")
    event["detail"]["requestParameters"]["tags"] = [{"tagKey": "keyguard:protect", "tagValue": value}]
    return event


def test_removing_the_protect_tag_is_a_high_alert_naming_key_and_principal(
    world: World, lambda_context: Any
) -> None:
    doc = _deliver(world, world.event("untag_protect"), lambda_context, remediation_mode="enforce")

    assert doc["severity"] == "high"
    assert (
        doc["title"]
        == "KMS protect tag keyguard:protect removed from key alias/payments by role/ops-admin (alice)"
    )
    assert doc["summary"].startswith(
        "HIGH 123456789012 us-east-1: protect tag keyguard:protect removed from key "
    )
    assert doc["summary"].endswith(" by role/ops-admin (alice)")
    assert doc["event"]["tag_changes"] == [
        {
            "tag": "keyguard:protect",
            "role": "protect",
            "change": "removed",
            "value": None,
            "weakens_protection": True,
        }
    ]
    assert doc["next_steps"][0].startswith(
        f"If the key should stay protected, restore the tag: aws kms tag-resource --key-id {world.key_id} "
    )
    assert key_state(world) == "Enabled"


def test_setting_the_protect_tag_to_anything_but_true_is_high(world: World, lambda_context: Any) -> None:
    doc = _deliver(world, _tag(world, "false"), lambda_context)

    assert doc["severity"] == "high"
    assert (
        "protect tag keyguard:protect set to 'false' on key alias/payments: it no longer protects the key"
        in (doc["title"])
    )


def test_setting_the_protect_tag_to_true_is_low(world: World, lambda_context: Any) -> None:
    doc = _deliver(world, _tag(world, "true"), lambda_context)

    assert doc["severity"] == "low"
    assert doc["title"].startswith("KMS protect tag set on key alias/payments: keyguard:protect=true by ")


def test_setting_the_approval_tag_is_its_own_alert_with_the_value(world: World, lambda_context: Any) -> None:
    doc = _deliver(world, world.event("tag_approval_by_approver"), lambda_context)

    assert doc["severity"] == "medium"
    assert doc["title"] == (
        "KMS approval tag set on key alias/payments: 'CHG-4711 until=2026-12-20' by "
        "role/keyguard-approver (bob)"
    )
    assert any(
        step.startswith("If nobody approved this deletion: aws kms untag-resource")
        for step in doc["next_steps"]
    )


def test_an_approval_tagged_too_far_ahead_is_reported_invalid_when_it_is_tagged(
    world: World, lambda_context: Any
) -> None:
    # Given the approval's expiry is 40 days after the TagResource that sets it
    event = copy.deepcopy(world.event("tag_approval_by_approver"))
    event["detail"]["requestParameters"]["tags"][0]["tagValue"] = "CHG-4711 until=2027-01-06"

    doc = _deliver(world, event, lambda_context, now=lambda: datetime(2026, 11, 27, 10, 1, tzinfo=UTC))

    # Then the alert says so, counted from the day it was tagged
    assert (
        "keyguard:allow-deletion tag ignored: 'until=2027-01-06' is 40 days after it was tagged on "
        "2026-11-27; at most 30 days are allowed (ApprovalMaxDays); the key is treated as unapproved."
    ) in doc["notes"]
    assert doc["approval"]["status"] == "malformed"


def test_the_root_user_removing_the_protect_tag_is_critical(world: World, lambda_context: Any) -> None:
    event = world.event("untag_protect")
    event["detail"]["userIdentity"] = {
        "type": "Root",
        "principalId": "123456789012",
        "arn": "arn:aws:iam::123456789012:root",
        "accountId": "123456789012",
    }

    doc = _deliver(world, event, lambda_context)

    assert doc["severity"] == "critical"
