"""Grants, GetKeyLastUsage and CloudTrail evidence (moto implements neither of the last two)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.stub import ANY, Stubber

from shared.aws import ClientFactory
from shared.dependencies import discover, required_actions
from shared.dependencies.base import FinderContext
from shared.dependencies.evidence import grant_item, service_from_principal, trail_event
from shared.keyref import KeyIdentity

from .conftest import ACCOUNT, FAST_FAIL, REGION, later

SESSION = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IDENTITY = KeyIdentity(key_arn=KEY)
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"


def _event(
    name: str,
    *,
    role: str | None = ROLE,
    invoked_by: str | None = None,
    context: dict | None = None,
    when: datetime = NOW,
    error: str | None = None,
) -> dict:
    identity: dict = {"type": "AssumedRole" if role else "AWSService"}
    if role:
        identity["arn"] = role.replace(":iam:", ":sts:").replace(":role/", ":assumed-role/") + "/session-1"
        identity["sessionContext"] = {"sessionIssuer": {"type": "Role", "arn": role}}
    if invoked_by:
        identity["invokedBy"] = invoked_by
    record = {
        "eventName": name,
        "userIdentity": identity,
        "requestParameters": {"encryptionContext": context or {}, "keyId": KEY},
    }
    if error:
        record["errorCode"] = error
    return {
        "EventId": f"id-{name}-{when.timestamp()}",
        "EventName": name,
        "EventTime": when,
        "EventSource": "kms.amazonaws.com",
        "CloudTrailEvent": json.dumps(record),
    }


def _discover(kms_calls: list, trail_pages: list[dict] | None, **kwargs: object):
    factory = ClientFactory(SESSION, config=FAST_FAIL)
    kms = Stubber(factory.client("kms", REGION))
    trail = Stubber(factory.client("cloudtrail", REGION))
    for operation, response in kms_calls:
        if isinstance(response, str):
            kms.add_client_error(operation, service_error_code=response)
        else:
            kms.add_response(
                operation, response, {"KeyId": KEY, **({"Limit": 100} if operation == "list_grants" else {})}
            )
    for page in trail_pages or []:
        if isinstance(page, str):
            trail.add_client_error("lookup_events", service_error_code=page)
        else:
            trail.add_response(
                "lookup_events",
                page,
                {
                    "LookupAttributes": [{"AttributeKey": "ResourceName", "AttributeValue": KEY}],
                    "StartTime": NOW - timedelta(days=7),
                    "EndTime": NOW,
                    "MaxResults": 50,
                    **({"NextToken": ANY} if page is not trail_pages[0] else {}),
                },
            )
    with kms, trail:
        section = discover(
            IDENTITY, factory, deadline=later(), finders=[], max_workers=1, now=lambda: NOW, **kwargs
        )
        kms.assert_no_pending_responses()
        trail.assert_no_pending_responses()
    return section


GRANTS = {
    "Grants": [
        {
            "GrantId": "g-ebs",
            "KeyId": KEY,
            "GranteePrincipal": ROLE,
            "Operations": ["Decrypt", "ReEncryptFrom"],
            "Constraints": {"EncryptionContextSubset": {"aws:ebs:id": "vol-0123"}},
        },
        {
            "GrantId": "g-rds",
            "KeyId": KEY,
            "GranteePrincipal": "rds.us-east-1.amazonaws.com",
            "Operations": ["Decrypt", "GenerateDataKey"],
            "Name": "rds-grant",
        },
        {
            "GrantId": "g-ddb",
            "KeyId": KEY,
            "GranteePrincipal": "dynamodb.us-east-1.amazonaws.com",
            "Operations": ["Decrypt"],
            "Constraints": {
                "EncryptionContextSubset": {
                    "aws:dynamodb:subscriberId": ACCOUNT,
                    "aws:dynamodb:tableName": "orders",
                }
            },
        },
    ]
}
NO_GRANTS = {"Grants": []}
NEVER_USED = {
    "KeyId": KEY,
    "TrackingStartDate": datetime(2026, 4, 1, tzinfo=UTC),
    "KeyCreationDate": datetime(2025, 1, 1, tzinfo=UTC),
}


def test_grants_name_the_service_and_the_resource_of_their_encryption_context() -> None:
    section = _discover([("list_grants", GRANTS), ("get_key_last_usage", NEVER_USED)], None, lookback_days=0)
    grants = {g.grant_id: g for g in section.grants}
    assert (grants["g-ebs"].service, grants["g-ebs"].resource) == ("ebs", "vol-0123")
    assert (grants["g-rds"].service, grants["g-rds"].resource, grants["g-rds"].name) == (
        "rds",
        None,
        "rds-grant",
    )
    assert (grants["g-ddb"].service, grants["g-ddb"].resource) == ("dynamodb", "orders")
    assert grants["g-ebs"].operations == ["Decrypt", "ReEncryptFrom"]
    assert section.complete is True


@pytest.mark.parametrize(
    ("principal", "service"),
    [
        ("secretsmanager.us-east-1.amazonaws.com", "secretsmanager"),
        ("lambda.amazonaws.com", "lambda"),
        (f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/rds.amazonaws.com/AWSServiceRoleForRDS", "rds"),
        (ROLE, None),
        (None, None),
    ],
)
def test_the_service_is_guessed_from_a_service_principal(principal: str | None, service: str | None) -> None:
    assert service_from_principal(principal) == service


def test_a_grant_for_a_lambda_function_names_the_function() -> None:
    grant = grant_item(
        {
            "GrantId": "g",
            "GranteePrincipal": ROLE,
            "Operations": ["Decrypt"],
            "Constraints": {
                "EncryptionContextEquals": {
                    "aws:lambda:FunctionArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f"
                }
            },
        }
    )
    assert (grant.service, grant.resource) == ("lambda", f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f")


def test_last_usage_is_reported_with_its_operation_and_caveat() -> None:
    used = {
        **NEVER_USED,
        "KeyLastUsage": {
            "Operation": "Decrypt",
            "Timestamp": NOW - timedelta(hours=3),
            "CloudTrailEventId": "e-1",
        },
    }
    section = _discover([("list_grants", NO_GRANTS), ("get_key_last_usage", used)], None, lookback_days=0)
    assert section.usage is not None
    assert section.usage.last_usage == "2026-11-29T09:00:00Z"
    assert section.usage.last_usage_operation == "Decrypt"
    assert "up to an hour" in (section.usage.last_usage_note or "")


def test_an_empty_last_usage_answer_does_not_claim_the_key_is_unused() -> None:
    section = _discover(
        [("list_grants", NO_GRANTS), ("get_key_last_usage", NEVER_USED)], None, lookback_days=0
    )
    assert section.usage is not None
    assert section.usage.last_usage is None
    note = section.usage.last_usage_note or ""
    assert "does not prove the key unused" in note
    assert "2026-04-01" in note


def test_a_key_created_after_tracking_began_and_never_used_says_so() -> None:
    fresh = {**NEVER_USED, "KeyCreationDate": datetime(2026, 6, 1, tzinfo=UTC)}
    section = _discover([("list_grants", NO_GRANTS), ("get_key_last_usage", fresh)], None, lookback_days=0)
    assert section.usage is not None
    assert "since the key was created" in (section.usage.last_usage_note or "")


def test_cloudtrail_events_are_summarised_by_principal() -> None:
    pages = [
        {
            "Events": [
                _event("Decrypt", context={"aws:lambda:FunctionArn": "fn-a"}, when=NOW - timedelta(hours=1)),
                _event("Decrypt", context={"aws:lambda:FunctionArn": "fn-a"}, when=NOW - timedelta(hours=2)),
                _event("DisableKey"),
            ],
            "NextToken": "t1",
        },
        {
            "Events": [
                _event(
                    "GenerateDataKey",
                    role=None,
                    invoked_by="secretsmanager.amazonaws.com",
                    context={"SecretARN": "arn:secret"},
                ),
                _event("Decrypt", error="DisabledException", when=NOW - timedelta(minutes=5)),
            ]
        },
    ]
    section = _discover([("list_grants", NO_GRANTS), ("get_key_last_usage", NEVER_USED)], pages)
    usage = section.usage
    assert usage is not None
    assert usage.events_examined == 5
    assert usage.lookback_days == 7
    by_name = {p.principal: p for p in usage.principals}
    assert by_name[ROLE].calls == 3
    assert by_name[ROLE].operations == ["Decrypt"]
    assert by_name[ROLE].encryption_context == ["aws:lambda:FunctionArn=fn-a"]
    assert by_name[ROLE].last_seen == "2026-11-29T11:55:00Z"
    assert by_name["secretsmanager.amazonaws.com"].invoked_by == ["secretsmanager.amazonaws.com"]
    assert usage.principals[0].principal == ROLE  # busiest first
    assert section.complete is True


def test_denied_cloudtrail_and_last_usage_are_unchecked_not_silent() -> None:
    section = _discover(
        [("list_grants", "AccessDeniedException"), ("get_key_last_usage", "AccessDeniedException")],
        ["AccessDeniedException"],
    )
    assert section.complete is False
    assert sorted((u.finder, u.reason) for u in section.unchecked) == [
        ("cloudtrail-key-usage", "denied: AccessDeniedException"),
        ("kms-grants", "denied: AccessDeniedException"),
        ("kms-last-usage", "denied: AccessDeniedException"),
    ]
    assert section.usage is None


def test_denied_usage_evidence_alone_leaves_the_search_complete() -> None:
    # Given the grants are read, but GetKeyLastUsage and LookupEvents are denied
    section = _discover(
        [("list_grants", NO_GRANTS), ("get_key_last_usage", "AccessDeniedException")],
        ["AccessDeniedException"],
    )
    # Then both readers are listed as evidence only, and the search still counts as complete:
    # they tell when and by whom the key was used, not which resources use it
    assert sorted((u.finder, u.reason, u.effect) for u in section.unchecked) == [
        ("cloudtrail-key-usage", "denied: AccessDeniedException", "evidence-only"),
        ("kms-last-usage", "denied: AccessDeniedException", "evidence-only"),
    ]
    assert section.complete is True


def test_throttled_cloudtrail_keeps_the_pages_it_read() -> None:
    pages = [{"Events": [_event("Decrypt")], "NextToken": "t1"}, "ThrottlingException"]
    section = _discover([("list_grants", NO_GRANTS), ("get_key_last_usage", NEVER_USED)], pages)
    assert section.usage is not None
    assert section.usage.events_examined == 1
    assert [(u.finder, u.reason) for u in section.unchecked] == [
        ("cloudtrail-key-usage", "throttled: ThrottlingException (retries exhausted)")
    ]


def test_only_cryptographic_operations_count_as_use() -> None:
    assert trail_event(_event("DisableKey")) is None
    parsed = trail_event(_event("Decrypt", error="DisabledException"))
    assert parsed is not None
    assert parsed.error_code == "DisabledException"


def test_required_actions_include_the_evidence_calls() -> None:
    assert {"kms:ListGrants", "kms:GetKeyLastUsage", "cloudtrail:LookupEvents"} <= required_actions()


def test_a_caller_can_run_only_some_evidence_finders() -> None:
    # Given the caller already read the grants and the last usage itself
    pages = [{"Events": [_event("Decrypt")]}]
    section = _discover([], pages, evidence={"cloudtrail-key-usage"})
    # Then only CloudTrail is read
    assert section.grants == []
    assert section.usage is not None
    assert section.usage.events_examined == 1
    assert section.usage.last_usage_note is None


def test_a_busy_keys_lookup_stops_at_its_own_budget_and_keeps_what_it_read() -> None:
    # Given a key whose CloudTrail history is many pages long, LookupEvents allowed 2 calls a
    # second, and 2 seconds for usage evidence (a clock that moves only while waiting for a slot)
    from shared.dependencies.base import RateLimiter
    from shared.dependencies.evidence import CloudTrailUsageFinder, EventsCutShort, summarise_usage

    from .test_rate_limits import FakeTime

    time = FakeTime()
    factory = ClientFactory(SESSION, config=FAST_FAIL)
    events = [_event("Decrypt", when=NOW - timedelta(minutes=n)) for n in range(50)]
    finder = CloudTrailUsageFinder(7, lambda: NOW, 5000, budget_seconds=2.0)
    ctx = FinderContext(IDENTITY, factory, REGION, 100.0, time.clock, RateLimiter(time.clock), time.sleep)
    with Stubber(factory.client("cloudtrail", REGION)) as trail:
        for n in range(4):
            trail.add_response("lookup_events", {"Events": events, "NextToken": f"page-{n + 1}"})
        # When the usage finder runs
        results = list(finder.find(ctx))
        trail.assert_no_pending_responses()

    # Then it read the four pages its budget allowed (slots at 0, 0.5, 1.0 and 1.5 s) and stopped
    assert [r for r in results if isinstance(r, EventsCutShort)] == [EventsCutShort(REGION, 2.0, 200)]
    usage = summarise_usage(results, 7)
    # And the alert keeps those events and says they are a sample
    assert usage is not None
    assert usage.events_examined == 200
    assert usage.principals[0].calls == 200
    assert usage.last_usage_note is not None
    assert "200 events read in the 2 s allowed" in usage.last_usage_note


def test_usage_evidence_cut_short_does_not_make_the_resource_search_incomplete() -> None:
    pages = [{"Events": [_event("Decrypt")], "NextToken": "t1"}]
    section = _discover(
        [("list_grants", NO_GRANTS), ("get_key_last_usage", NEVER_USED)], pages, usage_seconds=0.01
    )
    assert section.complete is True
    assert section.usage is not None
    assert section.usage.events_examined == 1
