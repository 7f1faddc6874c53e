"""An approval counts only when CloudTrail shows it was tagged before the deletion was scheduled, by a
different principal. KMS, SNS and SQS are moto; CloudTrail ``LookupEvents`` (which moto does not
implement) is a botocore Stubber answering in the API's real shape: ``Events[]`` with ``Resources``
and the record itself as a JSON string in ``CloudTrailEvent``
(https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html).
The TagResource records are the samples in ``events/`` (shaped like the KMS guide's example,
https://docs.aws.amazon.com/kms/latest/developerguide/ct-tagresource.html).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from shared.aws import ClientFactory
from shared.history import CloudTrailCalls
from shared.models import CloudTrailRecord
from tests.unit.remediation.support import (
    FakeCalls,
    FakeDiscoverer,
    at,
    documents,
    key_state,
    make_responder,
    tag_key,
    tagged_record,
    valid_until,
)

pytestmark = pytest.mark.integration

APPROVAL = f"CHG-4711 until={valid_until()}"


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        # A protected key (scope tagged covers it) carrying an approval, enforce mode
        world = build_world(with_resources=False, protect=True)
        tag_key(world, {"keyguard:allow-deletion": APPROVAL})
        yield world


def _entry(record: dict[str, Any]) -> dict[str, Any]:
    """One ``LookupEvents`` result as CloudTrail returns it."""
    identity = record["userIdentity"]
    return {
        "EventId": record["eventID"],
        "EventName": record["eventName"],
        "ReadOnly": "false",
        "AccessKeyId": identity.get("accessKeyId", ""),
        "EventTime": datetime.fromisoformat(record["eventTime"].replace("Z", "+00:00")),
        "EventSource": record["eventSource"],
        "Username": identity["arn"].rsplit("/", 1)[-1],
        "Resources": [
            {"ResourceType": "AWS::KMS::Key", "ResourceName": item["ARN"]}
            for item in record.get("resources", [])
        ],
        "CloudTrailEvent": json.dumps(record),
    }


def _tagged(world: World, sample: str, when: datetime) -> dict[str, Any]:
    """The sample TagResource of the approval tag, on this world's key, setting APPROVAL at ``when``."""
    record = tagged_record(world, sample, APPROVAL, when)
    return record.model_dump(mode="json", by_alias=True, exclude_none=True) | {
        "resources": [{"accountId": record.account, "type": "AWS::KMS::Key", "ARN": world.key_arn}],
    }


def _unrelated_tagging(world: World, when: datetime) -> dict[str, Any]:
    """Another service's TagResource (LookupEvents by event name returns every service's)."""
    return {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::123456789012:user/ci",
            "accountId": "123456789012",
        },
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "lambda.amazonaws.com",
        "eventName": "TagResource",
        "awsRegion": world.region,
        "requestParameters": {
            "resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "tags": {"a": "b"},
        },
        "eventID": str(uuid.uuid4()),
        "resources": [],
    }


class Trail:
    """A Stubber-backed CloudTrail client; ``log`` records each LookupEvents call in order."""

    def __init__(self, world: World, log: list[str]) -> None:
        self.client = boto3.client("cloudtrail", region_name=world.region)
        self.stub = Stubber(self.client)
        self.log = log
        self._token: str | None = None

    def page(self, *records: dict[str, Any], token: str | None = None, name: str = "TagResource") -> None:
        """One page of ``LookupEvents`` by event name; ``token`` says another page follows."""
        response: dict[str, Any] = {"Events": [_entry(r) for r in records]}
        expected: dict[str, Any] = {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}],
            "StartTime": ANY,
            "MaxResults": 50,
        }
        if token:
            response["NextToken"] = token
        if self._token:
            expected["NextToken"] = self._token
        self.stub.add_response("lookup_events", response, expected)
        self._token = token

    def throttled(self) -> None:
        self.stub.add_client_error("lookup_events", "ThrottlingException", "Rate exceeded", 400)

    def calls(self) -> CloudTrailCalls:
        self.stub.activate()

        def client_for(region: str, seconds: float) -> Any:
            self.log.append("LookupEvents")
            return self.client

        return CloudTrailCalls(ClientFactory(), client_for=client_for, sleep=lambda seconds: None)


