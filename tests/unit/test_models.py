"""The event model accepts every real-world shape of a KMS CloudTrail record."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from shared.events import tamper_call
from shared.models import CloudTrailRecord, event_window
from shared.parse import parse_cloudtrail
from shared.responder import UnprocessableEvent, parse_record

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cloudtrail"
EVENTS = Path(__file__).resolve().parents[2] / "events"
ACCOUNT = "111122223333"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN_WEST = f"arn:aws:kms:us-west-2:{ACCOUNT}:key/{KEY_ID}"
KEY_ARN_EAST = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"


def _fixture(name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / name).read_text())
    return data["Records"][0] if "Records" in data else data


def _base() -> dict[str, Any]:
    return copy.deepcopy(_fixture("awsdocs-kms-devguide__ScheduleKeyDeletion__1.json"))


@pytest.mark.parametrize(
    ("fixture", "event_name", "key_arn"),
    [
        ("awsdocs-kms-devguide__ScheduleKeyDeletion__1.json", "ScheduleKeyDeletion", KEY_ARN_WEST),
        ("awsdocs-kms-devguide__DisableKey__2.json", "DisableKey", KEY_ARN_WEST),
        ("awsdocs-kms-live__DisableKey__1.json", "DisableKey", None),
        ("awsdocs-kms-devguide__CancelKeyDeletion__1.json", "CancelKeyDeletion", None),
    ],
)
def test_authentic_aws_records_parse(fixture: str, event_name: str, key_arn: str | None) -> None:
    record = CloudTrailRecord.model_validate(_fixture(fixture))
    assert record.event_name == event_name
    arn, _, _ = record.resolve_key_arn()
    assert arn is not None
    if key_arn:
        assert arn == key_arn


CLOUDTRAIL_SAMPLES = [
    path
    for path in sorted(EVENTS.glob("*.json"))
    if json.loads(path.read_text())["detail-type"] == "AWS API Call via CloudTrail"
]


KMS_SAMPLES = [path for path in CLOUDTRAIL_SAMPLES if json.loads(path.read_text())["source"] == "aws.kms"]
OTHER_SAMPLES = [path for path in CLOUDTRAIL_SAMPLES if path not in KMS_SAMPLES]


@pytest.mark.parametrize("path", KMS_SAMPLES, ids=lambda p: p.stem)
def test_every_kms_sample_event_parses_into_a_record_naming_a_key(path: Path) -> None:
    event = json.loads(path.read_text())
    record = parse_record(event)
    assert record.event_name == event["detail"]["eventName"]
    assert record.resolve_key_arn()[0] is not None


@pytest.mark.parametrize("path", OTHER_SAMPLES, ids=lambda p: p.stem)
def test_every_other_services_sample_is_a_tamper_call_naming_its_resource(path: Path) -> None:
    # Another service's call reaches the function only through a tamper rule (the tamper table).
    event = json.loads(path.read_text())
    with pytest.raises(UnprocessableEvent):
        parse_record(event)  # never read as a KMS record
    record = parse_cloudtrail(event)
    assert event["source"] == f"aws.{record.event_source.split('.')[0]}" if record.event_source else False
    call = tamper_call(record.event_source, record.event_name)
    assert call is not None
    assert call.resource(record.request_parameters)


def test_there_is_a_tamper_sample() -> None:
    assert [path.stem for path in OTHER_SAMPLES] == ["stop_logging"]


def test_null_response_elements_is_accepted_and_key_comes_from_resources() -> None:
    raw = _base() | {"responseElements": None}
    arn, origin, _ = CloudTrailRecord.model_validate(raw).resolve_key_arn()
    assert (arn, origin) == (KEY_ARN_WEST, "resources")


@pytest.mark.parametrize(
    "resources",
    [None, [], "not-a-list", [{"accountId": ACCOUNT}], [42]],
    ids=["null", "empty", "string", "item-without-arn", "junk-item"],
)
def test_missing_or_odd_resources_fall_back_to_the_request(resources: Any) -> None:
    raw = _base() | {"responseElements": None, "resources": resources}
    arn, origin, _ = CloudTrailRecord.model_validate(raw).resolve_key_arn()
    assert origin == "requestParameters.keyId"
    assert arn == f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{KEY_ID}"  # completed with awsRegion and account


def test_resources_missing_entirely_is_accepted() -> None:
    raw = _base()
    del raw["resources"]
    assert CloudTrailRecord.model_validate(raw).resolve_key_arn()[0] == KEY_ARN_WEST


@pytest.mark.parametrize("field", ["ARN", "arn", "Arn"])
def test_resource_arn_in_any_case_without_type(field: str) -> None:
    raw = _base() | {"responseElements": None, "resources": [{field: KEY_ARN_EAST}]}
    assert CloudTrailRecord.model_validate(raw).resolve_key_arn()[:2] == (KEY_ARN_EAST, "resources")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        (KEY_ID, KEY_ARN_EAST),
        (KEY_ARN_WEST, KEY_ARN_WEST),
        ("alias/prod-db", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/prod-db"),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/prod-db", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/prod-db"),
        (
            "mrk-1234abcd12ab34cd56ef1234567890ab",
            f"arn:aws:kms:us-east-1:{ACCOUNT}:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        ),
    ],
    ids=["key-id", "key-arn", "alias-name", "alias-arn", "mrk-id"],
)
def test_request_key_in_every_form_is_completed(typed: str, expected: str) -> None:
    raw = _base() | {"responseElements": None, "requestParameters": {"keyId": typed}}
    del raw["resources"]
    assert CloudTrailRecord.model_validate(raw).resolve_key_arn()[0] == expected


def test_response_key_wins_over_resources_and_request() -> None:
    raw = _base() | {"requestParameters": {"keyId": "alias/prod-db"}}
    assert CloudTrailRecord.model_validate(raw).resolve_key_arn()[1] == "responseElements.keyId"


def test_alias_reference_is_used_only_when_nothing_names_the_key_itself() -> None:
    raw = _base() | {
        "responseElements": None,
        "requestParameters": {"keyId": "alias/prod-db"},
        "resources": [{"ARN": KEY_ARN_WEST}],
    }
    assert CloudTrailRecord.model_validate(raw).resolve_key_arn()[0] == KEY_ARN_WEST


def test_absent_pending_window_is_the_default_30_days() -> None:
    raw = _base() | {"requestParameters": {"keyId": KEY_ID}}
    assert event_window(CloudTrailRecord.model_validate(raw)) == (30, True)


@pytest.mark.parametrize("window", [7, "7", 7.0])
def test_explicit_pending_window_in_any_type(window: Any) -> None:
    raw = _base() | {"requestParameters": {"keyId": KEY_ID, "pendingWindowInDays": window}}
    assert event_window(CloudTrailRecord.model_validate(raw)) == (7, False)


@pytest.mark.parametrize(
    "display", ["Jul 31, 2020 12:00:00 AM", "Oct 21, 2024, 2:25:29 PM", "Apr 12, 2021 18:58:30 PM"]
)
def test_deletion_date_is_kept_as_the_display_string_it_is(display: str) -> None:
    raw = _base() | {"responseElements": {"keyId": KEY_ARN_WEST, "deletionDate": display}}
    assert CloudTrailRecord.model_validate(raw).event_deletion_date == display


def test_pending_replica_deletion_state_is_read_from_the_response() -> None:
    raw = _base() | {
        "responseElements": {
            "keyId": KEY_ARN_WEST,
            "keyState": "PendingReplicaDeletion",
            "pendingWindowInDays": 30,
        }
    }
    record = CloudTrailRecord.model_validate(raw)
    assert record.event_key_state == "PendingReplicaDeletion"
    assert record.event_deletion_date is None


@pytest.mark.parametrize("code", ["AccessDenied", "AccessDeniedException", "NotFoundException"])
def test_error_code_marks_a_failed_attempt(code: str) -> None:
    raw = _base() | {"errorCode": code, "errorMessage": "no", "responseElements": None}
    record = CloudTrailRecord.model_validate(raw)
    assert record.failed
    assert record.error_code == code


@pytest.mark.parametrize(
    ("identity", "type_", "session"),
    [
        (
            {"type": "IAMUser", "userName": "Alice", "arn": f"arn:aws:iam::{ACCOUNT}:user/Alice"},
            "IAMUser",
            None,
        ),
        (
            {"type": "AssumedRole", "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops/alice"},
            "AssumedRole",
            "alice",
        ),
        (
            {"type": "FederatedUser", "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/carol"},
            "FederatedUser",
            "carol",
        ),
        ({"type": "AWSService", "invokedBy": "backup.amazonaws.com"}, "AWSService", None),
        ({"type": "Root", "arn": f"arn:aws:iam::{ACCOUNT}:root"}, "Root", None),
        (None, None, None),
    ],
)
def test_user_identity_of_every_type(identity: Any, type_: str | None, session: str | None) -> None:
    record = CloudTrailRecord.model_validate(_base() | {"userIdentity": identity})
    assert record.user_identity.type == type_
    assert record.user_identity.session_name == session


def test_unknown_fields_string_booleans_and_any_event_version_are_accepted() -> None:
    raw = _base() | {
        "eventVersion": "1.99",
        "readOnly": "false",
        "sessionCredentialFromConsole": "true",
        "brandNewField": {"x": [1, 2]},
        "userIdentity": {
            "type": "AssumedRole",
            "sessionContext": {"attributes": {"mfaAuthenticated": "true"}},
        },
    }
    record = CloudTrailRecord.model_validate(raw)
    assert record.read_only is False
    assert record.via_console is True
    assert record.user_identity.session_context is not None
    assert record.user_identity.session_context.attributes is not None
    assert record.user_identity.session_context.attributes.mfa_authenticated is True


def test_unparseable_event_time_does_not_reject_the_record() -> None:
    record = CloudTrailRecord.model_validate(_base() | {"eventTime": "yesterday"})
    assert record.event_time is None


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"detail-type": "AWS API Call via CloudTrail", "source": "aws.kms", "detail": {}},
        {"detail-type": "AWS API Call via CloudTrail", "source": "aws.kms", "detail": "oops"},
        {"detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2", "detail": {}},
        {
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.s3",
            "detail": {"eventSource": "s3.amazonaws.com", "eventName": "PutObject"},
        },
        ["not", "an", "object"],
    ],
    ids=["empty", "no-event-name", "detail-not-object", "other-detail-type", "other-service", "list"],
)
def test_unexpected_events_are_rejected_with_a_reason(event: Any) -> None:
    with pytest.raises(UnprocessableEvent) as caught:
        parse_record(event)
    assert str(caught.value)


def test_bare_cloudtrail_record_is_accepted_for_replays() -> None:
    assert parse_record(_base()).event_name == "ScheduleKeyDeletion"
