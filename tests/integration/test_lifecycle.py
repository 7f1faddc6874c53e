"""Following the key after the first alert, under moto: follow-ups, the final deletion notice,
imported material, policy changes, the tripwire and the daily reminders. Each alert is read back
from the SQS queue subscribed to the alert topic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers import reminders as reminders_handler
from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from shared.aws import ClientFactory
from shared.config import Settings
from shared.errors import AlertDeliveryError, ConfigurationError
from shared.journal import DynamoJournal, MemoryJournal
from shared.reminders import Reminders, parse_reminder_days
from tests.unit.remediation.support import (
    FakeDiscoverer,
    create_table,
    documents,
    key_state,
    make_responder,
    tag_key,
    valid_until,
    with_event_id,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False)


def _kms(world: World) -> Any:
    return boto3.client("kms", region_name=world.region)


def _send(world: World, responder: Any, context: Any, event: dict[str, Any]) -> dict[str, Any]:
    return dict(lambda_handler(event, context, responder=responder))


# ----- resolved follow-ups ------------------------------------------------------------------------
def test_a_cancelled_deletion_with_the_key_still_disabled_is_a_medium_follow_up_not_resolved(
    world: World, lambda_context: Any
) -> None:
    # Given a scheduled deletion someone then cancelled by hand
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)
    _kms(world).cancel_key_deletion(KeyId=world.key_id)
    responder = make_responder(world, remediation_mode="enforce", discoverer=FakeDiscoverer(total=3))

    # When the CancelKeyDeletion event arrives
    _send(world, responder, lambda_context, world.event("cancel_key_deletion"))

    # Then the notice says the key is still Disabled (not "resolved"), at medium severity
    (doc,) = documents(world)
    assert doc["kind"] == "alert"
    assert doc["severity"] == "medium"
    assert doc["key"]["arn"] == world.key_arn
    assert doc["key"]["state"] == "Disabled"
    assert doc["actor"]["principal"] == "role/ops-admin"
    assert doc["summary"] == (
        "MEDIUM 123456789012 us-east-1: key alias/payments (+1 alias) deletion cancelled, key still Disabled "
        "by role/ops-admin (alice)"
    )
    assert doc["next_steps"][0] == "The deletion is cancelled but the key is still Disabled."
    assert any(
        f"aws kms enable-key --key-id {world.key_id} --region us-east-1" in s for s in doc["next_steps"]
    )
    assert doc["remediation"]["outcome"] == "not needed: follow-up event"
    assert responder.discoverer.calls == []  # type: ignore[attr-defined]  # no search for a follow-up


def test_a_re_enabled_key_is_a_resolved_follow_up(world: World, lambda_context: Any) -> None:
    responder = make_responder(world)

    _send(world, responder, lambda_context, world.event("enable_key"))

    (doc,) = documents(world)
    assert (doc["kind"], doc["severity"], doc["key"]["state"]) == ("resolved", "low", "Enabled")
    assert "resolved: re-enabled, the key is Enabled by role/ops-admin (alice)" in doc["summary"]


def test_the_chat_card_threads_every_notice_on_the_key_arn(world: World, lambda_context: Any) -> None:
    from shared.alerting import render_chat
    from shared.document import AlertDocument

    responder = make_responder(world)
    _send(world, responder, lambda_context, world.event("enable_key"))

    (doc,) = documents(world)
    card = render_chat(AlertDocument.model_validate(doc))
    assert card["metadata"]["threadId"] == world.key_arn


# ----- the key is deleted -------------------------------------------------------------------------
def test_the_final_deletion_notice_lists_last_known_and_still_named_dependencies(
    world: World, lambda_context: Any
) -> None:
    # Given the scheduling alert found 3 dependencies (one named the key by alias), and a table
    table = create_table(world.region)
    discoverer = FakeDiscoverer(total=3, after_deletion=1)
    responder = make_responder(world, idempotency_table_name=table, discoverer=discoverer)
    schedule = world.event("schedule_key_deletion")
    perform(world, schedule)
    _send(world, responder, lambda_context, schedule)
    documents(world)

    # When KMS reports the deletion complete (a fresh container: the journal is in the table)
    fresh = make_responder(world, idempotency_table_name=table, discoverer=discoverer)
    receipt = _send(world, fresh, lambda_context, world.event("key_deleted"))

    # Then one "deleted" notice merges the re-run search (by id/ARN) with the last known list
    (doc,) = documents(world)
    assert receipt["kind"] == "deleted"
    assert doc["kind"] == "deleted"
    assert doc["alert_id"] == "e9ce3425-7d22-412a-a699-e7a5fc3fbc9a"
    assert doc["severity"] == "critical"
    assert doc["key"]["arn"] == world.key_arn
    assert doc["key"]["state"] == "Deleted"
    assert doc["dependencies"]["total"] == 3
    evidence = [item["evidence"] for item in doc["dependencies"]["items"]]
    assert evidence[0] == "KmsKeyId names the key"
    assert all(e.startswith("last known on ") for e in evidence[1:])
    assert discoverer.calls[-1].aliases == frozenset()  # searched by key id and ARN only


def test_a_deletion_with_nothing_known_is_medium(world: World, lambda_context: Any) -> None:
    responder = make_responder(world)

    _send(world, responder, lambda_context, world.event("key_deleted"))

    (doc,) = documents(world)
    assert (doc["kind"], doc["severity"], doc["dependencies"]["total"]) == ("deleted", "medium", 0)
    assert "No dependency list was recorded for this key while it existed." in doc["notes"]


def test_a_malformed_deletion_event_is_reported_not_dropped(world: World, lambda_context: Any) -> None:
    event = world.event("key_deleted")
    del event["detail"]["key-id"]

    _send(world, make_responder(world), lambda_context, event)

    (doc,) = documents(world)
    assert doc["kind"] == "invalid-event"


# ----- imported key material ----------------------------------------------------------------------
def test_deleting_imported_key_material_is_critical(world: World, lambda_context: Any) -> None:
    responder = make_responder(world, remediation_mode="enforce", remediation_scope="all")

    _send(world, responder, lambda_context, world.event("delete_imported_key_material"))

    (doc,) = documents(world)
    assert doc["severity"] == "critical"
    assert doc["kind"] == "alert"
    assert doc["title"].startswith("KMS imported key material deleted from key alias/")
    assert doc["remediation"]["outcome"] == "not needed: no remediation applies to DeleteImportedKeyMaterial"


# ----- key policy changes -------------------------------------------------------------------------
GOOD_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                "Action": "kms:*",
                "Resource": "*",
            }
        ],
    }
)


def _policy_event(world: World, policy: str | None) -> dict[str, Any]:
    event = world.event("put_key_policy")
    if policy is None:
        del event["detail"]["requestParameters"]["policy"]
    else:
        event["detail"]["requestParameters"]["policy"] = policy
    return event


@pytest.mark.parametrize(
    ("policy", "severity", "note"),
    [
        (
            None,
            "high",
            "Key policy check: the new key policy still allows kms:CancelKeyDeletion and kms:EnableKey "
            "to the account.",
        ),
        (GOOD_POLICY, "high", "Key policy check: the new key policy still allows kms:CancelKeyDeletion"),
        ('{"Version":"2012-10-17","Statement":[]}', "critical", "Key policy check: no statement allows"),
    ],
    ids=["read-back", "still-cancellable", "locked-out"],
)
def test_a_policy_change_on_a_key_pending_deletion_checks_for_lock_out(
    world: World, lambda_context: Any, policy: str | None, severity: str, note: str
) -> None:
    # Given a key pending deletion (its policy read back with GetKeyPolicy when the event omits it)
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)

    _send(world, make_responder(world), lambda_context, _policy_event(world, policy))

    (doc,) = documents(world)
    assert doc["severity"] == severity
    assert any(n.startswith(note) for n in doc["notes"]), doc["notes"]


def test_a_policy_change_on_a_disabled_key_is_high(world: World, lambda_context: Any) -> None:
    _kms(world).disable_key(KeyId=world.key_id)

    _send(world, make_responder(world), lambda_context, _policy_event(world, GOOD_POLICY))

    (doc,) = documents(world)
    assert doc["severity"] == "high"
    assert doc["title"] == "KMS key policy of alias/payments changed while the key is Disabled"


def test_a_policy_change_on_a_usable_key_is_not_published(world: World, lambda_context: Any) -> None:
    receipt = _send(world, make_responder(world), lambda_context, _policy_event(world, GOOD_POLICY))

    assert receipt["message_id"] is None
    assert documents(world) == []


@pytest.mark.parametrize(
    "policy",
    [
        '{"Version":"2012-10-17","Statement":[]}',
        # Cancelling leaves the key Disabled: a policy that lets nobody enable it locks it out too.
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::'
        '123456789012:root"},"Action":["kms:CancelKeyDeletion","kms:ScheduleKeyDeletion","kms:Describe*"],'
        '"Resource":"*"}]}',
    ],
    ids=["empty", "cancel-without-enable"],
)
def test_a_lock_out_staged_on_a_usable_key_is_alerted_at_once(
    world: World, lambda_context: Any, policy: str
) -> None:
    # Given a key that is still Enabled, and a new policy that no longer lets the account put it back
    _send(world, make_responder(world), lambda_context, _policy_event(world, policy))

    # Then the change is alerted now, before the key is scheduled or disabled
    (doc,) = documents(world)
    assert doc["key"]["state"] == "Enabled"
    assert doc["severity"] == "critical"
    assert any(note.startswith("Key policy check: ") for note in doc["notes"])


# ----- tripwire -----------------------------------------------------------------------------------
def _tripwire(world: World, n: int) -> dict[str, Any]:
    return with_event_id(world.event("tripwire_decrypt"), f"8a9b0c1d-2e3f-4a4b-9c5d-00000000000{n}")


def test_a_call_failing_on_a_key_pending_deletion_is_a_critical_tripwire(
    world: World, lambda_context: Any
) -> None:
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)

    _send(world, make_responder(world), lambda_context, world.event("tripwire_decrypt"))

    (doc,) = documents(world)
    assert doc["kind"] == "tripwire"
    assert doc["severity"] == "critical"
    assert any(n.startswith("Tripwire: Decrypt by secretsmanager.amazonaws.com failed") for n in doc["notes"])
    assert (
        "Encryption context of the failed call: "
        "SecretARN=arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/db-password-AbCdEf, "
        "SecretVersionId=EXAMPLE1-90ab-cdef-fedc-ba987EXAMPLE."
    ) in doc["notes"]
    assert doc["remediation"]["outcome"] == "remediation is off"


@pytest.mark.parametrize(
    ("scope", "cancelled"), [("with-dependencies", True), ("all", True), ("tagged", False)]
)
def test_in_enforce_mode_a_tripwire_cancels_the_deletion(
    world: World, lambda_context: Any, scope: str, cancelled: bool
) -> None:
    _kms(world).untag_resource(KeyId=world.key_id, TagKeys=["keyguard:protect"])
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)
    responder = make_responder(world, remediation_mode="enforce", remediation_scope=scope)

    _send(world, responder, lambda_context, world.event("tripwire_decrypt"))

    (doc,) = documents(world)
    assert doc["remediation"]["outcome"].startswith("cancelled") is cancelled
    assert key_state(world) == ("Disabled" if cancelled else "PendingDeletion")
    assert doc["severity"] == ("high" if cancelled else "critical")


def test_an_unverified_approval_does_not_stop_a_tripwire_from_cancelling(
    world: World, lambda_context: Any
) -> None:
    # Given an approval CloudTrail cannot confirm (the tripwire's own approval test, verified, is in
    # test_approval_verification.py)
    tag_key(world, {"keyguard:allow-deletion": f"CHG-4711 until={valid_until()}"})
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)
    responder = make_responder(world, remediation_mode="enforce", remediation_scope="all")

    _send(world, responder, lambda_context, world.event("tripwire_decrypt"))

    (doc,) = documents(world)
    assert doc["remediation"]["outcome"].startswith("cancelled")
    assert key_state(world) == "Disabled"
    assert doc["approval"]["verification"] == "unverified"
    assert "the ScheduleKeyDeletion call could not be found in CloudTrail" in doc["approval"]["evidence"]


@pytest.mark.parametrize("with_table", [True, False], ids=["table", "in-memory"])
def test_a_flood_of_tripwire_events_is_coalesced_to_one_alert_per_key_per_hour(
    world: World, lambda_context: Any, with_table: bool
) -> None:
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)
    clock = {"now": datetime(2026, 11, 29, 12, 0, tzinfo=UTC)}
    settings: dict[str, Any] = {"idempotency_table_name": create_table(world.region)} if with_table else {}
    responder = make_responder(world, now=lambda: clock["now"], **settings)
    discoverer = responder.discoverer

    receipts = [_send(world, responder, lambda_context, _tripwire(world, n)) for n in range(5)]
    first_hour = documents(world)
    clock["now"] += timedelta(minutes=61)
    _send(world, responder, lambda_context, _tripwire(world, 6))

    assert len(first_hour) == 1
    assert [r["message_id"] is None for r in receipts] == [False, True, True, True, True]
    assert len(documents(world)) == 1  # the next hour opens a new window
    assert len(discoverer.calls) == 2  # type: ignore[attr-defined]  # coalesced events search nothing


def test_a_failed_tripwire_publish_frees_the_window_for_the_retry(world: World, lambda_context: Any) -> None:
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)

    class Down:
        def publish(self, doc: Any) -> str:
            raise AlertDeliveryError("SNS unavailable")

    table = create_table(world.region)
    journal = DynamoJournal(ClientFactory(), table)
    failing = make_responder(world, journal=journal, publisher=Down())
    with pytest.raises(AlertDeliveryError):
        _send(world, failing, lambda_context, _tripwire(world, 1))

    _send(world, make_responder(world, journal=journal), lambda_context, _tripwire(world, 1))

    assert len(documents(world)) == 1


def test_an_invalid_state_failure_on_a_usable_key_is_not_a_tripwire(
    world: World, lambda_context: Any
) -> None:
    receipt = _send(world, make_responder(world), lambda_context, world.event("tripwire_decrypt"))

    assert receipt["message_id"] is None
    assert documents(world) == []


# ----- reminders ----------------------------------------------------------------------------------
def _deletion_date(world: World) -> datetime:
    metadata = _kms(world).describe_key(KeyId=world.key_id)["KeyMetadata"]
    value: datetime = metadata["DeletionDate"]
    return value.astimezone(UTC)


def _reminders(world: World, now: datetime, **kwargs: Any) -> Reminders:
    settings = Settings(alert_topic_arn=world.topic_arn, **kwargs.pop("settings", {}))
    return Reminders(settings, ClientFactory(), now=lambda: now, **kwargs)


@pytest.mark.parametrize(
    ("hours_before", "days", "severity"),
    [(60, 3, "high"), (12, 1, "critical")],
    ids=["3-days", "1-day"],
)
def test_reminders_are_sent_3_days_and_1_day_before_deletion(
    world: World, hours_before: int, days: int, severity: str
) -> None:
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)
    now = _deletion_date(world) - timedelta(hours=hours_before)

    result = _reminders(world, now).run(world.region)

    (doc,) = documents(world)
    assert result == {"examined": 2, "due": 1, "sent": 1, "already_sent": 0}
    assert doc["kind"] == "reminder"
    assert doc["severity"] == severity
    assert doc["key"]["arn"] == world.key_arn
    assert doc["key"]["days_until_deletion"] == days
    assert (
        doc["next_steps"][0]
        == f"To keep the key: aws kms cancel-key-deletion --key-id {world.key_id} --region us-east-1"
        " (this leaves it Disabled)"
    )


def test_no_reminder_on_other_days(world: World) -> None:
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)
    now = _deletion_date(world) - timedelta(hours=36)  # 2 days away

    assert _reminders(world, now).run(world.region)["sent"] == 0
    assert documents(world) == []


def test_at_most_one_reminder_per_key_per_day(world: World) -> None:
    table = create_table(world.region)
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)
    # Two runs an hour apart on the same UTC day, both three days before the deletion (whatever
    # the time of day the test runs at: the marker is per date)
    deletion = _deletion_date(world)
    window_start = deletion - timedelta(hours=72)
    midnight = (deletion - timedelta(hours=48)).replace(hour=0, minute=0, second=0, microsecond=0)
    now = midnight - timedelta(hours=2) if midnight - timedelta(hours=2) > window_start else midnight

    # A second run an hour apart on the same UTC day (the marker is per day), whatever the clock says.
    later = (
        now + timedelta(hours=1)
        if (now + timedelta(hours=1)).date() == now.date()
        else now - timedelta(hours=1)
    )
    first = _reminders(world, now, settings={"idempotency_table_name": table}).run(world.region)
    again = _reminders(world, later, settings={"idempotency_table_name": table}).run(world.region)

    assert (first["sent"], again["sent"], again["already_sent"]) == (1, 0, 1)
    assert len(documents(world)) == 1


def test_reminders_include_the_last_known_dependencies_and_approval(
    world: World, lambda_context: Any
) -> None:
    journal = MemoryJournal()
    tag_key(world, {"keyguard:allow-deletion": f"CHG-4711 until={valid_until()}"})
    responder = make_responder(world, journal=journal, discoverer=FakeDiscoverer(total=2))
    schedule = world.event("schedule_key_deletion")
    perform(world, schedule)
    _send(world, responder, lambda_context, schedule)
    documents(world)
    now = _deletion_date(world) - timedelta(hours=12)

    _reminders(world, now, journal=journal).run(world.region)

    (doc,) = documents(world)
    assert doc["dependencies"]["total"] == 2
    assert (
        f"Approval CHG-4711 (valid until {valid_until()}) on the key, not verified (reminders do not look "
        "approvals up in CloudTrail)."
    ) in doc["notes"]
    assert doc["severity"] == "critical"  # 1 day away; an approval not verified lowers nothing


def test_the_reminder_handler_reads_its_days_from_the_environment(
    world: World, lambda_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _kms(world).schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)
    monkeypatch.setenv("ALERT_TOPIC_ARN", world.topic_arn)
    monkeypatch.setenv("REMINDER_DAYS", "7")

    result = reminders_handler.lambda_handler({"detail-type": "Scheduled Event"}, lambda_context)

    assert result["sent"] == 1
    assert documents(world)[0]["key"]["days_until_deletion"] == 7


@pytest.mark.parametrize(
    ("raw", "days"), [(None, (3, 1)), ("3,1", (3, 1)), ("1, 3, 3", (3, 1)), ("7", (7,)), ("0", (0,))]
)
def test_reminder_days(raw: str | None, days: tuple[int, ...]) -> None:
    assert parse_reminder_days(raw) == days


@pytest.mark.parametrize("raw", ["three", "3;1", "31", "-1", ","])
def test_bad_reminder_days_fail_fast(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="REMINDER_DAYS"):
        parse_reminder_days(raw)