def _schedule(
    world: World, trail: Trail | FakeCalls, lambda_context: Any, when: datetime, **settings: Any
) -> dict[str, Any]:
    calls = trail.calls() if isinstance(trail, Trail) else trail
    responder = make_responder(
        world, remediation_mode="enforce", calls=calls, discoverer=FakeDiscoverer(total=0), **settings
    )
    event = at(world.event("schedule_key_deletion"), when)
    perform(world, event)
    lambda_handler(event, lambda_context, responder=responder)
    (doc,) = documents(world)
    return doc


NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)


def test_tag_resource_of_the_approval_tag_by_the_scheduler_is_cancelled_anyway(
    world: World, lambda_context: Any
) -> None:
    # Given CloudTrail shows the approval was tagged by the role that then schedules the deletion
    trail = Trail(world, [])
    trail.page(_tagged(world, "tag_approval_by_scheduler", NOW - timedelta(days=1)))

    # When the deletion is scheduled, in enforce mode
    doc = _schedule(world, trail, lambda_context, NOW)

    # Then the approval is forged: the deletion is cancelled as if there were none, and the alert says why
    assert doc["remediation"]["outcome"] == "cancelled; left Disabled"
    assert key_state(world) == "Disabled"
    assert doc["approval"]["verification"] == "forged: same principal"
    assert doc["approval"]["honoured"] is False
    note = next(n for n in doc["notes"] if n.startswith("Approval CHG-4711"))
    assert "is forged: tagged by role/ops-admin (alice)" in note
    assert "by the same principal (role/ops-admin (alice))" in note
    assert "it is not honoured" in note
    trail.stub.assert_no_pending_responses()


def test_an_approval_tagged_by_another_principal_before_the_scheduling_is_honoured(
    world: World, lambda_context: Any
) -> None:
    # Given CloudTrail's TagResource records: another service's first, the approver's on the next page
    trail = Trail(world, [])
    trail.page(_unrelated_tagging(world, NOW - timedelta(hours=1)), token="page-2")
    trail.page(_tagged(world, "tag_approval_by_approver", NOW - timedelta(days=1)))

    # When the deletion is scheduled
    doc = _schedule(world, trail, lambda_context, NOW)

    # Then the approval is verified: enforce mode stands aside, and the severity is one lower
    assert doc["remediation"]["outcome"] == "exempt: approved deletion CHG-4711 (verified in CloudTrail)"
    assert key_state(world) == "PendingDeletion"
    assert doc["approval"] == {
        "status": "approved",
        "reference": "CHG-4711",
        "until": valid_until(),
        "verification": "verified",
        "honoured": True,
        "evidence": doc["approval"]["evidence"],
    }
    assert doc["approval"]["evidence"].startswith("tagged by role/keyguard-approver (bob) at ")
    assert doc["approval"]["evidence"].endswith("by role/ops-admin (alice), a different principal")
    assert doc["severity"] == "high"  # a 7-day window is critical; a verified approval lowers it
    assert "the deletion is approved" in doc["notes"][-1]
    trail.stub.assert_no_pending_responses()


def test_a_throttled_lookup_leaves_the_approval_unverified_and_the_deletion_cancelled(
    world: World, lambda_context: Any
) -> None:
    trail = Trail(world, [])
    trail.throttled()

    doc = _schedule(world, trail, lambda_context, NOW)

    assert doc["remediation"]["outcome"] == "cancelled; left Disabled"
    assert doc["approval"]["verification"] == "unverified"
    assert (
        "CloudTrail lookup failed after 0 TagResource records: ThrottlingException"
        in doc["approval"]["evidence"]
    )
    assert doc["severity"] == "high"  # critical, one lower for the averted danger, none for the approval
    assert "the deletion is approved" not in doc["notes"][-1]


def test_an_approval_cloudtrail_does_not_show_yet_is_unverified(world: World, lambda_context: Any) -> None:
    trail = Trail(world, [])
    trail.page(_unrelated_tagging(world, NOW - timedelta(hours=1)))

    doc = _schedule(world, trail, lambda_context, NOW)

    assert key_state(world) == "Disabled"
    assert doc["approval"]["verification"] == "unverified"
    assert (
        "CloudTrail shows no TagResource that set this value on the key (none among 1"
        in doc["approval"]["evidence"]
    )


