"""Which EventBridge rule routes which event: the template's patterns, run by moto's matcher.

Every rule's EventPattern, resolved as the deployed stack would resolve it, is created on a moto
default bus with an SQS target; each sample in ``events/`` is put on the bus and the queues tell
which rules matched. The table below is the contract; samples it does not list are checked against
``intended_rules``, the routing written out in plain Python. Tamper events have their own table in
``test_guard.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from shared.config import HEARTBEAT_DETAIL_TYPE, HEARTBEAT_SOURCE
from tests.contract.bus import Bus
from tests.contract.deployed import STACK, event_patterns, pattern_rules

EVENTS_DIR = Path(__file__).resolve().parents[2] / "events"
CLOUDTRAIL = "AWS API Call via CloudTrail"

KEY_EVENTS = "KeyEventsRule"
LIFECYCLE = "LifecycleRule"
KEY_DELETED = "KeyDeletedRule"
TRIPWIRE = "TripwireRule"
TAMPER_RULES = ("TamperTrailRule", "TamperComputeRule", "TamperAlertingRule")

ALERTING_CALLS = ("DisableKey", "ScheduleKeyDeletion")
LIFECYCLE_CALLS = (
    "CancelKeyDeletion",
    "EnableKey",
    "DeleteImportedKeyMaterial",
    "PutKeyPolicy",
    # A disconnected or deleted custom key store leaves its keys Unavailable.
    "DisconnectCustomKeyStore",
    "DeleteCustomKeyStore",
    "UpdateCustomKeyStore",
)
TAG_CALLS = ("TagResource", "UntagResource")
# The protect and approval tag keys (template defaults): only changes to these are routed.
WATCHED_TAGS = {"keyguard:protect", "keyguard:allow-deletion"}
# Crypto calls fail with DisabledException on a Disabled key and with DisabledException or
# KMSInvalidStateException on a key pending deletion.
TRIPWIRE_ERRORS = ("KMSInvalidStateException", "DisabledException")
NATIVE_EVENTS = ("KMS CMK Deletion", "KMS Imported Key Material Expiration")
SERVICE_EVENT = "AWS Service Event via CloudTrail"

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
    "tripwire_decrypt_disabled.json": {TRIPWIRE},
    "unrelated_create_key.json": set(),
    "stop_logging.json": {"TamperTrailRule"},
    "tag_approval_by_scheduler.json": {LIFECYCLE},
    "tag_approval_by_approver.json": {LIFECYCLE},
    "untag_protect.json": {LIFECYCLE},
}
# Samples moto's matcher cannot route (a field inside an array of objects: TagResource's
# tags[].tagKey); EventBridge can (tests/contract/ruler.py), so they are held to the reference only.
MOTO_CANNOT_MATCH_SAMPLES = {"tag_approval_by_scheduler.json", "tag_approval_by_approver.json"}


def _tag_keys(name: str, request: dict[str, Any]) -> set[str]:
    if name == "TagResource":
        return {str(tag.get("tagKey")) for tag in request.get("tags") or []}
    return {str(key) for key in request.get("tagKeys") or []}


def intended_rules(envelope: dict[str, Any]) -> set[str]:
    """The routing the rules implement, for samples the table does not list."""
    detail = envelope.get("detail") or {}
    if envelope.get("source") == HEARTBEAT_SOURCE:
        heartbeat = envelope.get("detail-type") == HEARTBEAT_DETAIL_TYPE and detail.get("stack") == STACK
        rule = detail.get("rule")
        return (
            {rule}
            if heartbeat and rule in (KEY_EVENTS, LIFECYCLE, KEY_DELETED, TRIPWIRE, *TAMPER_RULES)
            else set()
        )
    if envelope.get("source") == "aws.cloudtrail":
        # Any trail: the trail tamper rule (the other tamper calls are held to it in test_tamper.py).
        trail_calls = ("StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors")
        tampered = (
            detail.get("eventSource") == "cloudtrail.amazonaws.com" and detail.get("eventName") in trail_calls
        )
        return {"TamperTrailRule"} if envelope.get("detail-type") == CLOUDTRAIL and tampered else set()
    if envelope.get("source") != "aws.kms":
        return set()
    if envelope.get("detail-type") in NATIVE_EVENTS:
        return {KEY_DELETED}
    if envelope.get("detail-type") == SERVICE_EVENT:
        expired = detail.get("eventSource") == "kms.amazonaws.com"
        return {KEY_DELETED} if expired and detail.get("eventName") == "DeleteExpiredKeyMaterial" else set()
    if envelope.get("detail-type") != CLOUDTRAIL or detail.get("eventSource") != "kms.amazonaws.com":
        return set()
    name = detail.get("eventName")
    if name in ALERTING_CALLS:
        return {KEY_EVENTS}
    if name in LIFECYCLE_CALLS:
        return {LIFECYCLE}
    if name in TAG_CALLS:
        return {LIFECYCLE} if _tag_keys(name, detail.get("requestParameters") or {}) & WATCHED_TAGS else set()
    if detail.get("errorCode") in TRIPWIRE_ERRORS:
        return {TRIPWIRE}
    return set()


def _cloudtrail(source: str, event_source: str, event_name: str, **extra: Any) -> dict[str, Any]:
    detail = {"eventSource": event_source, "eventName": event_name, "awsRegion": "us-east-1", **extra}
    return {"source": source, "detail-type": CLOUDTRAIL, "resources": [], "detail": detail}


KEY_ARN = "arn:aws:kms:us-west-2:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _kms(event_name: str, **extra: Any) -> dict[str, Any]:
    return _cloudtrail("aws.kms", "kms.amazonaws.com", event_name, **extra)


def _tag(tag_key: str) -> dict[str, Any]:
    # requestParameters as recorded for TagResource (https://docs.aws.amazon.com/kms/latest/
    # developerguide/ct-tagresource.html): tags is a list of {tagKey, tagValue}.
    return _kms(
        "TagResource", requestParameters={"keyId": KEY_ARN, "tags": [{"tagKey": tag_key, "tagValue": "x"}]}
    )


def _untag(*tag_keys: str) -> dict[str, Any]:
    return _kms("UntagResource", requestParameters={"keyId": KEY_ARN, "tagKeys": list(tag_keys)})


def _canary(rule: str, stack: str = STACK, detail_type: str = HEARTBEAT_DETAIL_TYPE) -> dict[str, Any]:
    return {
        "source": HEARTBEAT_SOURCE,
        "detail-type": detail_type,
        "resources": [],
        "detail": {"stack": stack, "rule": rule},
    }


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
    "Decrypt on a Disabled key (DisabledException)": (
        _kms("Decrypt", errorCode="DisabledException"),
        {TRIPWIRE},
    ),
    "GenerateDataKey on a key pending deletion (DisabledException)": (
        _kms("GenerateDataKey", errorCode="DisabledException"),
        {TRIPWIRE},
    ),
    "native event: imported key material expired": (
        {
            "source": "aws.kms",
            "detail-type": "KMS Imported Key Material Expiration",
            "resources": [KEY_ARN],
            "detail": {"key-id": "1234abcd-12ab-34cd-56ef-1234567890ab"},
        },
        {KEY_DELETED},
    ),
    "service event: KMS deleted expired key material": (
        {
            "source": "aws.kms",
            "detail-type": SERVICE_EVENT,
            "resources": [],
            "detail": {
                "eventSource": "kms.amazonaws.com",
                "eventName": "DeleteExpiredKeyMaterial",
                "eventType": "AwsServiceEvent",
                "serviceEventDetails": {"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"},
            },
        },
        {KEY_DELETED},
    ),
    "other KMS service event": (
        {
            "source": "aws.kms",
            "detail-type": SERVICE_EVENT,
            "resources": [],
            "detail": {"eventSource": "kms.amazonaws.com", "eventName": "RotateKey"},
        },
        set(),
    ),
    "DisconnectCustomKeyStore": (_kms("DisconnectCustomKeyStore"), {LIFECYCLE}),
    "DeleteCustomKeyStore": (_kms("DeleteCustomKeyStore"), {LIFECYCLE}),
    "UpdateCustomKeyStore": (_kms("UpdateCustomKeyStore"), {LIFECYCLE}),
    "protect tag written": (_tag("keyguard:protect"), {LIFECYCLE}),
    "approval tag written": (_tag("keyguard:allow-deletion"), {LIFECYCLE}),
    "other tag written": (_tag("CostCenter"), set()),
    "protect tag removed among others": (_untag("CostCenter", "keyguard:protect"), {LIFECYCLE}),
    "other tag removed": (_untag("CostCenter"), set()),
    "approval tag on a key pending deletion is refused, once": (
        _kms(
            "TagResource",
            errorCode="KMSInvalidStateException",
            requestParameters={
                "keyId": KEY_ARN,
                "tags": [{"tagKey": "keyguard:allow-deletion", "tagValue": "x"}],
            },
        ),
        {LIFECYCLE},
    ),
    "other tag on a key pending deletion proves no workload": (
        _kms(
            "TagResource",
            errorCode="KMSInvalidStateException",
            requestParameters={"keyId": KEY_ARN, "tags": [{"tagKey": "CostCenter", "tagValue": "x"}]},
        ),
        set(),
    ),
    **{
        f"heartbeat canary for {rule}": (_canary(rule), {rule})
        for rule in (KEY_EVENTS, LIFECYCLE, KEY_DELETED, TRIPWIRE, *TAMPER_RULES)
    },
    "heartbeat canary of another stack": (_canary(KEY_EVENTS, stack="other-stack"), set()),
    "heartbeat canary naming no rule of this stack": (_canary("ReminderSchedule"), set()),
    "heartbeat source with another detail-type": (_canary(KEY_EVENTS, detail_type="Something Else"), set()),
}


def _samples() -> list[Path]:
    """Every sample in ``events/``; an empty folder is an error, not zero tests."""
    samples = sorted(EVENTS_DIR.glob("*.json"))
    if not samples:
        raise FileNotFoundError(f"{EVENTS_DIR} holds no sample events")
    return samples


@pytest.fixture(scope="module")
def bus(template: dict[str, Any]) -> Iterator[Bus]:
    with mock_aws():
        yield Bus(event_patterns(template))


def _branches(resources: dict[str, Any], rule: str) -> list[dict[str, Any]]:
    """The rule's real pattern branches (its heartbeat canary branch left out)."""
    return [
        branch
        for branch in resources[rule]["Properties"]["EventPattern"]["$or"]
        if branch["source"] != [HEARTBEAT_SOURCE]
    ]


