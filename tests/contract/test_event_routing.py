"""Which EventBridge rule routes which event: the template's patterns, run by moto's matcher.

Every rule's EventPattern is created on a moto default bus with an SQS target; each sample in
``events/`` is put on the bus and the queues tell which rules matched. The table below is the
contract; samples it does not list are checked against ``intended_rules``, the routing written out
in plain Python.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support.cfn_yaml import of_type

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
CLOUDTRAIL = "AWS API Call via CloudTrail"

KEY_EVENTS = "KeyEventsRule"
LIFECYCLE = "LifecycleRule"
KEY_DELETED = "KeyDeletedRule"
TRIPWIRE = "TripwireRule"

ALERTING_CALLS = ("DisableKey", "ScheduleKeyDeletion")
LIFECYCLE_CALLS = ("CancelKeyDeletion", "EnableKey", "DeleteImportedKeyMaterial", "PutKeyPolicy")

# sample file -> the rules that must match it (an empty set: no rule may match).
ROUTES: dict[str, set[str]] = {
    "schedule_key_deletion.json": {KEY_EVENTS},
    "disable_key.json": {KEY_EVENTS},
    "disable_key_legacy.json": {KEY_EVENTS},
    "schedule_key_deletion_failed.json": {KEY_EVENTS},  # failed attempts alert too
    "cancel_key_deletion.json": {LIFECYCLE},
    "enable_key.json": {LIFECYCLE},
    "delete_imported_key_material.json": {LIFECYCLE},
    "put_key_policy.json": {LIFECYCLE},
    "key_deleted.json": {KEY_DELETED},
    "tripwire_decrypt.json": {TRIPWIRE},
    "unrelated_create_key.json": set(),
}


def intended_rules(envelope: dict[str, Any]) -> set[str]:
    """The routing the rules implement, for samples the table does not list."""
    detail = envelope.get("detail") or {}
    if envelope.get("source") != "aws.kms":
        return set()
    if envelope.get("detail-type") == "KMS CMK Deletion":
        return {KEY_DELETED}
    if envelope.get("detail-type") != CLOUDTRAIL or detail.get("eventSource") != "kms.amazonaws.com":
        return set()
    name = detail.get("eventName")
    if name in ALERTING_CALLS:
        return {KEY_EVENTS}
    if name in LIFECYCLE_CALLS:
        return {LIFECYCLE}
    if detail.get("errorCode") == "KMSInvalidStateException":
        return {TRIPWIRE}
    return set()


def _cloudtrail(source: str, event_source: str, event_name: str, **extra: Any) -> dict[str, Any]:
    detail = {"eventSource": event_source, "eventName": event_name, "awsRegion": "us-east-1", **extra}
    return {"source": source, "detail-type": CLOUDTRAIL, "resources": [], "detail": detail}


# Events that must match no rule (or exactly the rule named), built here because they are about the
# pattern's edges rather than about realistic records.
SYNTHETIC: dict[str, tuple[dict[str, Any], set[str]]] = {
    "other service with a DisableKey-like name": (
        _cloudtrail("aws.ec2", "ec2.amazonaws.com", "DisableKey"),
        set(),
    ),
    "custom source imitating KMS": (
        _cloudtrail("acme.audit", "kms.amazonaws.com", "ScheduleKeyDeletion"),
        set(),
    ),
    "other service failing with KMSInvalidStateException": (
        _cloudtrail("aws.s3", "s3.amazonaws.com", "GetObject", errorCode="KMSInvalidStateException"),
        set(),
    ),
    "KMS read that succeeded": (_cloudtrail("aws.kms", "kms.amazonaws.com", "Decrypt"), set()),
    "KMS call denied for another reason": (
        _cloudtrail("aws.kms", "kms.amazonaws.com", "Decrypt", errorCode="AccessDeniedException"),
        set(),
    ),
    "GenerateDataKey on a key pending deletion": (
        _cloudtrail("aws.kms", "kms.amazonaws.com", "GenerateDataKey", errorCode="KMSInvalidStateException"),
        {TRIPWIRE},
    ),
    "DisableKey on a key pending deletion goes to one rule only": (
        _cloudtrail("aws.kms", "kms.amazonaws.com", "DisableKey", errorCode="KMSInvalidStateException"),
        {KEY_EVENTS},
    ),
    "EnableKey on a key pending deletion goes to one rule only": (
        _cloudtrail("aws.kms", "kms.amazonaws.com", "EnableKey", errorCode="KMSInvalidStateException"),
        {LIFECYCLE},
    ),
    "other KMS native event": (
        {"source": "aws.kms", "detail-type": "KMS CMK Rotation", "resources": [], "detail": {"key-id": "x"}},
        set(),
    ),
}


def _samples() -> list[Path]:
    """Every sample in ``events/``; an empty folder is an error, not zero tests."""
    samples = sorted(EVENTS_DIR.glob("*.json"))
    if not samples:
        raise FileNotFoundError(f"{EVENTS_DIR} holds no sample events")
    return samples


class Bus:
    """A moto default bus carrying the template's pattern rules, each with its own SQS queue."""

    def __init__(self, patterns: dict[str, dict[str, Any]]) -> None:
        self.events = boto3.client("events", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.queues: dict[str, str] = {}
        for rule, pattern in patterns.items():
            url = self.sqs.create_queue(QueueName=f"contract-{rule}")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.events.put_rule(Name=rule, EventPattern=json.dumps(pattern), State="ENABLED")
            self.events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": arn}])
            self.queues[rule] = url

    def route(self, envelope: dict[str, Any]) -> set[str]:
        """Put one event on the bus; the rules whose queue received it."""
        entry = {
            "Source": envelope["source"],
            "DetailType": envelope["detail-type"],
            "Detail": json.dumps(envelope.get("detail", {})),
            "Resources": list(envelope.get("resources") or []),
        }
        result = self.events.put_events(Entries=[entry])
        assert result["FailedEntryCount"] == 0, result
        matched = set()
        for rule, url in self.queues.items():
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                body = json.loads(message["Body"])
                assert body["detail"] == envelope.get("detail", {})
            if messages:
                matched.add(rule)
        return matched


@pytest.fixture(scope="module")
def bus(resources: dict[str, Any]) -> Iterator[Bus]:
    patterns = {
        name: body["Properties"]["EventPattern"]
        for name, body in of_type(resources, "AWS::Events::Rule").items()
        if "EventPattern" in body["Properties"]
    }
    with mock_aws():
        yield Bus(patterns)


def test_the_alerting_rule_pattern_is_exactly_the_two_calls(resources: dict[str, Any]) -> None:
    # Given the rule that drives the main alert
    pattern = resources[KEY_EVENTS]["Properties"]["EventPattern"]

    # Then it matches DisableKey and ScheduleKeyDeletion from CloudTrail, with no errorCode filter
    assert pattern == {
        "source": ["aws.kms"],
        "detail-type": [CLOUDTRAIL],
        "detail": {"eventSource": ["kms.amazonaws.com"], "eventName": ["DisableKey", "ScheduleKeyDeletion"]},
    }


def test_the_tripwire_receives_read_only_management_events(resources: dict[str, Any]) -> None:
    # Decrypt / GenerateDataKey are read-only management events: only this state delivers them.
    assert resources[TRIPWIRE]["Properties"]["State"] == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"
    for rule in (KEY_EVENTS, LIFECYCLE, KEY_DELETED):
        assert resources[rule]["Properties"]["State"] == "ENABLED"


def test_the_tripwire_excludes_every_call_another_rule_routes(resources: dict[str, Any]) -> None:
    # Given the names routed by the alerting and lifecycle rules
    routed = set(resources[KEY_EVENTS]["Properties"]["EventPattern"]["detail"]["eventName"])
    routed |= set(resources[LIFECYCLE]["Properties"]["EventPattern"]["detail"]["eventName"])

    # Then the tripwire pattern leaves exactly those out
    (excluded,) = resources[TRIPWIRE]["Properties"]["EventPattern"]["detail"]["eventName"]
    assert set(excluded["anything-but"]) == routed


def test_every_listed_sample_exists() -> None:
    present = {path.name for path in _samples()}
    missing = sorted(set(ROUTES) - present)
    assert not missing, f"samples named in ROUTES but absent from events/: {missing}"


@pytest.mark.parametrize("sample", _samples(), ids=lambda path: path.name)
def test_sample_reaches_exactly_the_intended_rules(bus: Bus, sample: Path) -> None:
    # Given a sample EventBridge event
    envelope = json.loads(sample.read_text(encoding="utf-8"))
    expected = ROUTES.get(sample.name, intended_rules(envelope))

    # When it is put on the default bus
    matched = bus.route(envelope)

    # Then exactly the intended rules receive it
    assert matched == expected


@pytest.mark.parametrize(("envelope", "expected"), SYNTHETIC.values(), ids=SYNTHETIC.keys())
def test_edge_events_are_routed_as_intended(bus: Bus, envelope: dict[str, Any], expected: set[str]) -> None:
    assert bus.route(envelope) == expected
    assert intended_rules(envelope) == expected


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_the_table_agrees_with_the_written_out_routing(name: str) -> None:
    # The table and intended_rules describe the same routing, so unlisted samples are held to it.
    envelope = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    assert intended_rules(envelope) == ROUTES[name]
