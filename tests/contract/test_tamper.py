"""Tampering with the guard or its inputs reaches the responder at once, through exactly one rule.

Every call the guard must see (CloudTrail on any trail; EventBridge, Lambda, SNS, CloudWatch, Logs,
DynamoDB and SQS calls on the stack's own resources) is built as the CloudTrail record AWS
documents, put on a moto default bus carrying the deployed patterns, and must reach exactly the
tamper rule named in the table; the same call on somebody else's resource must reach none.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto import mock_aws

from tests.contract.bus import Bus
from tests.contract.deployed import ACCOUNT, REGION, event_patterns, physical_names
from tests.contract.records import api_call

TRAIL = "TamperTrailRule"
COMPUTE = "TamperComputeRule"
ALERTING = "TamperAlertingRule"
TAMPER_RULES = (TRAIL, COMPUTE, ALERTING)

CLOUDTRAIL_LOG_GROUP = "aws-cloudtrail-logs-111122223333-0a1b2c3d"
PARAMETERS = {"CloudTrailLogGroupName": CLOUDTRAIL_LOG_GROUP}
SUBSCRIPTION = "6c7d3e12-4a5b-4c6d-8e9f-0a1b2c3d4e5f"
EVENT_BUS_RULES = (
    "KeyEventsRule",
    "LifecycleRule",
    "KeyDeletedRule",
    "TripwireRule",
    "TamperComputeRule",
    "TamperAlertingRule",
    "ReminderSchedule",
    "ReconcileSchedule",
)
FUNCTIONS = ("KeyEventsFunction", "ReminderFunction", "ReconcileFunction")


@pytest.fixture(scope="module")
def names(template: dict[str, Any]) -> dict[str, dict[str, str]]:
    return physical_names(template, PARAMETERS)


@pytest.fixture(scope="module")
def bus(template: dict[str, Any]) -> Iterator[Bus]:
    with mock_aws():
        yield Bus(event_patterns(template, PARAMETERS))


Names = dict[str, dict[str, str]]
# (service, event names as CloudTrail records them) -> (the rule, requestParameters naming one of
# the stack's resources, requestParameters naming a resource of someone else).
Case = tuple[str, str, Callable[[Names], dict[str, Any]], dict[str, Any] | None]


def _function(logical: str, form: str) -> Callable[[Names], dict[str, Any]]:
    def build(n: Names) -> dict[str, Any]:
        name, arn = n[logical]["Ref"], n[logical]["Arn"]
        value = {
            "name": name,
            "arn": arn,
            "partial arn": f"{ACCOUNT}:function:{name}",
            "qualified arn": f"{arn}:$LATEST",
            "qualified name": f"{name}:live",
        }[form]
        return {"functionName": value}

    return build


OTHER_FUNCTION = {"functionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:payments-api"}

CASES: dict[str, Case] = {
    # CloudTrail: any trail (the guard is blind without one).
    **{
        f"cloudtrail {call}": (TRAIL, call, lambda n, call=call: {"name": "management-events"}, None)
        for call in ("StopLogging", "DeleteTrail", "UpdateTrail")
    },
    "cloudtrail PutEventSelectors": (
        TRAIL,
        "PutEventSelectors",
        lambda n: {"trailName": "management-events", "eventSelectors": [{"readWriteType": "ReadOnly"}]},
        None,
    ),
    # EventBridge: the stack's rules, by name.
    **{
        f"events {call} {rule}": (
            TRAIL,
            call,
            lambda n, rule=rule: {"name": n[rule]["Ref"]},
            {"name": "billing"},
        )
        for call in ("DisableRule", "DeleteRule", "PutRule")
        for rule in EVENT_BUS_RULES
    },
    **{
        f"events {call} {rule}": (
            TRAIL,
            call,
            lambda n, rule=rule: {"rule": n[rule]["Ref"], "ids": ["KeyEventsFunction"]},
            {"rule": "billing", "ids": ["1"]},
        )
        for call in ("RemoveTargets", "PutTargets")
        for rule in EVENT_BUS_RULES
    },
    # Lambda: recorded with and without an API-version suffix, naming the function in any form.
    **{
        f"lambda {call} {logical} by {form}": (COMPUTE, call, _function(logical, form), OTHER_FUNCTION)
        for call in (
            "DeleteFunction",
            "DeleteFunction20150331",
            "PutFunctionConcurrency",
            "PutFunctionConcurrency20171031",
            "DeleteFunctionConcurrency",
            "DeleteFunctionConcurrency20171031",
            "UpdateFunctionConfiguration",
            "UpdateFunctionConfiguration20150331v2",
            "RemovePermission",
            "RemovePermission20150331v2",
            "UpdateFunctionCode20150331v2",
            "DeleteFunctionEventInvokeConfig",
            "PutFunctionEventInvokeConfig",
        )
        for logical in FUNCTIONS
        for form in ("name", "arn", "partial arn", "qualified arn", "qualified name")
        if logical == "KeyEventsFunction" or form == "name"
    },
    # SNS: both topics of the stack.
    **{
        f"sns {call} {topic}": (
            ALERTING,
            call,
            lambda n, topic=topic: {"topicArn": n[topic]["Ref"]},
            {"topicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:orders"},
        )
        for call in ("DeleteTopic", "SetTopicAttributes")
        for topic in ("AlertTopic", "HealthTopic")
    },
    **{
        f"sns Unsubscribe {topic}": (
            ALERTING,
            "Unsubscribe",
            lambda n, topic=topic: {"subscriptionArn": f"{n[topic]['Ref']}:{SUBSCRIPTION}"},
            {"subscriptionArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:orders:{SUBSCRIPTION}"},
        )
        for topic in ("AlertTopic", "HealthTopic")
    },
    # CloudWatch: the stack's alarms, the CIS 4.7 alarm and the heartbeat alarms included.
    **{
        f"cloudwatch {call} {alarm}": (
            ALERTING,
            call,
            lambda n, alarm=alarm: {"alarmNames": ["unrelated-alarm", n[alarm]["Ref"]]},
            {"alarmNames": ["unrelated-alarm"]},
        )
        for call in ("DisableAlarmActions", "DeleteAlarms")
        for alarm in (
            "KeyEventsFunctionErrorsAlarm",
            "CisDisableOrScheduleDeletionAlarm",
            "TamperTrailRuleHeartbeatAlarm",
        )
    },
    # Logs: the CIS metric filter on the CloudTrail log group, the functions' log groups.
    "logs DeleteMetricFilter CIS": (
        ALERTING,
        "DeleteMetricFilter",
        lambda n: {
            "logGroupName": CLOUDTRAIL_LOG_GROUP,
            "filterName": "CIS-4.7-DisableOrScheduleDeletionOfCMK",
        },
        {"logGroupName": "/aws/lambda/payments-api", "filterName": "errors"},
    ),
    **{
        f"logs DeleteLogGroup {group}": (
            ALERTING,
            "DeleteLogGroup",
            lambda n, group=group: {"logGroupName": n[group]["Ref"]},
            {"logGroupName": "/aws/lambda/payments-api"},
        )
        for group in ("KeyEventsLogGroup", "ReminderLogGroup", "ReconcileLogGroup")
    },
    "logs DeleteLogGroup CloudTrail": (
        ALERTING,
        "DeleteLogGroup",
        lambda n: {"logGroupName": CLOUDTRAIL_LOG_GROUP},
        None,
    ),
    # DynamoDB: the idempotency table by name or ARN.
    **{
        f"dynamodb {call} by {form}": (
            COMPUTE,
            call,
            lambda n, form=form: {"tableName": n["IdempotencyTable"][form]},
            {"tableName": "orders"},
        )
        for call in ("DeleteTable", "UpdateTable")
        for form in ("Ref", "Arn")
    },
    # SQS: both failure queues, by either of the URL forms SQS accepts.
    **{
        f"sqs {call} {queue} {host}": (
            COMPUTE,
            call,
            lambda n, queue=queue, host=host: {
                "queueUrl": f"https://{host}/{ACCOUNT}/{n[queue]['QueueName']}",
            },
            {"queueUrl": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/orders"},
        )
        for call in ("DeleteQueue", "SetQueueAttributes", "PurgeQueue")
        for queue in ("FailureQueue", "RuleDeadLetterQueue")
        for host in (f"sqs.{REGION}.amazonaws.com", f"{REGION}.queue.amazonaws.com")
    },
}

SERVICE_OF_RULE_CASE = {
    "cloudtrail": "cloudtrail",
    "events": "events",
    "lambda": "lambda",
    "sns": "sns",
    "cloudwatch": "monitoring",
    "logs": "logs",
    "dynamodb": "dynamodb",
    "sqs": "sqs",
}

# The calls the guard must see, as the requirement lists them (before any API-version suffix).
REQUIRED = {
    "cloudtrail": {"StopLogging", "DeleteTrail", "UpdateTrail", "PutEventSelectors"},
    "events": {"DisableRule", "DeleteRule", "RemoveTargets", "PutRule"},
    "lambda": {
        "DeleteFunction",
        "PutFunctionConcurrency",
        "DeleteFunctionConcurrency",
        "UpdateFunctionConfiguration",
        "RemovePermission",
    },
    "sns": {"DeleteTopic", "SetTopicAttributes", "Unsubscribe"},
    "cloudwatch": {"DisableAlarmActions", "DeleteAlarms"},
    "logs": {"DeleteMetricFilter", "DeleteLogGroup"},
    "dynamodb": {"DeleteTable", "UpdateTable"},
    "sqs": {"DeleteQueue", "SetQueueAttributes", "PurgeQueue"},
}


def _event(case: str, names: Names, ours: bool) -> dict[str, Any] | None:
    _, call, build, other = CASES[case]
    service = SERVICE_OF_RULE_CASE[case.split()[0]]
    if ours:
        return api_call(service, call, build(names))
    return None if other is None else api_call(service, call, other)


def test_every_required_call_has_a_case_with_and_without_an_api_version_suffix() -> None:
    covered: dict[str, set[str]] = {}
    for case, (_, call, _, _) in CASES.items():
        covered.setdefault(case.split()[0], set()).add(call)
    for service, calls in REQUIRED.items():
        assert calls <= covered[service], f"{service}: {sorted(calls - covered[service])}"
    # Lambda records these with an API-version suffix; both spellings are routed.
    assert {"DeleteFunction20150331", "UpdateFunctionConfiguration20150331v2"} <= covered["lambda"]


@pytest.mark.parametrize("case", CASES, ids=str)
def test_tampering_with_the_stacks_resources_reaches_exactly_one_tamper_rule(
    bus: Bus, names: Names, case: str
) -> None:
    # Given the call as CloudTrail records it, naming one of the stack's resources
    envelope = _event(case, names, ours=True)
    assert envelope is not None

    # When it is put on the default bus
    matched = bus.route(envelope)

    # Then the tamper rule for that service receives it, and no other rule
    assert matched == {CASES[case][0]}
    assert bus.reference_route(envelope) == matched


@pytest.mark.parametrize("case", [c for c, spec in CASES.items() if spec[3] is not None], ids=str)
def test_the_same_call_on_someone_elses_resource_reaches_no_rule(bus: Bus, names: Names, case: str) -> None:
    envelope = _event(case, names, ours=False)
    assert envelope is not None
    assert bus.route(envelope) == set()
    assert bus.reference_route(envelope) == set()


@pytest.mark.parametrize(
    ("service", "call", "parameters"),
    [
        ("lambda", "GetFunction", {"functionName": "KeyEventsFunction"}),
        ("lambda", "Invoke", {"functionName": "KeyEventsFunction"}),
        ("events", "DescribeRule", {"name": "KeyEventsRule"}),
        ("sns", "Publish", {"topicArn": "AlertTopic"}),
        ("sns", "Subscribe", {"topicArn": "AlertTopic"}),
        ("cloudtrail", "LookupEvents", {}),
        ("dynamodb", "DescribeTable", {"tableName": "IdempotencyTable"}),
    ],
)
def test_reads_and_ordinary_use_of_the_stack_are_not_tampering(
    bus: Bus, names: Names, service: str, call: str, parameters: dict[str, str]
) -> None:
    resolved = {key: names[value]["Ref"] if value in names else value for key, value in parameters.items()}
    envelope = api_call(service, call, resolved)
    assert bus.route(envelope) == set()
    assert bus.reference_route(envelope) == set()


def test_a_stop_logging_record_from_the_aws_documentation_is_routed(bus: Bus) -> None:
    # Given StopLogging on a trail, as an assumed-role session records it
    envelope = api_call(
        "cloudtrail",
        "StopLogging",
        {"name": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/management-events"},
        userIdentity={
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEID:mallory",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/mallory",
            "accountId": ACCOUNT,
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": "AROAEXAMPLEID",
                    "arn": f"arn:aws:iam::{ACCOUNT}:role/Admin",
                    "accountId": ACCOUNT,
                    "userName": "Admin",
                }
            },
        },
    )

    # Then the trail tamper rule routes it
    assert bus.route(envelope) == {TRAIL}


def test_every_tamper_rule_retries_and_dead_letters_like_the_others(resources: dict[str, Any]) -> None:
    reference = resources["KeyEventsRule"]["Properties"]["Targets"][0]
    for rule in TAMPER_RULES:
        (target,) = resources[rule]["Properties"]["Targets"]
        assert target["Arn"] == {"Fn::GetAtt": ["KeyEventsFunction", "Arn"]}
        assert target["RetryPolicy"] == reference["RetryPolicy"]
        assert target["DeadLetterConfig"] == reference["DeadLetterConfig"]
        assert resources[rule]["Properties"]["State"] == "ENABLED"


def test_the_trail_rule_names_every_other_rule_of_the_stack(template: dict[str, Any]) -> None:
    # A rule cannot name itself (a circular reference, and its own DisableRule would arrive after
    # it is disabled): the trail tamper rule is watched by its heartbeat instead.
    # The central bus's rules are covered as a whole, by the bus's name (test_organization.py).
    rules = {
        name
        for name, body in template["Resources"].items()
        if body["Type"] == "AWS::Events::Rule" and "EventBusName" not in body["Properties"]
    }
    assert set(EVENT_BUS_RULES) == rules - {TRAIL}


# EventBridge's default quota is 2,048 characters per event pattern (adjustable to 4,096):
# https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-quota.html. The tamper patterns name
# the stack's resources, whose generated names grow with the stack name.
PATTERN_LIMIT = 2048
LONGEST_STACK_NAME = 80
LONGEST_LOG_GROUP = 128


@pytest.mark.parametrize("stack_length", [12, 40, LONGEST_STACK_NAME])
def test_every_pattern_fits_eventbridges_size_limit(template: dict[str, Any], stack_length: int) -> None:
    parameters = {"AWS::StackName": "k" * stack_length, "CloudTrailLogGroupName": "c" * LONGEST_LOG_GROUP}
    for rule, pattern in event_patterns(template, parameters).items():
        size = len(json.dumps(pattern, separators=(",", ":")))
        assert size <= PATTERN_LIMIT, f"{rule}: {size} characters with a {stack_length}-character stack name"


def test_without_a_cloudtrail_log_group_only_the_functions_log_groups_are_watched(
    template: dict[str, Any],
) -> None:
    pattern = event_patterns(template, {"CloudTrailLogGroupName": ""})[ALERTING]
    (logs,) = [b for b in pattern["$or"][0]["detail"]["$or"] if b["eventSource"] == ["logs.amazonaws.com"]]
    assert logs["requestParameters"]["logGroupName"] == [{"prefix": "/aws/lambda/kms-keyguard/"}]