def _event_names(branch: dict[str, Any]) -> set[str]:
    detail = branch["detail"]
    names = set(detail.get("eventName", []))
    for alternative in detail.get("$or", []):
        names |= set(alternative.get("eventName", []))
    return names


def test_the_alerting_rule_pattern_is_exactly_the_two_calls(resources: dict[str, Any]) -> None:
    # Given the rule that drives the main alert
    (pattern,) = _branches(resources, KEY_EVENTS)

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


def test_the_tripwire_matches_both_errors_of_an_unusable_key(resources: dict[str, Any]) -> None:
    (pattern,) = _branches(resources, TRIPWIRE)
    assert set(pattern["detail"]["errorCode"]) == set(TRIPWIRE_ERRORS)


def test_the_tripwire_excludes_every_call_another_rule_routes(resources: dict[str, Any]) -> None:
    # Given the names routed by the alerting and lifecycle rules
    routed = {
        name
        for rule in (KEY_EVENTS, LIFECYCLE)
        for branch in _branches(resources, rule)
        for name in _event_names(branch)
    }

    # Then the tripwire pattern leaves exactly those out
    (tripwire,) = _branches(resources, TRIPWIRE)
    (excluded,) = tripwire["detail"]["eventName"]
    assert set(excluded["anything-but"]) == routed


