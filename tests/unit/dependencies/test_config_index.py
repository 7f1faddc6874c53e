"""AWS Config as the index: queries generated from the registry, the recorder's scope, the fallback
to the API finders, and what the alert says about how the resources were found and how fresh."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from bench.emulator.config_query import parse
from botocore.stub import Stubber

from shared.aws import ClientFactory
from shared.dependencies import INDEXABLE, REGISTRY, discover
from shared.dependencies.config_index import MAX_EXPRESSION, RecordingScope, build_queries
from shared.dependencies.table import key_forms
from shared.keyref import KeyIdentity

from .conftest import ACCOUNT, FAST_FAIL, REGION, later

FINDERS = {finder.name: finder for finder in REGISTRY}
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
IDENTITY = KeyIdentity(
    key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}", aliases=frozenset({"alias/app-data"})
)
FORMS = {
    "key-id": KEY_ID,
    "key-arn": IDENTITY.key_arn,
    "alias-name": "alias/app-data",
    "alias-arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app-data",
}
OTHER = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/ffffffff-12ab-34cd-56ef-1234567890ab"
CAPTURED = "2026-12-01T07:58:12.000Z"
RECORDER = {"name": "default", "roleARN": "arn:aws:iam::123456789012:role/config"}
RECORDING = {"name": "default", "recording": True, "lastStatus": "SUCCESS"}


def _item(config_type: str, record_field: str, value: str, **extra: Any) -> dict[str, Any]:
    """A configuration item carrying ``value`` at ``record_field``."""
    item: dict[str, Any] = {"resourceType": config_type, **extra}
    target = item
    parts = record_field.split(".")
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value
    return item


# -- query generation ----------------------------------------------------------------------------


def test_the_registry_declares_29_config_types_and_indexes_every_complete_one() -> None:
    declared = {rtype: record for f in REGISTRY for rtype, record in f.config_records.items()}
    assert len(declared) == 29
    assert all(
        field.startswith(("configuration.", "supplementaryConfiguration."))
        for record in declared.values()
        for field in record.fields
    )
    assert {f.name for f in INDEXABLE} == {
        f.name for f in REGISTRY if f.config_records and all(r.complete for r in f.config_records.values())
    }
    # A type whose item lacks a key reference the finder reads stays on its API finder.
    assert "rds-db-instances" not in {f.name for f in INDEXABLE}
    assert FINDERS["rds-db-instances"].config_records["AWS::RDS::DBInstance"].missing


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("finder", INDEXABLE, ids=lambda f: f.name)
def test_generated_queries_find_each_covered_type_by_every_form_of_the_key(finder: Any, form: str) -> None:
    # Given the queries generated for a finder Config can replace
    queries = build_queries([finder], key_forms(IDENTITY, REGION))

    # Then there is one per (type, key field), each within Config's length limit, each asking for
    # every form of the key
    records = finder.config_records
    assert {(q.resource_type, q.field) for q in queries} == {
        (rtype, f) for rtype, record in records.items() for f in record.fields
    }
    for query in queries:
        assert len(query.expression) <= MAX_EXPRESSION
        select = parse(query.expression)  # within the subset the benchmark's emulator evaluates
        config_type = records[query.resource_type].resource_type
        # When an item of that type names the key in this form, the query selects it ...
        assert select.matches(_item(config_type, query.field, FORMS[form]))
        # ... and not one naming another key, nor an item of another type
        assert not select.matches(_item(config_type, query.field, OTHER))
        assert not select.matches(_item("AWS::Other::Thing", query.field, FORMS[form]))


def test_forms_too_many_for_one_expression_are_split_over_queries() -> None:
    # Given a key with 120 aliases: every form does not fit in 4,096 characters
    aliases = frozenset(f"alias/application-{n:03d}-data" for n in range(120))
    identity = KeyIdentity(key_arn=IDENTITY.key_arn, aliases=aliases)
    forms = key_forms(identity, REGION)

    queries = build_queries([FINDERS["sqs-queues"]], forms)

    assert len(queries) > 1
    assert all(len(q.expression) <= MAX_EXPRESSION for q in queries)
    asked = set().union(*(c.values for q in queries for c in parse(q.expression).conditions[1:]))
    assert asked == set(forms)


def test_aggregator_queries_ask_other_accounts_in_the_region_by_key_arn() -> None:
    (query,) = build_queries(
        [FINDERS["sqs-queues"]],
        [IDENTITY.key_arn],
        aggregator="org",
        region=REGION,
        exclude_account=ACCOUNT,
    )
    select = parse(query.expression)
    theirs = _item(
        "AWS::SQS::Queue", query.field, IDENTITY.key_arn, awsRegion=REGION, accountId="999988887777"
    )
    assert select.matches(theirs)
    assert not select.matches({**theirs, "accountId": ACCOUNT})
    assert not select.matches({**theirs, "awsRegion": "eu-west-1"})


def test_key_forms_are_regional_for_aliases_and_ids() -> None:
    replica = IDENTITY.key_arn.replace(REGION, "eu-west-1")
    identity = KeyIdentity(
        key_arn=IDENTITY.key_arn, aliases=IDENTITY.aliases, related_arns=frozenset({replica})
    )
    assert set(key_forms(identity, REGION)) == {*FORMS.values(), replica}
    assert set(key_forms(identity, "eu-west-1")) == {IDENTITY.key_arn, replica, KEY_ID}


# -- the recorder's scope ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("recorder", "status", "expected"),
    [
        pytest.param({}, None, "AWS Config has no configuration recorder in this Region", id="no-recorder"),
        pytest.param(RECORDER, {**RECORDING, "recording": False}, "not recording", id="stopped"),
        pytest.param(
            RECORDER,
            {**RECORDING, "lastStatus": "FAILURE", "lastErrorCode": "AccessDenied"},
            "failed",
            id="failing",
        ),
        pytest.param(
            {**RECORDER, "recordingGroup": {"allSupported": True}},
            RECORDING,
            None,
            id="all-supported-continuous",
        ),
        pytest.param(
            {
                **RECORDER,
                "recordingGroup": {"allSupported": True},
                "recordingMode": {"recordingFrequency": "DAILY"},
            },
            RECORDING,
            "daily",
            id="daily",
        ),
        pytest.param(
            {
                **RECORDER,
                "recordingGroup": {"allSupported": True},
                "recordingMode": {
                    "recordingFrequency": "DAILY",
                    "recordingModeOverrides": [
                        {"resourceTypes": ["AWS::SQS::Queue"], "recordingFrequency": "CONTINUOUS"}
                    ],
                },
            },
            RECORDING,
            None,
            id="daily-with-continuous-override",
        ),
        pytest.param(
            {
                **RECORDER,
                "recordingGroup": {
                    "allSupported": False,
                    "resourceTypes": ["AWS::S3::Bucket"],
                    "recordingStrategy": {"useOnly": "INCLUSION_BY_RESOURCE_TYPES"},
                },
            },
            RECORDING,
            "does not record AWS::SQS::Queue",
            id="not-included",
        ),
        pytest.param(
            {
                **RECORDER,
                "recordingGroup": {
                    "allSupported": False,
                    "exclusionByResourceTypes": {"resourceTypes": ["AWS::SQS::Queue"]},
                    "recordingStrategy": {"useOnly": "EXCLUSION_BY_RESOURCE_TYPES"},
                },
            },
            RECORDING,
            "does not record AWS::SQS::Queue",
            id="excluded",
        ),
        pytest.param(
            {**RECORDER, "servicePrincipal": "config-conforms.amazonaws.com"},
            RECORDING,
            "no configuration recorder",
            id="service-linked-only",
        ),
    ],
)
def test_the_recorder_decides_what_the_index_may_answer(
    recorder: dict[str, Any], status: dict[str, Any] | None, expected: str | None
) -> None:
    scope = RecordingScope.from_api([recorder] if recorder else [], [status] if status else [])
    refusal = scope.refusal("AWS::SQS::Queue")
    if expected is None:
        assert refusal is None
    else:
        assert refusal is not None
        assert expected in refusal


# -- the planner, end to end with stubbed answers ------------------------------------------------

SQS = FINDERS["sqs-queues"]
QUEUE_URL = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/api-queue"


def _factory() -> ClientFactory:
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return ClientFactory(session, config=FAST_FAIL)


def _row(name: str, key: str, **extra: Any) -> str:
    row = {
        "resourceId": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
        "resourceName": name,
        "resourceType": "AWS::SQS::Queue",
        "arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
        "awsRegion": REGION,
        "accountId": ACCOUNT,
        "configurationItemCaptureTime": CAPTURED,
        "configurationItemStatus": "OK",
        "configuration": {"KmsMasterKeyId": key},
        **extra,
    }
    return json.dumps(row)


def _recording(config: Stubber, recorder: dict[str, Any] | None = None) -> None:
    group = {"allSupported": True, "recordingStrategy": {"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"}}
    config.add_response(
        "describe_configuration_recorders",
        {"ConfigurationRecorders": [recorder or {**RECORDER, "recordingGroup": group}]},
    )
    config.add_response(
        "describe_configuration_recorder_status", {"ConfigurationRecordersStatus": [RECORDING]}
    )


def _api_answers(sqs: Stubber) -> None:
    sqs.add_response("list_queues", {"QueueUrls": [QUEUE_URL]})
    sqs.add_response(
        "get_queue_attributes",
        {
            "Attributes": {
                "KmsMasterKeyId": "alias/app-data",
                "QueueArn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:api-queue",
            }
        },
    )


def _discover(factory: ClientFactory, aggregator: str = "none", workers: int = 2) -> Any:
    return discover(
        IDENTITY,
        factory,
        deadline=later(),
        finders=[SQS],
        evidence=False,
        config_index=True,
        aggregator=aggregator,
        max_workers=workers,
    )


def test_a_continuously_recorded_type_is_answered_from_the_index_with_its_capture_time() -> None:
    # Given Config records every type continuously, and its index holds our queue (named by alias),
    # a deleted queue that named the key and a queue using another key
    factory = _factory()
    with (
        Stubber(factory.client("config", REGION)) as config,
        Stubber(factory.client("sqs", REGION)) as sqs,
    ):
        _recording(config)
        config.add_response(
            "select_resource_config",
            {
                "Results": [
                    _row("orders", "alias/app-data"),
                    _row("gone", IDENTITY.key_arn, configurationItemStatus="ResourceDeleted"),
                    _row("theirs", OTHER),
                ]
            },
        )
        # When discovery runs
        section = _discover(factory)
        # Then SQS's own API was not called at all
        sqs.assert_no_pending_responses()
        config.assert_no_pending_responses()

    # And the queue is reported as found through the index, with the time Config captured it
    (item,) = section.items
    assert (item.name, item.via, item.captured_at) == ("orders", "config", CAPTURED)
    assert "KmsMasterKeyId = alias/app-data" in item.evidence
    assert section.complete
    # And the alert says the answer came from the index and how fresh it is
    index = section.index
    assert index is not None
    assert index.used
    assert index.resource_types == ["AWS::SQS::Queue"]
    assert index.recording == "continuous"
    assert index.oldest_capture == CAPTURED
    assert index.note is not None
    assert "within minutes" in index.note
    assert "not proof of absence" in index.note


def test_an_index_answer_shows_the_name_tag_beside_the_id() -> None:
    # Given the index holds our queue with a Name tag (Config returns tags with the item)
    factory = _factory()
    with Stubber(factory.client("config", REGION)) as config, Stubber(factory.client("sqs", REGION)):
        _recording(config)
        tags = [{"key": "team", "value": "payments"}, {"key": "Name", "value": "Orders queue"}]
        config.add_response(
            "select_resource_config", {"Results": [_row("orders", "alias/app-data", tags=tags)]}
        )
        # When discovery runs
        section = _discover(factory)

    # Then the item carries the name a person knows beside the id, from the same answer
    (item,) = section.items
    assert item.name == "orders (Orders queue)"


@pytest.mark.parametrize(
    ("recorders", "reason"),
    [
        pytest.param([], "no configuration recorder", id="config-off"),
        pytest.param(
            [
                {
                    **RECORDER,
                    "recordingGroup": {"allSupported": True},
                    "recordingMode": {"recordingFrequency": "DAILY"},
                }
            ],
            "daily",
            id="daily-mode",
        ),
        pytest.param(
            [{**RECORDER, "recordingGroup": {"allSupported": False, "resourceTypes": ["AWS::S3::Bucket"]}}],
            "does not record AWS::SQS::Queue",
            id="type-not-recorded",
        ),
    ],
)
def test_types_the_index_cannot_answer_are_searched_through_their_api(
    recorders: list[dict[str, Any]], reason: str
) -> None:
    factory = _factory()
    with (
        Stubber(factory.client("config", REGION)) as config,
        Stubber(factory.client("sqs", REGION)) as sqs,
    ):
        config.add_response("describe_configuration_recorders", {"ConfigurationRecorders": recorders})
        config.add_response(
            "describe_configuration_recorder_status", {"ConfigurationRecordersStatus": [RECORDING]}
        )
        _api_answers(sqs)
        section = _discover(factory)
        sqs.assert_no_pending_responses()

    (item,) = section.items
    assert (item.name, item.via, item.captured_at) == ("api-queue", "api", None)
    assert section.complete
    assert section.index is not None
    assert not section.index.used
    assert [(f.resource_type, reason in f.reason) for f in section.index.fallback] == [
        ("AWS::SQS::Queue", True)
    ]
    assert section.index.note is not None
    assert section.index.note.startswith("AWS Config index not used")


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(("describe_configuration_recorders", "AccessDeniedException"), id="recorder-unreadable"),
        pytest.param(("select_resource_config", "InvalidExpressionException"), id="query-refused"),
    ],
)
def test_when_config_cannot_answer_the_api_finder_takes_over(failure: tuple[str, str]) -> None:
    operation, code = failure
    factory = _factory()
    with (
        Stubber(factory.client("config", REGION)) as config,
        Stubber(factory.client("sqs", REGION)) as sqs,
    ):
        if operation == "select_resource_config":
            _recording(config)
        config.add_client_error(operation, service_error_code=code, http_status_code=400)
        _api_answers(sqs)
        section = _discover(factory)
        sqs.assert_no_pending_responses()

    assert [(i.name, i.via) for i in section.items] == [("api-queue", "api")]
    assert section.complete
    assert section.index is not None
    assert any(code in f.reason for f in section.index.fallback)


def test_an_organization_aggregator_adds_other_accounts_resources_that_name_the_key_arn() -> None:
    # Given the account's own index holds nothing for the key, and an organization aggregator
    # covering the Region holds a queue of another account encrypted with it
    factory = _factory()
    theirs = "999988887777"
    with Stubber(factory.client("config", REGION)) as config:
        _recording(config)
        config.add_response(
            "describe_configuration_aggregators",
            {
                "ConfigurationAggregators": [
                    {
                        "ConfigurationAggregatorName": "org",
                        "OrganizationAggregationSource": {
                            "RoleArn": "arn:aws:iam::1:role/r",
                            "AllAwsRegions": True,
                        },
                    }
                ]
            },
        )
        config.add_response("select_resource_config", {"Results": []})
        config.add_response(
            "select_aggregate_resource_config",
            {
                "Results": [
                    _row(
                        "shared",
                        IDENTITY.key_arn,
                        accountId=theirs,
                        arn=f"arn:aws:sqs:{REGION}:{theirs}:shared",
                    ),
                    _row("alias-elsewhere", "alias/app-data", accountId=theirs),
                ]
            },
        )
        # (one worker: the Stubber answers in order, local query first)
        section = _discover(factory, aggregator="auto", workers=1)

    # Then the other account's queue is reported (an alias in another account is not our alias)
    assert [(i.name, i.arn) for i in section.items] == [("shared", f"arn:aws:sqs:{REGION}:{theirs}:shared")]
    assert theirs in section.items[0].evidence
    assert section.index is not None
    assert section.index.aggregator == "org"


def test_the_registry_default_uses_the_index_and_explicit_finders_do_not() -> None:
    # Given an explicit finder list (as tests and callers with their own finders pass), no Config
    # call is made unless asked for: only the stubbed SQS answers are used
    factory = _factory()
    with Stubber(factory.client("sqs", REGION)) as sqs:
        _api_answers(sqs)
        section = discover(IDENTITY, factory, deadline=later(), finders=[SQS], evidence=False)
        sqs.assert_no_pending_responses()
    assert section.index is None
    assert [i.via for i in section.items] == ["api"]
