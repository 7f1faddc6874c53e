"""Act first: in enforce mode with a scope that needs no discovery (or on a guard key), the deletion
is cancelled right after the key is re-read, before the dependency search and before any CloudTrail
lookup; the evidence for re-enabling comes afterwards. Under moto, with the search and CloudTrail as
recording fakes (moto does not implement LookupEvents)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from shared.policy import Transition
from tests.unit.remediation.support import FakeDiscoverer, FakeHistory, documents, key_state, make_responder

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False, protect=True)


class RecordingDiscoverer(FakeDiscoverer):
    def __init__(self, calls: list[str]) -> None:
        super().__init__(total=3)
        self.log = calls

    def __call__(self, identity: Any, clients: Any, **kwargs: Any) -> Any:
        self.log.append("discover")
        return super().__call__(identity, clients, **kwargs)


class RecordingHistory(FakeHistory):
    def __init__(self, calls: list[str], transitions: list[Transition]) -> None:
        super().__init__(transitions)
        self.log = calls

    def transitions(self, key_arn: str, region: str, before: datetime, deadline: float | None = None) -> Any:
        self.log.append("LookupEvents")
        return super().transitions(key_arn, region, before, deadline)


@pytest.mark.parametrize(
    ("settings"),
    [
        {"remediation_mode": "enforce", "remediation_scope": "all"},
        {"remediation_mode": "enforce", "remediation_scope": "tagged"},
        {"remediation_mode": "off", "guard": True},
    ],
    ids=["enforce-all", "enforce-tagged", "guard-key-remediation-off"],
)
def test_the_deletion_is_cancelled_before_discovery_and_cloudtrail_lookups(
    world: World, lambda_context: Any, settings: dict[str, Any]
) -> None:
    # Given a responder whose every KMS call, search and CloudTrail lookup is recorded in order
    calls: list[str] = []
    enabled_before = [Transition(datetime(2026, 11, 1, tzinfo=UTC), "Enabled", "CreateKey", "CloudTrail")]
    guard = settings.pop("guard", False)
    if guard:
        settings["guard_key_arns"] = (world.key_arn,)
    responder = make_responder(
        world,
        discoverer=RecordingDiscoverer(calls),
        history=RecordingHistory(calls, enabled_before),
        **settings,
    )
    kms = responder.clients.client("kms", world.region)
    kms.meta.events.register("before-call.kms.*", lambda model, **_: calls.append(model.name))
    event = world.event("schedule_key_deletion")
    perform(world, event)

    # When the ScheduleKeyDeletion arrives
    lambda_handler(event, lambda_context, responder=responder)

    # Then CancelKeyDeletion is the first mutating call, right after the key is re-read, and comes
    # before the search and the lookups; re-enabling follows the evidence
    mutating = [c for c in calls if c in ("CancelKeyDeletion", "EnableKey", "TagResource")]
    assert mutating[0] == "CancelKeyDeletion"
    cancel = calls.index("CancelKeyDeletion")
    assert "DescribeKey" in calls[:cancel]
    assert "discover" not in calls[:cancel]
    assert "LookupEvents" not in calls[:cancel]
    if not guard:  # a guard key is re-enabled without evidence (only break-glass may disable it)
        assert calls.index("LookupEvents") < calls.index("EnableKey")
    (doc,) = documents(world)
    assert doc["remediation"]["outcome"] == "cancelled and re-enabled"
    assert key_state(world) == "Enabled"


def test_with_dependencies_scope_still_searches_before_deciding(world: World, lambda_context: Any) -> None:
    # The scope needs the search's answer: no acting first.
    calls: list[str] = []
    responder = make_responder(
        world,
        remediation_mode="enforce",
        remediation_scope="with-dependencies",
        discoverer=RecordingDiscoverer(calls),
        history=RecordingHistory(calls, []),
    )
    kms = responder.clients.client("kms", world.region)
    kms.meta.events.register(
        "before-call.kms.CancelKeyDeletion", lambda **_: calls.append("CancelKeyDeletion")
    )
    event = world.event("schedule_key_deletion")
    perform(world, event)

    lambda_handler(event, lambda_context, responder=responder)

    (doc,) = documents(world)
    assert doc["remediation"]["outcome"] == "cancelled; left Disabled", doc["remediation"]
    assert calls.index("discover") < calls.index("CancelKeyDeletion")
