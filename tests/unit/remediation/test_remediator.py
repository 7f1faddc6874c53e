"""Failure paths moto cannot produce: Stubber-driven KMS and CloudTrail answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.stub import ANY, Stubber

from shared.aws import ClientFactory
from shared.config import Settings
from shared.document import DependenciesSection
from shared.key_inventory import KeySnapshot
from shared.models import CloudTrailRecord
from shared.policy import Transition
from shared.remediation import ACTIONS, CloudTrailHistory, Remediator, bounded_cloudtrail, danger_averted
from tests.unit.remediation.support import FakeHistory

KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:us-east-1:123456789012:key/{KEY_ID}"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alerts"
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
DEPS = DependenciesSection(complete=True, total=1)


def record(name: str = "ScheduleKeyDeletion", **extra: Any) -> CloudTrailRecord:
    return CloudTrailRecord.model_validate(
        {"eventName": name, "eventID": "evt-1", "eventTime": "2026-11-29T11:00:00Z", **extra}
    )


def snapshot(state: str = "PendingDeletion", **tags: str) -> KeySnapshot:
    return KeySnapshot(
        reference=KEY_ARN,
        region="us-east-1",
        readable=True,
        arn=KEY_ARN,
        key_id=KEY_ID,
        state=state,
        manager="CUSTOMER",
        tags={"keyguard:protect": "true", **tags},
    )


def described(state: str) -> dict[str, Any]:
    return {"KeyMetadata": {"KeyId": KEY_ID, "Arn": KEY_ARN, "KeyState": state}}


def remediator(history: Any = None, **settings: Any) -> tuple[Remediator, Any]:
    clients = ClientFactory()
    config = Settings(alert_topic_arn=TOPIC, remediation_mode=settings.pop("mode", "enforce"), **settings)
    return Remediator(config, clients, history=history or FakeHistory(), now=lambda: NOW), clients.client(
        "kms", "us-east-1"
    )


def test_mutating_calls_use_the_key_id_never_the_arn() -> None:
    subject, kms = remediator()
    with Stubber(kms) as stub:
        stub.add_response("describe_key", described("PendingDeletion"), {"KeyId": KEY_ID})
        stub.add_response("cancel_key_deletion", {"KeyId": KEY_ARN}, {"KeyId": KEY_ID})
        stub.add_response("tag_resource", {}, {"KeyId": KEY_ID, "Tags": ANY})
        stub.add_response("describe_key", described("Disabled"), {"KeyId": KEY_ID})

        result = subject.remediate(record(), snapshot(), DEPS)

    assert result.outcome == "cancelled; left Disabled"
    assert danger_averted(result)


def test_a_deletion_cancelled_by_someone_else_meanwhile_is_already_cancelled() -> None:
    subject, kms = remediator()
    with Stubber(kms) as stub:
        stub.add_response("describe_key", described("PendingDeletion"))
        stub.add_client_error("cancel_key_deletion", "KMSInvalidStateException")
        stub.add_response("describe_key", described("Disabled"))

        result = subject.remediate(record(), snapshot(), DEPS)

    assert (result.outcome, result.resulting_state) == ("already cancelled", "Disabled")
    assert not danger_averted(result)


@pytest.mark.parametrize("code", ["AccessDeniedException", "NotFoundException", "DependencyTimeoutException"])
def test_a_failed_cancel_is_reported_never_raised(code: str) -> None:
    subject, kms = remediator()
    with Stubber(kms) as stub:
        stub.add_response("describe_key", described("PendingDeletion"))
        stub.add_client_error("cancel_key_deletion", code)
        stub.add_response("describe_key", described("PendingDeletion"))

        result = subject.remediate(record(), snapshot(), DEPS)

    assert result.outcome == f"failed: {code}"
    assert result.resulting_state == "PendingDeletion"
    assert not danger_averted(result)


def test_a_failed_re_enable_after_a_cancel_still_counts_the_cancel() -> None:
    history = FakeHistory(
        [Transition(datetime(2026, 11, 1, tzinfo=UTC), "Enabled", "CreateKey", "CloudTrail")]
    )
    subject, kms = remediator(history)
    with Stubber(kms) as stub:
        stub.add_response("describe_key", described("PendingDeletion"))
        stub.add_response("cancel_key_deletion", {"KeyId": KEY_ARN})
        stub.add_client_error("enable_key", "AccessDeniedException")
        stub.add_client_error("tag_resource", "AccessDeniedException")
        stub.add_response("describe_key", described("Disabled"))

        result = subject.remediate(record(), snapshot(), DEPS)

    assert result.outcome == "cancelled; re-enable failed: AccessDeniedException"
    assert "the keyguard:last-intervention tag could not be written: AccessDeniedException" in result.reasons
    assert danger_averted(result)


def test_an_unreadable_key_at_action_time_is_a_failure_not_a_crash() -> None:
    subject, kms = remediator()
    with Stubber(kms) as stub:
        stub.add_client_error("describe_key", "AccessDeniedException")

        result = subject.remediate(record(), snapshot(), DEPS)

    assert result.outcome == "failed: the key could not be re-read: AccessDeniedException"


def test_dry_run_calls_nothing_that_mutates() -> None:
    subject, kms = remediator(mode="dry-run", reenable_disabled_keys=True)
    with Stubber(kms) as stub:
        stub.add_response("describe_key", described("Disabled"))

        result = subject.remediate(record("DisableKey"), snapshot("Disabled"), DEPS)

    assert result.outcome == "would re-enable the key"
    assert result.reasons[-2:] == [
        f"dry-run: would call EnableKey --key-id {KEY_ID}",
        "dry-run: would tag keyguard:last-intervention=enable-key 2026-11-29T12:00:00Z event evt-1",
    ]
    assert not danger_averted(result)


def test_the_declared_actions_are_the_ones_called() -> None:
    assert set(ACTIONS) == {
        "kms:DescribeKey",
        "kms:CancelKeyDeletion",
        "kms:EnableKey",
        "kms:TagResource",
        "cloudtrail:LookupEvents",
    }


# ----- CloudTrail history -----------------------------------------------------------------------
def trail(name: str, when: datetime, error: str | None = None, key: str = KEY_ARN) -> dict[str, Any]:
    """A LookupEvents result entry, as CloudTrail returns it."""
    detail = {"eventName": name, **({"errorCode": error} if error else {})}
    return {
        "EventId": f"id-{name}-{when:%H%M}",
        "EventName": name,
        "EventTime": when,
        "Resources": [{"ResourceType": "AWS::KMS::Key", "ResourceName": key}],
        "CloudTrailEvent": json.dumps(detail),
    }


def _by_name(stub: Stubber, name: str, events: list[dict[str, Any]]) -> None:
    stub.add_response(
        "lookup_events",
        {"Events": events},
        {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}],
            "StartTime": ANY,
            "EndTime": ANY,
            "MaxResults": 50,
        },
    )


def test_cloudtrail_history_looks_up_by_event_name_and_keeps_this_keys_successful_changes() -> None:
    # Given CloudTrail's DisableKey, EnableKey and CancelKeyDeletion events of the account
    client = ClientFactory().client("cloudtrail", "us-east-1")
    before = datetime(2026, 11, 28, 9, 14, 3, tzinfo=UTC)
    other = KEY_ARN.replace("1234abcd", "99999999")
    with Stubber(client) as stub:
        _by_name(
            stub,
            "DisableKey",
            [
                trail("DisableKey", datetime(2026, 11, 28, 9, 0, tzinfo=UTC), key=other),
                trail("DisableKey", datetime(2026, 11, 28, 8, 0, tzinfo=UTC), error="AccessDeniedException"),
            ],
        )
        _by_name(stub, "EnableKey", [trail("EnableKey", datetime(2026, 11, 27, tzinfo=UTC))])
        _by_name(stub, "CancelKeyDeletion", [])

        history = CloudTrailHistory(ClientFactory(), client_for=lambda region, seconds: client)
        found, unavailable = history.transitions(KEY_ARN, "us-east-1", before)

    # Then only this key's successful changes count, one lookup per name (never by resource)
    assert unavailable is None
    assert [(t.event_name, t.state) for t in found] == [("EnableKey", "Enabled")]


def test_cloudtrail_unavailable_is_reported() -> None:
    client = ClientFactory().client("cloudtrail", "us-east-1")
    with Stubber(client) as stub:
        stub.add_client_error("lookup_events", "AccessDeniedException")

        history = CloudTrailHistory(ClientFactory(), client_for=lambda region, seconds: client)
        found, unavailable = history.transitions(KEY_ARN, "us-east-1", NOW)

    assert (found, unavailable) == ([], "CloudTrail unavailable: AccessDeniedException")


def test_a_lookup_that_takes_30_seconds_cannot_push_past_the_deadline() -> None:
    # Given a fake clock, 20 s left before the deadline, and a CloudTrail whose first lookup takes 30 s
    clock = [100.0]
    deadline = clock[0] + 20
    client = ClientFactory().client("cloudtrail", "us-east-1")
    asked: list[float] = []

    class Slow:
        """The stubbed client, each lookup taking 30 s of the fake clock."""

        def lookup_events(self, **kwargs: Any) -> Any:
            clock[0] += 30
            return client.lookup_events(**kwargs)

    def client_for(region: str, seconds: float) -> Any:
        asked.append(seconds)
        return Slow()

    with Stubber(client) as stub:
        _by_name(stub, "DisableKey", [])
        history = CloudTrailHistory(ClientFactory(), monotonic=lambda: clock[0], client_for=client_for)

        # When the history is read within the deadline
        found, unavailable = history.transitions(KEY_ARN, "us-east-1", NOW, deadline)

    # Then the one call was bounded by the time left (its client's timeouts), no further lookup was
    # started once the budget was spent, and the history says it is incomplete
    assert asked == [pytest.approx(10.0)]  # min(20 s left, the 10 s cap)
    assert found == []
    assert unavailable == "CloudTrail lookup stopped: the time budget is spent"


def test_no_lookup_starts_without_enough_time() -> None:
    asked: list[float] = []
    history = CloudTrailHistory(
        ClientFactory(), monotonic=lambda: 100.0, client_for=lambda region, seconds: asked.append(seconds)
    )

    found, unavailable = history.transitions(KEY_ARN, "us-east-1", NOW, deadline=100.5)

    assert (found, asked) == ([], [])
    assert unavailable == "CloudTrail lookup stopped: the time budget is spent"


def test_the_bounded_client_cannot_outlast_the_time_left() -> None:
    client = bounded_cloudtrail(ClientFactory(), "us-east-1", 4.0)
    config = client.meta.config
    assert config.read_timeout == 4.0
    assert config.connect_timeout <= 2.0
    assert config.retries["total_max_attempts"] == 1  # the one call, no retry
