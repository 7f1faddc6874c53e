"""The guard's own keys (GUARD_KEY_ARNS) are put back whatever the remediation mode and scope say,
and every event on one of them is critical. Under moto: event → lambda_handler → KMS → SNS → SQS."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from tests.unit.remediation.support import documents, key_state, make_responder, tag_key

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False, protect=False)


def _deliver(world: World, event_name: str, context: Any, **settings: Any) -> dict[str, Any]:
    event = world.event(event_name)
    perform(world, event)
    lambda_handler(event, context, responder=make_responder(world, **settings))
    (doc,) = documents(world)
    return doc


def test_scheduling_deletion_of_the_alert_key_with_remediation_off_is_undone_and_critical(
    world: World, lambda_context: Any
) -> None:
    # Given the scheduled key is the alert topic's key, remediation off, the key not tagged
    doc = _deliver(
        world,
        "schedule_key_deletion",
        lambda_context,
        remediation_mode="off",
        guard_key_arns=(world.key_arn,),
    )

    # Then the deletion is cancelled and the key re-enabled
    assert key_state(world) == "Enabled"
    assert doc["remediation"]["mode"] == "enforce"
    assert doc["remediation"]["outcome"] == "cancelled and re-enabled"
    # And the alert is critical, whatever else the severity rules would say
    assert doc["severity"] == "critical"
    assert any("kms-keyguard's own keys" in note for note in doc["notes"])


def test_an_approved_deletion_of_a_guard_key_is_still_undone(world: World, lambda_context: Any) -> None:
    tag_key(world, {"keyguard:allow-deletion": "CHG-1 until=2099-01-01"})

    doc = _deliver(
        world,
        "schedule_key_deletion",
        lambda_context,
        remediation_mode="dry-run",
        remediation_scope="tagged",
        guard_key_arns=(world.key_arn,),
    )

    assert key_state(world) == "Enabled"
    assert doc["remediation"]["outcome"] == "cancelled and re-enabled"


def test_disabling_a_guard_key_is_undone_even_with_re_enabling_off(world: World, lambda_context: Any) -> None:
    doc = _deliver(
        world,
        "disable_key",
        lambda_context,
        remediation_mode="off",
        reenable_disabled_keys=False,
        guard_key_arns=(world.key_arn,),
    )

    assert key_state(world) == "Enabled"
    assert doc["remediation"]["outcome"] == "re-enabled"
    assert doc["severity"] == "critical"


def test_another_key_with_remediation_off_is_left_alone(world: World, lambda_context: Any) -> None:
    other = world.key_arn.replace(world.key_id, "0c0ffee0-1234-4abc-9def-0123456789ab")

    doc = _deliver(
        world, "schedule_key_deletion", lambda_context, remediation_mode="off", guard_key_arns=(other,)
    )

    assert key_state(world) == "PendingDeletion"
    assert doc["remediation"]["outcome"] == "remediation is off"