def test_the_protect_and_approval_tags_are_the_parameters(resources: dict[str, Any]) -> None:
    # The tag keys matched in TagResource / UntagResource are the operator's, not literals.
    (branch,) = _branches(resources, LIFECYCLE)
    watched = [{"Ref": "ProtectTagKey"}, {"Ref": "AllowDeletionTagKey"}]
    by_name = {alternative["eventName"][0]: alternative for alternative in branch["detail"]["$or"]}
    assert by_name["TagResource"]["requestParameters"] == {"tags": {"tagKey": watched}}
    assert by_name["UntagResource"]["requestParameters"] == {"tagKeys": watched}


def test_every_pattern_rule_has_a_heartbeat_branch(template: dict[str, Any]) -> None:
    for rule in pattern_rules(template):
        canaries = [
            branch
            for branch in template["Resources"][rule]["Properties"]["EventPattern"]["$or"]
            if branch["source"] == [HEARTBEAT_SOURCE]
        ]
        assert canaries == [
            {
                "source": [HEARTBEAT_SOURCE],
                "detail-type": [HEARTBEAT_DETAIL_TYPE],
                "detail": {"stack": [{"Ref": "AWS::StackName"}], "rule": [rule]},
            }
        ], rule


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
    if sample.name in MOTO_CANNOT_MATCH_SAMPLES:
        assert bus.reference_route(envelope) == expected
        return
    matched = bus.route(envelope)

    # Then exactly the intended rules receive it (and the reference matcher agrees with moto)
    assert matched == expected
    assert bus.reference_route(envelope) == expected


# moto does not match a field inside an array of objects (TagResource's tags[].tagKey); EventBridge
# does (see tests/contract/ruler.py). These cases are held to the reference matcher only.
MOTO_CANNOT_MATCH = {
    "protect tag written",
    "approval tag written",
    "approval tag on a key pending deletion is refused, once",
}


@pytest.mark.parametrize("case", SYNTHETIC, ids=str)
def test_edge_events_are_routed_as_intended(bus: Bus, case: str) -> None:
    envelope, expected = SYNTHETIC[case]
    assert bus.reference_route(envelope) == expected
    if case not in MOTO_CANNOT_MATCH:
        assert bus.route(envelope) == expected
    assert intended_rules(envelope) == expected


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_the_table_agrees_with_the_written_out_routing(name: str) -> None:
    # The table and intended_rules describe the same routing, so unlisted samples are held to it.
    envelope = json.loads((EVENTS_DIR / name).read_text(encoding="utf-8"))
    assert intended_rules(envelope) == ROUTES[name]
