"""Act first: in enforce mode with a scope that needs no discovery (or on a guard key), the deletion
is cancelled right after the key is re-read, before the dependency search and before any CloudTrail
lookup; the evidence for re-enabling comes afterwards. Under moto, with the search and CloudTrail as
recording fakes (moto does not implement LookupEvents)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from shared.aws import ClientFactory
from shared.config import Settings
from shared.history import CloudTrailHistory
from shared.journal import MemoryJournal
from shared.policy import Transition
from shared.remediation import Remediator
from shared.responder import Responder
from tests.support.lambda_context import FakeLambdaContext
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


class SlowCloudTrail:
    """LookupEvents that takes 30 s of the fake clock to answer, behind a client whose read timeout
    is the time ``CloudTrailHistory`` gave it: the call ends at that timeout, as botocore's does."""

    ANSWER_SECONDS = 30.0

    def __init__(self, clock: list[float], read_timeout: float) -> None:
        self.clock = clock
        self.read_timeout = read_timeout

    def lookup_events(self, **kwargs: Any) -> Any:
        self.clock[0] += min(self.ANSWER_SECONDS, self.read_timeout)
        raise ReadTimeoutError(endpoint_url="https://cloudtrail.us-east-1.amazonaws.com/")


class TimedPublisher:
    """Records when (on the fake clock) each alert is published."""

    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.sent: list[tuple[float, Any]] = []

    def publish(self, doc: Any) -> str:
        self.sent.append((self.clock[0], doc))
        return f"message-{len(self.sent)}"


def test_a_cloudtrail_lookup_that_takes_30_seconds_still_lets_the_alert_out_before_the_deadline(
    world: World,
) -> None:
    # Given a function with 20 s left (a fake clock: nothing sleeps), enforce mode acting first, and
    # a CloudTrail that takes 30 s to answer each lookup
    clock = [1_000.0]
    timeouts: list[float] = []

    def client_for(region: str, seconds: float) -> SlowCloudTrail:
        timeouts.append(seconds)
        return SlowCloudTrail(clock, seconds)

    settings = Settings(alert_topic_arn=world.topic_arn, remediation_mode="enforce", remediation_scope="all")
    clients = ClientFactory()
    journal = MemoryJournal()
    history = CloudTrailHistory(clients, monotonic=lambda: clock[0], client_for=client_for)
    publisher = TimedPublisher(clock)
    responder = Responder(
        settings,
        clients,
        discoverer=FakeDiscoverer(total=1),
        remediator=Remediator(settings, clients, journal=journal, history=history),
        journal=journal,
        publisher=publisher,
        monotonic=lambda: clock[0],
    )
    context = FakeLambdaContext(timeout_seconds=20.0)
    lambda_deadline = clock[0] + context.timeout_seconds
    event = world.event("schedule_key_deletion")
    perform(world, event)

    # When the ScheduleKeyDeletion arrives
    receipt = lambda_handler(event, context, responder=responder)

    # Then the deletion is cancelled, the lookup is cut at its client's timeout (never 30 s), and the
    # alert is published with the publish reserve still left before the function's deadline
    ((published_at, doc),) = publisher.sent
    assert receipt["message_id"] == "message-1"
    assert timeouts == [pytest.approx(10.0)]  # one lookup, bounded by its 10 s cap
    assert published_at <= lambda_deadline - settings.publish_reserve_seconds
    assert doc.remediation.outcome == "cancelled; left Disabled"
    assert any("CloudTrail unavailable: ReadTimeoutError" in reason for reason in doc.remediation.reasons)
    assert key_state(world) == "Disabled"  # not re-enabled on incomplete evidence
