"""``keyguard audit`` and unconfirmed subscriptions: the account is moto (in process), SNS's
``ListSubscriptionsByTopic`` answers are stubbed in the real shape, because moto confirms every
subscription at once. An unconfirmed subscription is listed with ``SubscriptionArn``
"PendingConfirmation" and delivers nothing
(https://docs.aws.amazon.com/sns/latest/api/API_Subscription.html)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from keyguard_cli.audit import Auditor, CheckResult
from keyguard_cli.checkers import CIS_4_7_PATTERN
from keyguard_cli.session import CountingClientFactory
from shared.aws import ClientFactory
from tests.cli.conftest import PROJECT_PATTERN, _zip

REGION = "us-east-1"
ACCOUNT = "123456789012"
METRIC = "CIS-4.7-DisableOrScheduleDeletionOfCMK"


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


def _client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def _cis_chain_to(topic: str) -> None:
    """A compliant CIS 4.7 chain whose alarm notifies ``topic``."""
    _client("s3").create_bucket(Bucket="trail-logs")
    _client("logs").create_log_group(logGroupName="cloudtrail/management")
    trail = _client("cloudtrail")
    trail.create_trail(
        Name="management-events",
        S3BucketName="trail-logs",
        IsMultiRegionTrail=True,
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:cloudtrail/management:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{ACCOUNT}:role/cloudtrail-to-logs",
    )
    trail.put_event_selectors(
        TrailName="management-events",
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
    )
    trail.start_logging(Name="management-events")
    _client("logs").put_metric_filter(
        logGroupName="cloudtrail/management",
        filterName=METRIC,
        filterPattern=CIS_4_7_PATTERN,
        metricTransformations=[{"metricName": METRIC, "metricNamespace": "CISBenchmark", "metricValue": "1"}],
    )
    _client("cloudwatch").put_metric_alarm(
        AlarmName=METRIC,
        MetricName=METRIC,
        Namespace="CISBenchmark",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic],
    )


def _guard_function(alert_topic: str, health_topic: str) -> None:
    """The project's rule, targeting a function configured with its two topics."""
    role = _client("iam").create_role(
        RoleName="kms-keyguard-KeyEventsRole",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
    )["Role"]["Arn"]
    function = _client("lambda").create_function(
        FunctionName="kms-keyguard-KeyEventsFunction-1A2B3C",
        Runtime="python3.13",
        Role=role,
        Handler="handlers.key_events.lambda_handler",
        Code={"ZipFile": _zip({"handlers/key_events.py": "def lambda_handler(event, context):\n    pass\n"})},
        Environment={"Variables": {"ALERT_TOPIC_ARN": alert_topic, "HEALTH_TOPIC_ARN": health_topic}},
    )["FunctionArn"]
    events = _client("events")
    events.put_rule(Name="kms-keyguard-KeyEventsRule-ABC123", EventPattern=json.dumps(PROJECT_PATTERN))
    events.put_targets(Rule="kms-keyguard-KeyEventsRule-ABC123", Targets=[{"Id": "fn", "Arn": function}])


def _subscription(topic: str, *, confirmed: bool) -> dict[str, str]:
    """One entry of ListSubscriptionsByTopic, as SNS returns it."""
    return {
        "SubscriptionArn": f"{topic}:0f1e2d3c-4b5a-4697-8a8b-9c0d1e2f3a4b"
        if confirmed
        else "PendingConfirmation",
        "Owner": ACCOUNT,
        "Protocol": "email",
        "Endpoint": "oncall@example.com",
        "TopicArn": topic,
    }


def _audit(answers: dict[str, list[dict[str, str]]]) -> dict[str, CheckResult]:
    """Audit the Region with SNS answering ``answers`` (topic -> subscriptions), in topic order."""
    clients = ClientFactory()
    with Stubber(clients.client("sns", REGION)) as sns:
        for topic, subscriptions in answers.items():
            sns.add_response(
                "list_subscriptions_by_topic", {"Subscriptions": subscriptions}, {"TopicArn": topic}
            )
        audit = Auditor(clients, ACCOUNT).region(REGION)
        sns.assert_no_pending_responses()
    return {check.id: check for check in audit.checks}


def _topic(name: str) -> str:
    return str(_client("sns").create_topic(Name=name)["TopicArn"])