def test_an_approval_tagged_after_the_scheduling_is_not_honoured(world: World, lambda_context: Any) -> None:
    # Given the tagging came after the deletion was scheduled (with the key Disabled in between)
    trail = Trail(world, [])
    trail.page(_tagged(world, "tag_approval_by_approver", NOW + timedelta(seconds=30)))

    doc = _schedule(world, trail, lambda_context, NOW)

    assert key_state(world) == "Disabled"
    assert doc["approval"]["verification"] == "tagged after scheduling"


def test_an_approval_tagged_too_long_before_its_expiry_is_invalid(world: World, lambda_context: Any) -> None:
    # Given the approval was tagged 31 days before its expiry (ApprovalMaxDays 30): the lookup starts
    # a day before the earliest valid tagging, and the day of the record decides
    trail = Trail(world, [])
    tagged = datetime.fromisoformat(valid_until()).replace(tzinfo=UTC) - timedelta(days=30, hours=12)
    trail.page(_tagged(world, "tag_approval_by_approver", tagged))

    doc = _schedule(world, trail, lambda_context, NOW)

    assert key_state(world) == "Disabled"
    assert doc["approval"]["status"] == "malformed"
    assert any(f"is 31 days after it was tagged on {tagged.date()}" in n for n in doc["notes"])


def test_verification_reads_before_standing_aside_and_cancel_stays_the_first_mutating_call(
    world: World, lambda_context: Any
) -> None:
    # Given a forged approval and a log of every call
    log: list[str] = []
    trail = Trail(world, log)
    trail.page(_tagged(world, "tag_approval_by_scheduler", NOW - timedelta(days=1)))
    calls = trail.calls()
    responder = make_responder(world, remediation_mode="enforce", calls=calls, discoverer=FakeDiscoverer())
    kms = responder.clients.client("kms", world.region)
    for operation in ("CancelKeyDeletion", "EnableKey", "TagResource"):
        kms.meta.events.register(
            f"before-call.kms.{operation}", lambda op=operation, **kwargs: log.append(op)
        )
    event = at(world.event("schedule_key_deletion"), NOW)
    perform(world, event)

    # When the deletion is scheduled
    lambda_handler(event, lambda_context, responder=responder)

    # Then CloudTrail is read first (reads only), and cancelling is the first mutating call
    assert log[0] == "LookupEvents"
    mutating = [call for call in log if call != "LookupEvents"]
    assert mutating[0] == "CancelKeyDeletion"
    assert log.index("CancelKeyDeletion") > max(i for i, call in enumerate(log) if call == "LookupEvents")


def test_no_approval_no_lookup(world: World, lambda_context: Any) -> None:
    # Given a key without an approval tag: nothing to verify, nothing looked up
    boto3.client("kms", region_name=world.region).untag_resource(
        KeyId=world.key_id, TagKeys=["keyguard:allow-deletion"]
    )
    calls = FakeCalls()

    doc = _schedule(world, calls, lambda_context, NOW)

    assert calls.asked == []
    assert doc["approval"] is None
    assert doc["remediation"]["outcome"] == "cancelled; left Disabled"


def test_a_tripwire_looks_up_the_scheduling_and_honours_a_verified_approval(
    world: World, lambda_context: Any
) -> None:
    # Given a key pending deletion, scheduled by ops-admin after an approver tagged the approval
    boto3.client("kms", region_name=world.region).schedule_key_deletion(
        KeyId=world.key_id, PendingWindowInDays=7
    )
    schedule = at(world.event("schedule_key_deletion"), NOW - timedelta(hours=1))
    calls = FakeCalls(
        [
            CloudTrailRecord.model_validate(schedule["detail"]),
            tagged_record(world, "tag_approval_by_approver", APPROVAL, NOW - timedelta(days=1)),
        ]
    )
    responder = make_responder(world, remediation_mode="enforce", remediation_scope="all", calls=calls)

    # When a workload's Decrypt fails on it
    lambda_handler(world.event("tripwire_decrypt"), lambda_context, responder=responder)

    # Then the scheduling and the tagging were both looked up, and the approval is honoured
    (doc,) = documents(world)
    assert calls.asked == ["ScheduleKeyDeletion", "TagResource"]
    assert doc["remediation"]["outcome"] == "exempt: approved deletion CHG-4711 (verified in CloudTrail)"
    assert key_state(world) == "PendingDeletion"
    assert doc["severity"] == "critical"  # an approval never lowers a tripwire
