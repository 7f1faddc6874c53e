"""``history.CloudTrailCalls``: the newest call of one name on one key, read page by page within a
deadline and LookupEvents' 2 calls a second. CloudTrail is a botocore Stubber answering in the API's
shape (moto does not implement LookupEvents): the record is a JSON string in ``CloudTrailEvent``
(https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from shared.aws import ClientFactory
from shared.history import LOOKUP_PACE_SECONDS, CloudTrailCalls

KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER = "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
SINCE = datetime(2026, 11, 1, tzinfo=UTC)


def _event(key: str, when: str, **record: Any) -> dict[str, Any]:
    detail = {
        "eventTime": when,
        "eventSource": "kms.amazonaws.com",
        "eventName": "TagResource",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/bob"},
        "requestParameters": {
            "keyId": key,
            "tags": [{"tagKey": "keyguard:allow-deletion", "tagValue": "CHG-1"}],
        },
        "resources": [{"accountId": "111122223333", "type": "AWS::KMS::Key", "ARN": key}],
        **record,
    }
    return {
        "EventId": when,
        "EventName": "TagResource",
        "EventTime": datetime.fromisoformat(when.replace("Z", "+00:00")),
        "EventSource": detail["eventSource"],
        "Resources": [{"ResourceType": "AWS::KMS::Key", "ResourceName": key}],
        "CloudTrailEvent": json.dumps(detail),
    }


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _calls(
    pages: list[dict[str, Any]], clock: Clock, log: list[float], max_pages: int = 20
) -> tuple[CloudTrailCalls, Stubber]:
    client = boto3.client("cloudtrail", region_name="us-east-1")
    stub = Stubber(client)
    token = None
    for page in pages:
        expected: dict[str, Any] = {
            "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "TagResource"}],
            "StartTime": SINCE,
            "MaxResults": 50,
        }
        if token:
            expected["NextToken"] = token
        stub.add_response("lookup_events", page, expected)
        token = page.get("NextToken")
    stub.activate()

    def client_for(region: str, seconds: float) -> Any:
        log.append(seconds)
        return client

    calls = CloudTrailCalls(
        ClientFactory(),
        monotonic=lambda: clock.now,
        sleep=clock.sleep,
        client_for=client_for,
        max_pages=max_pages,
    )
    return calls, stub


def test_the_newest_successful_call_on_the_key_is_found_across_pages_at_two_a_second() -> None:
    # Given a page with another key's call and a failed call on the key, then the key's call
    clock, log = Clock(), []
    calls, stub = _calls(
        [
            {
                "Events": [
                    _event(OTHER, "2026-11-28T10:00:00Z"),
                    _event(KEY, "2026-11-28T09:00:00Z", errorCode="AccessDeniedException"),
                ],
                "NextToken": "t-2",
            },
            {"Events": [_event(KEY, "2026-11-27T10:00:00Z"), _event(KEY, "2026-11-26T10:00:00Z")]},
        ],
        clock,
        log,
    )

    found, read = calls.newest("TagResource", KEY, "us-east-1", SINCE, deadline=clock.now + 10)

    # Then the newest successful one on the key, the pages spaced by half a second
    assert found is not None
    assert found.time == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert read == "found among 3 TagResource records"
    assert clock.slept == [LOOKUP_PACE_SECONDS]
    stub.assert_no_pending_responses()


def test_each_page_is_bounded_by_the_time_left_and_none_starts_without_a_second() -> None:
    clock, log = Clock(), []
    calls, _ = _calls([{"Events": [_event(OTHER, "2026-11-28T10:00:00Z")], "NextToken": "t-2"}], clock, log)

    found, read = calls.newest("TagResource", KEY, "us-east-1", SINCE, deadline=clock.now + 1.2)

    assert found is None
    assert log == [pytest.approx(1.2)]  # the first page's client: read timeout within the time left
    assert read == "the time budget ran out after 1 TagResource records"


def test_a_throttled_page_is_reported_not_retried() -> None:
    clock = Clock()
    client = boto3.client("cloudtrail", region_name="us-east-1")
    stub = Stubber(client)
    stub.add_client_error("lookup_events", "ThrottlingException", "Rate exceeded", 400, expected_params=None)
    stub.activate()
    calls = CloudTrailCalls(
        ClientFactory(), monotonic=lambda: clock.now, sleep=clock.sleep, client_for=lambda r, s: client
    )

    found, read = calls.newest("TagResource", KEY, "us-east-1", SINCE, deadline=clock.now + 10)

    assert found is None
    assert read == "CloudTrail lookup failed after 0 TagResource records: ThrottlingException"


def test_the_lookup_gives_up_after_its_page_limit() -> None:
    clock, log = Clock(), []
    pages = [{"Events": [_event(OTHER, "2026-11-28T10:00:00Z")], "NextToken": f"t-{n}"} for n in range(2)]
    calls, _ = _calls(pages, clock, log, max_pages=2)

    found, read = calls.newest("TagResource", KEY, "us-east-1", SINCE, deadline=clock.now + 10)

    assert found is None
    assert read == "gave up after 2 TagResource records (2 pages)"