@pytest.mark.usefixtures("aws")
def test_the_cis_alarm_topic_with_only_a_pending_subscription_fails() -> None:
    # Given the CIS 4.7 chain, whose alarm's topic has only a subscription nobody confirmed
    topic = _topic("security-alarms")
    _cis_chain_to(topic)

    # When the Region is audited
    checks = _audit({topic: [_subscription(topic, confirmed=False)]})

    # Then the chain is sound up to the alarm, and the notification fails with the reason and the fix
    assert [checks[c].status for c in ("trail", "log-group", "metric-filter", "alarm")] == ["PASS"] * 4
    notification = checks["notification"]
    assert notification.status == "FAIL"
    assert notification.reason == "security-alarms has no confirmed subscription (1 pending confirmation)"
    assert notification.fix is not None
    assert "then confirm it" in notification.fix


@pytest.mark.usefixtures("aws")
def test_the_cis_alarm_topic_with_a_confirmed_subscription_passes() -> None:
    topic = _topic("security-alarms")
    _cis_chain_to(topic)

    checks = _audit({topic: [_subscription(topic, confirmed=False), _subscription(topic, confirmed=True)]})

    assert checks["notification"].status == "PASS"
    assert checks["notification"].reason == "security-alarms (1 confirmed: email)"


@pytest.mark.usefixtures("aws")
def test_the_guards_health_topic_with_only_a_pending_subscription_fails() -> None:
    # Given the project's function, its alert topic confirmed and its health topic only pending
    alert, health = _topic("kms-keyguard-alerts"), _topic("kms-keyguard-health")
    _guard_function(alert, health)

    # When the Region is audited (no CIS chain: only the guard's topics are asked about)
    checks = _audit(
        {alert: [_subscription(alert, confirmed=True)], health: [_subscription(health, confirmed=False)]}
    )

    # Then the guard's topics check fails, naming the health topic, and tells how to fix it
    guard = checks["guard-topics"]
    assert guard.status == "FAIL"
    assert (
        guard.reason
        == "HEALTH_TOPIC_ARN: kms-keyguard-health has no confirmed subscription (1 pending confirmation)"
    )
    assert guard.fix is not None
    assert guard.fix.startswith(f"aws sns subscribe --topic-arn {health} ")
    assert checks["eventbridge-rule"].status == "PASS"


@pytest.mark.usefixtures("aws")
def test_the_guards_topics_both_confirmed_pass() -> None:
    alert, health = _topic("kms-keyguard-alerts"), _topic("kms-keyguard-health")
    _guard_function(alert, health)

    checks = _audit(
        {alert: [_subscription(alert, confirmed=True)], health: [_subscription(health, confirmed=True)]}
    )

    assert checks["guard-topics"].status == "PASS"
    assert checks["guard-topics"].details["topics"] == sorted([alert, health])


@pytest.mark.usefixtures("aws")
def test_a_member_account_forwarding_to_the_hubs_bus_passes_and_says_the_topics_are_the_hubs() -> None:
    # Given an organization member: the project's rule forwards to the hub's central bus
    events = _client("events")
    events.put_rule(Name="kms-keyguard-member-KeyEvents", EventPattern=json.dumps(PROJECT_PATTERN))
    bus = "arn:aws:events:us-east-1:999999999999:event-bus/kms-keyguard"
    events.put_targets(Rule="kms-keyguard-member-KeyEvents", Targets=[{"Id": "hub", "Arn": bus}])

    # When the Region is audited (no topic of the guard's in this account to ask about)
    checks = _audit({})

    # Then the guard's topics are not this account's to confirm, and the report says where they are
    assert checks["guard-topics"].status == "PASS"
    assert checks["guard-topics"].reason.startswith(f"the kms-keyguard rule forwards to {bus}:")


@pytest.mark.usefixtures("aws")
def test_where_the_rule_targets_the_function_the_audit_calls_only_its_listed_reads() -> None:
    from keyguard_cli.audit import AUDIT_ACTIONS, FUNCTION_AUDIT_ACTIONS

    # Given the project's function (a single-account stack or the hub) behind its rule
    alert, health = _topic("kms-keyguard-alerts"), _topic("kms-keyguard-health")
    _guard_function(alert, health)
    calls: set[str] = set()
    names = {"monitoring": "cloudwatch"}

    def record(call: str) -> None:
        service, operation = call.split(":", 1)
        calls.add(f"{names.get(service, service)}:{operation}")

    clients = CountingClientFactory(boto3.Session(region_name=REGION), on_call=record)

    # When the Region is audited
    Auditor(clients, ACCOUNT).region(REGION)

    # Then it reads the function's configuration, and nothing beyond the documented read calls
    assert "lambda:GetFunctionConfiguration" in calls
    assert calls <= AUDIT_ACTIONS | FUNCTION_AUDIT_ACTIONS, sorted(
        calls - AUDIT_ACTIONS - FUNCTION_AUDIT_ACTIONS
    )
