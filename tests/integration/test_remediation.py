"""Remediation end to end under moto: event → lambda_handler → KMS → SNS → the subscribed SQS queue.

Discovery is replaced by a fake (its own tests live elsewhere), except where the search's completeness
is the point (the real engine, with finders that fail); KMS, SNS, SQS and DynamoDB are moto.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import pytest
from botocore.exceptions import ClientError, UnknownEndpointError
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from shared.dependencies import discover
from shared.dependencies.base import FinderContext
from shared.errors import AlertDeliveryError
from shared.policy import Transition
from tests.unit.remediation.support import (
    OWN_ROLE,
    FakeCalls,
    FakeDiscoverer,
    FakeHistory,
    at,
    by_own_role,
    count_calls,
    create_table,
    documents,
    key_state,
    make_responder,
    tag_key,
    tagged_record,
    untag_protect,
    valid_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False)


def _schedule(
    world: World, responder: Any, context: Any, event: dict[str, Any] | None = None
) -> dict[str, Any]:
    event = event or world.event("schedule_key_deletion")
    perform(world, event)
    lambda_handler(event, context, responder=responder)
    (doc,) = documents(world)
    return doc


# ----- mode x scope x tags ------------------------------------------------------------------------
APPROVAL = f"CHG-4711 until={valid_until()}"
EXEMPT = "exempt: approved deletion CHG-4711 (verified in CloudTrail)"
TAGS = {
    "untagged": {},
    "protected": {"keyguard:protect": "true"},
    "approved": {"keyguard:allow-deletion": APPROVAL},
    "protected+approved": {"keyguard:protect": "true", "keyguard:allow-deletion": APPROVAL},
}


def _approved_by_another_principal(world: World, acted_at: datetime) -> FakeCalls:
    """CloudTrail as it looks when an approver tagged the approval a day before the call."""
    tagged = tagged_record(world, "tag_approval_by_approver", APPROVAL, acted_at - timedelta(days=1))
    return FakeCalls([tagged])


def _expected(mode: str, scope: str, tags: str) -> tuple[str, str]:
    """An independent statement of the decision table: (outcome prefix, key state afterwards)."""
    if mode == "off":
        return "remediation is off", "PendingDeletion"
    if "approved" in tags:
        return EXEMPT, "PendingDeletion"
    if not (scope == "all" or tags.startswith("protected")):
        return "not in scope", "PendingDeletion"
    if mode == "dry-run":
        return "would cancel the deletion and leave it Disabled", "PendingDeletion"
    return "cancelled; left Disabled", "Disabled"


@pytest.mark.parametrize("tags", sorted(TAGS))
@pytest.mark.parametrize("scope", ["tagged", "with-dependencies", "all"])
@pytest.mark.parametrize("mode", ["off", "dry-run", "enforce"])
def test_scheduled_deletion_of_a_key_without_dependencies(
    world: World, lambda_context: Any, mode: str, scope: str, tags: str
) -> None:
    # Given a key without dependencies, tagged as the case says (an approval tagged by an approver)
    untag_protect(world)
    tag_key(world, TAGS[tags])
    now = datetime.now(UTC) - timedelta(minutes=1)
    calls = _approved_by_another_principal(world, now)
    responder = make_responder(world, remediation_mode=mode, remediation_scope=scope, calls=calls)

    # When its deletion is scheduled
    doc = _schedule(world, responder, lambda_context, at(world.event("schedule_key_deletion"), now))

    # Then remediation does exactly what the decision table says, and the alert says so
    outcome, state = _expected(mode, scope, tags)
    assert doc["remediation"]["mode"] == mode
    assert doc["remediation"]["outcome"] == outcome
    assert key_state(world) == state
    assert doc["key"]["state"] == state
    if "approved" in tags:
        assert any(
            n.startswith(f"Approved deletion: CHG-4711 (valid until {valid_until()}), verified")
            for n in doc["notes"]
        )


def _expected_disable(mode: str, scope: str, tags: str) -> tuple[str, str]:
    if mode == "off":
        return "remediation is off", "Disabled"
    if "approved" in tags:
        return EXEMPT, "Disabled"
    if not (scope == "all" or tags.startswith("protected")):
        return "not in scope", "Disabled"
    if mode == "dry-run":
        return "would re-enable the key", "Disabled"
    return "re-enabled", "Enabled"


@pytest.mark.parametrize("tags", sorted(TAGS))
@pytest.mark.parametrize("scope", ["tagged", "all"])
@pytest.mark.parametrize("mode", ["off", "dry-run", "enforce"])
def test_disabled_key_with_re_enabling_on(
    world: World, lambda_context: Any, mode: str, scope: str, tags: str
) -> None:
    # Given REENABLE_DISABLED_KEYS=true and a key tagged as the case says
    untag_protect(world)
    tag_key(world, TAGS[tags])
    now = datetime.now(UTC) - timedelta(minutes=1)
    calls = _approved_by_another_principal(world, now)
    responder = make_responder(
        world, remediation_mode=mode, remediation_scope=scope, reenable_disabled_keys=True, calls=calls
    )
    event = at(world.event("disable_key"), now)
    perform(world, event)

    # When the DisableKey event arrives
    lambda_handler(event, lambda_context, responder=responder)

    # Then the key is re-enabled exactly when mode, scope and approval allow it
    (doc,) = documents(world)
    outcome, state = _expected_disable(mode, scope, tags)
    assert doc["remediation"]["outcome"] == outcome
    assert key_state(world) == state


@pytest.mark.parametrize(
    ("scope", "dependencies", "complete", "cancelled"),
    [
        ("with-dependencies", 2, True, True),
        ("with-dependencies", 0, False, True),  # an incomplete search counts as at risk
        ("with-dependencies", 0, True, False),
        ("tagged", 2, True, False),
    ],
)
def test_with_dependencies_scope_follows_discovery(
    world: World, lambda_context: Any, scope: str, dependencies: int, complete: bool, cancelled: bool
) -> None:
    untag_protect(world)
    responder = make_responder(
        world,
        remediation_mode="enforce",
        remediation_scope=scope,
        discoverer=FakeDiscoverer(total=dependencies, complete=complete),
    )

    doc = _schedule(world, responder, lambda_context)

    assert doc["remediation"]["outcome"].startswith("cancelled") is cancelled
    assert key_state(world) == ("Disabled" if cancelled else "PendingDeletion")


@dataclass(frozen=True)
class _Failing:
    """A finder that fails with ``error`` in every Region (``evidence_only``: a usage reader)."""

    name: str
    error: Exception
    evidence: bool = False
    service: str = "x"
    actions: tuple[str, ...] = ()
    resource_types: tuple[str, ...] = ()

    @property
    def evidence_only(self) -> bool:
        return self.evidence

    def applies_to(self, region: str) -> bool:
        return True

    def find(self, ctx: FinderContext) -> Iterator[Any]:
        raise self.error
        yield


NOT_OFFERED = _Failing("msk-clusters", UnknownEndpointError(service_name="kafka", region_name="us-east-1"))
EVIDENCE_DENIED = _Failing(
    "kms-last-usage",
    ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetKeyLastUsage"),
    evidence=True,
)
DENIED = _Failing(
    "rds-instances",
    ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "DescribeDBInstances"),
)


def test_with_dependencies_scope_is_not_held_back_by_a_service_the_region_lacks_or_by_evidence(
    world: World, lambda_context: Any
) -> None:
    # Given a search (the real engine) where one service has no endpoint in the Region and the
    # usage evidence is denied, and nothing was found
    untag_protect(world)
    discoverer = partial(discover, finders=[NOT_OFFERED, EVIDENCE_DENIED], evidence=False, config_index=False)
    responder = make_responder(
        world, remediation_mode="enforce", remediation_scope="with-dependencies", discoverer=discoverer
    )

    # When the key is scheduled for deletion
    doc = _schedule(world, responder, lambda_context)

    # Then the search counts as complete, so the scope does not apply, and both are still listed
    deps = doc["dependencies"]
    assert deps["complete"] is True
    assert sorted((u["finder"], u["effect"]) for u in deps["unchecked"]) == [
        ("kms-last-usage", "evidence-only"),
        ("msk-clusters", "not-offered"),
    ]
    assert doc["remediation"]["outcome"].startswith("not in scope")
    assert key_state(world) == "PendingDeletion"


def test_with_dependencies_scope_treats_a_denied_finder_as_at_risk_and_names_it(
    world: World, lambda_context: Any
) -> None:
    # Given a search where one resource finder is denied (and another service is not offered)
    untag_protect(world)
    discoverer = partial(discover, finders=[NOT_OFFERED, DENIED], evidence=False, config_index=False)
    responder = make_responder(
        world, remediation_mode="enforce", remediation_scope="with-dependencies", discoverer=discoverer
    )

    doc = _schedule(world, responder, lambda_context)

    # Then the search is incomplete, the deletion is cancelled, and the reason names the finder
    assert doc["dependencies"]["complete"] is False
    assert doc["remediation"]["outcome"].startswith("cancelled")
    assert (
        "scope with-dependencies: the dependency search was incomplete (treated as at risk): "
        f"rds-instances [{world.region}]: denied: AccessDeniedException"
    ) in doc["remediation"]["reasons"]
    assert key_state(world) == "Disabled"


def test_dry_run_says_exactly_what_it_would_have_done(world: World, lambda_context: Any) -> None:
    responder = make_responder(world, remediation_mode="dry-run")

    doc = _schedule(world, responder, lambda_context)

    reasons = doc["remediation"]["reasons"]
    assert doc["remediation"]["action"] == "cancel-deletion"
    assert f"dry-run: would call CancelKeyDeletion --key-id {world.key_id}" in reasons
    assert any(
        r.startswith("dry-run: would tag keyguard:last-intervention=cancel-deletion ") for r in reasons
    )
    assert key_state(world) == "PendingDeletion"


def test_enforce_tags_the_key_with_the_intervention(world: World, lambda_context: Any) -> None:
    import boto3

    responder = make_responder(world, remediation_mode="enforce")

    doc = _schedule(world, responder, lambda_context)

    kms = boto3.client("kms", region_name=world.region)
    tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=world.key_id)["Tags"]}
    value = tags["keyguard:last-intervention"]
    assert value.startswith("cancel-deletion ")
    assert value.endswith("event 5b0d2b71-8a43-4c41-9d53-0f7c0d1a9e11")
    assert f"tagged keyguard:last-intervention={value}" in doc["remediation"]["reasons"]
    # a cancelled deletion lowers the severity (critical with a 7-day window → high)
    assert doc["severity"] == "high"
    assert "remediation averted the danger" in doc["notes"][-1]


# ----- approvals ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "cancelled", "note"),
    [
        (APPROVAL, False, f"Approved deletion: CHG-4711 (valid until {valid_until()}), verified: tagged by"),
        ("CHG-4711 until=2020-01-31", True, "Approval CHG-4711 lapsed on 2020-01-31"),
        ("CHG-4711 until=31/12/2026", True, "keyguard:allow-deletion tag ignored: 'until=31/12/2026'"),
        ("true", True, "keyguard:allow-deletion tag ignored: 'true' is not a change reference"),
        ("CHG-4711", True, "keyguard:allow-deletion tag ignored: 'CHG-4711' has no expiry"),
        ("CHG-4711 until=2099-12-31", True, "keyguard:allow-deletion tag ignored: 'until=2099-12-31' is"),
    ],
    ids=["valid", "expired", "malformed-date", "not-a-reference", "no-expiry", "too-far-out"],
)
def test_approved_deletions_are_never_undone_until_they_lapse(
    world: World, lambda_context: Any, value: str, cancelled: bool, note: str
) -> None:
    tag_key(world, {"keyguard:allow-deletion": value})
    now = datetime.now(UTC) - timedelta(minutes=1)
    calls = FakeCalls([tagged_record(world, "tag_approval_by_approver", value, now - timedelta(hours=2))])
    responder = make_responder(world, remediation_mode="enforce", calls=calls)

    doc = _schedule(world, responder, lambda_context, at(world.event("schedule_key_deletion"), now))

    assert doc["remediation"]["outcome"].startswith("cancelled") is cancelled
    assert key_state(world) == ("Disabled" if cancelled else "PendingDeletion")
    assert any(n.startswith(note) for n in doc["notes"]), doc["notes"]


# ----- restore or not -----------------------------------------------------------------------------
def test_cancelled_key_is_re_enabled_when_cloudtrail_shows_it_was_enabled(
    world: World, lambda_context: Any
) -> None:
    created = datetime(2026, 11, 1, tzinfo=UTC)
    history = FakeHistory([Transition(created, "Enabled", "CreateKey", "CloudTrail", "e-1")])
    responder = make_responder(world, remediation_mode="enforce", history=history)

    doc = _schedule(world, responder, lambda_context)

    assert doc["remediation"]["outcome"] == "cancelled and re-enabled"
    assert doc["remediation"]["resulting_state"] == "Enabled"
    assert key_state(world) == "Enabled"
    assert any("CloudTrail: CreateKey at 2026-11-01T00:00:00Z" in r for r in doc["remediation"]["reasons"])


def test_a_key_disabled_before_its_deletion_was_scheduled_stays_disabled(
    world: World, lambda_context: Any
) -> None:
    # Given CloudTrail (indexed late) shows only the key's creation, but keyguard saw a DisableKey
    created = datetime(2026, 11, 1, tzinfo=UTC)
    history = FakeHistory([Transition(created, "Enabled", "CreateKey", "CloudTrail", "e-1")])
    responder = make_responder(world, remediation_mode="enforce", history=history)
    disable = world.event("disable_key")
    disable["detail"]["eventTime"] = "2026-11-28T09:00:00Z"  # before the sample ScheduleKeyDeletion
    perform(world, disable)
    lambda_handler(disable, lambda_context, responder=responder)
    documents(world)

    # When the deletion is scheduled after the disable
    doc = _schedule(world, responder, lambda_context)

    # Then the deletion is cancelled and the key left Disabled, naming the evidence
    assert doc["remediation"]["outcome"] == "cancelled; left Disabled"
    assert key_state(world) == "Disabled"
    assert any(
        "already Disabled before the deletion was scheduled (keyguard journal: DisableKey" in r
        for r in doc["remediation"]["reasons"]
    )


def test_without_evidence_the_key_is_left_disabled_and_the_alert_says_why(
    world: World, lambda_context: Any
) -> None:
    responder = make_responder(
        world,
        remediation_mode="enforce",
        history=FakeHistory(unavailable="CloudTrail unavailable: AccessDenied"),
    )

    doc = _schedule(world, responder, lambda_context)

    assert doc["remediation"]["outcome"] == "cancelled; left Disabled"
    assert (
        "restore evidence: no record of the key's state before the deletion was scheduled "
        "(CloudTrail unavailable: AccessDenied; the key is not re-enabled on incomplete evidence)"
    ) in doc["remediation"]["reasons"]


@pytest.mark.parametrize(("reenable", "state"), [(True, "Enabled"), (False, "Disabled")])
def test_disabled_key_is_re_enabled_only_when_configured(
    world: World, lambda_context: Any, reenable: bool, state: str
) -> None:
    responder = make_responder(world, remediation_mode="enforce", reenable_disabled_keys=reenable)
    event = world.event("disable_key")
    perform(world, event)

    lambda_handler(event, lambda_context, responder=responder)

    (doc,) = documents(world)
    assert key_state(world) == state
    assert doc["remediation"]["outcome"] == (
        "re-enabled" if reenable else "not needed: re-enabling disabled keys is off (REENABLE_DISABLED_KEYS)"
    )


# ----- loop guard ---------------------------------------------------------------------------------
def test_events_caused_by_the_functions_own_role_are_never_remediated(
    world: World, lambda_context: Any
) -> None:
    responder = make_responder(
        world, remediation_mode="enforce", remediation_scope="all", function_role_arn=OWN_ROLE
    )
    event = by_own_role(world.event("schedule_key_deletion"))

    doc = _schedule(world, responder, lambda_context, event)

    assert doc["remediation"]["outcome"] == "skipped: caused by kms-keyguard (loop guard)"
    assert key_state(world) == "PendingDeletion"


def test_loop_guard_matches_a_role_with_a_path(world: World, lambda_context: Any) -> None:
    role = "arn:aws:iam::123456789012:role/security/kms-keyguard-KeyEventsRole-1A2B3C"
    responder = make_responder(world, remediation_mode="enforce", function_role_arn=role)
    event = by_own_role(world.event("schedule_key_deletion"), role)

    doc = _schedule(world, responder, lambda_context, event)

    assert doc["remediation"]["outcome"].startswith("skipped")


# ----- state-checked, failures reported -----------------------------------------------------------
def test_an_already_cancelled_deletion_is_an_outcome_not_an_error(world: World, lambda_context: Any) -> None:
    import boto3

    responder = make_responder(world, remediation_mode="enforce")
    event = world.event("schedule_key_deletion")
    perform(world, event)
    boto3.client("kms", region_name=world.region).cancel_key_deletion(KeyId=world.key_id)

    lambda_handler(event, lambda_context, responder=responder)

    (doc,) = documents(world)
    assert doc["remediation"]["outcome"] == "already cancelled"
    assert doc["remediation"]["resulting_state"] == "Disabled"


def test_a_denied_cancel_is_reported_and_the_alert_still_goes_out(world: World, lambda_context: Any) -> None:
    from botocore.exceptions import ClientError

    responder = make_responder(world, remediation_mode="enforce")
    kms = responder.clients.client("kms", world.region)

    def deny(**kwargs: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "CancelKeyDeletion")

    kms.meta.events.register("before-call.kms.CancelKeyDeletion", deny)

    doc = _schedule(world, responder, lambda_context)

    assert doc["remediation"]["outcome"] == "failed: AccessDeniedException"
    assert doc["severity"] == "critical"
    assert key_state(world) == "PendingDeletion"


# ----- exactly once -------------------------------------------------------------------------------
def test_three_deliveries_of_one_event_send_one_alert_and_cancel_once(
    world: World, lambda_context: Any
) -> None:
    table = create_table(world.region)
    responder = make_responder(world, remediation_mode="enforce", idempotency_table_name=table)
    cancels = count_calls(responder, world.region, "CancelKeyDeletion")
    event = world.event("schedule_key_deletion")
    perform(world, event)

    receipts = [lambda_handler(event, lambda_context, responder=responder) for _ in range(3)]

    docs = documents(world)
    assert len(docs) == 1
    assert len(cancels) == 1
    assert receipts[0] == receipts[1] == receipts[2]
    assert docs[0]["remediation"]["outcome"] == "cancelled; left Disabled"


def test_a_failed_publish_is_not_recorded_so_the_retry_publishes(world: World, lambda_context: Any) -> None:
    from shared.alerting import SnsPublisher

    table = create_table(world.region)
    real = SnsPublisher(make_responder(world).clients.client("sns", world.region), world.topic_arn)

    class FlakyPublisher:
        attempts = 0

        def publish(self, doc: Any) -> str:
            self.attempts += 1
            if self.attempts == 1:
                raise AlertDeliveryError("SNS unavailable")
            return real.publish(doc)

    responder = make_responder(
        world, remediation_mode="enforce", idempotency_table_name=table, publisher=FlakyPublisher()
    )
    cancels = count_calls(responder, world.region, "CancelKeyDeletion")
    event = world.event("schedule_key_deletion")
    perform(world, event)

    with pytest.raises(AlertDeliveryError):
        lambda_handler(event, lambda_context, responder=responder)
    lambda_handler(event, lambda_context, responder=responder)
    lambda_handler(event, lambda_context, responder=responder)

    docs = documents(world)
    assert len(docs) == 1
    assert len(cancels) == 1
    assert docs[0]["remediation"]["outcome"] == "cancelled (on an earlier delivery of this event)"
    assert docs[0]["severity"] == "high"


def test_without_a_table_every_delivery_is_processed(world: World, lambda_context: Any) -> None:
    responder = make_responder(world, remediation_mode="enforce")
    event = world.event("schedule_key_deletion")
    perform(world, event)

    for _ in range(2):
        lambda_handler(event, lambda_context, responder=responder)

    first, second = documents(world)
    assert first["remediation"]["outcome"] == "cancelled; left Disabled"
    assert second["remediation"]["outcome"] == "cancelled (on an earlier delivery of this event)"


def test_naive_clock_free_timestamps() -> None:
    # The tag value and evidence are rendered in UTC with a Z suffix (no local time leaks in).
    assert (datetime(2026, 11, 29, tzinfo=UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ") == (
        "2026-11-29T01:00:00Z"
    )


def test_an_unparseable_event_is_still_reported_with_a_table(world: World, lambda_context: Any) -> None:
    responder = make_responder(world, idempotency_table_name=create_table(world.region))

    receipt = lambda_handler(["not", "an", "object"], lambda_context, responder=responder)  # type: ignore[arg-type]

    (doc,) = documents(world)
    assert receipt["kind"] == doc["kind"] == "invalid-event"


def test_different_events_for_the_same_key_are_each_processed_once(world: World, lambda_context: Any) -> None:
    from tests.unit.remediation.support import with_event_id

    responder = make_responder(world, idempotency_table_name=create_table(world.region))
    first = world.event("disable_key")
    second = with_event_id(first, "0f0f0f0f-0000-4000-8000-000000000002")

    for event in (first, second, first, second):
        lambda_handler(event, lambda_context, responder=responder)

    assert [d["alert_id"] for d in documents(world)] == [
        first["detail"]["eventID"],
        second["detail"]["eventID"],
    ]


def test_one_cloudtrail_event_delivered_by_two_rules_is_processed_once(
    world: World, lambda_context: Any
) -> None:
    # Given a record that matches two rules: EventBridge gives each delivery its own envelope id
    responder = make_responder(world, idempotency_table_name=create_table(world.region))
    via_key_events = world.event("schedule_key_deletion_failed")
    via_tripwire = {**via_key_events, "id": "another-envelope-id"}

    # When both deliveries arrive
    first = lambda_handler(via_key_events, lambda_context, responder=responder)
    second = lambda_handler(via_tripwire, lambda_context, responder=responder)

    # Then the CloudTrail event id keys the work: one alert
    assert len(documents(world)) == 1
    assert first == second
