"""The CIS 4.7 metric filter and alarm, the guard's own alarms, and where failures end up."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.cfn_yaml import Resolver, of_type

CIS_FILTER = "CisDisableOrScheduleDeletionMetricFilter"
CIS_ALARM = "CisDisableOrScheduleDeletionAlarm"
# CIS AWS Foundations Benchmark v3.0.0, 4.7, byte for byte (including the space before the brace).
CIS_PATTERN = (
    "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }"
)
TOPIC = {"Ref": "AlertTopic"}
HEALTH = {"Ref": "HealthTopic"}
# Every alarm notifies the health path: the health topic, and the external topic when one is given.
ALARM_ACTIONS = [
    HEALTH,
    {"Fn::If": ["HasExternalAlarmTopic", {"Ref": "ExternalAlarmTopicArn"}, {"Ref": "AWS::NoValue"}]},
]
EXTERNAL_TOPIC = "arn:aws:sns:us-east-1:999988887777:security-alarms"
# Alarms on something that must keep happening: no data is the failure itself.
BREACHING_WHEN_SILENT = {"Heartbeat", "Invocations"}


def test_cis_filter_pattern_is_the_benchmark_text(resources: dict[str, Any]) -> None:
    assert resources[CIS_FILTER]["Properties"]["FilterPattern"] == CIS_PATTERN


def test_cis_metric_is_named_after_the_filter_in_the_cis_namespace(resources: dict[str, Any]) -> None:
    props = resources[CIS_FILTER]["Properties"]
    (transformation,) = props["MetricTransformations"]
    assert props["LogGroupName"] == {"Ref": "CloudTrailLogGroupName"}
    assert transformation == {
        "MetricNamespace": "CISBenchmark",
        "MetricName": props["FilterName"],
        "MetricValue": "1",
    }


def test_cis_alarm_watches_that_metric_and_notifies_the_topic(resources: dict[str, Any]) -> None:
    metric = resources[CIS_FILTER]["Properties"]["MetricTransformations"][0]
    props = resources[CIS_ALARM]["Properties"]
    assert props["Namespace"] == metric["MetricNamespace"]
    assert props["MetricName"] == metric["MetricName"]
    assert "Dimensions" not in props  # the filter emits the metric without dimensions
    assert {
        "Statistic": props["Statistic"],
        "Period": props["Period"],
        "Threshold": props["Threshold"],
        "ComparisonOperator": props["ComparisonOperator"],
        "EvaluationPeriods": props["EvaluationPeriods"],
        "TreatMissingData": props["TreatMissingData"],
        "AlarmActions": props["AlarmActions"],
    } == {
        "Statistic": "Sum",
        "Period": 300,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "EvaluationPeriods": 1,
        "TreatMissingData": "notBreaching",
        "AlarmActions": ALARM_ACTIONS,
    }


@pytest.mark.parametrize(("log_group", "created"), [("", False), ("aws-cloudtrail-logs-111122223333", True)])
def test_cis_resources_exist_only_with_a_cloudtrail_log_group(
    template: dict[str, Any], log_group: str, created: bool
) -> None:
    resolver = Resolver(template, {"CloudTrailLogGroupName": log_group})
    assert resolver.resource_exists(CIS_FILTER) is created
    assert resolver.resource_exists(CIS_ALARM) is created


def test_every_alarm_notifies_the_health_path_never_the_alert_topic(resources: dict[str, Any]) -> None:
    # No single key, topic or rule silences both the responder's alerts and these alarms.
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == ALARM_ACTIONS, name
        silent = "breaching" if props["MetricName"] in BREACHING_WHEN_SILENT else "notBreaching"
        assert props["TreatMissingData"] == silent, name


@pytest.mark.parametrize(
    ("external", "actions"), [("", ["<HealthTopic>"]), (EXTERNAL_TOPIC, ["<HealthTopic>", EXTERNAL_TOPIC])]
)
def test_an_external_alarm_topic_is_notified_only_when_given(
    template: dict[str, Any], external: str, actions: list[str]
) -> None:
    resolver = Resolver(template, {"ExternalAlarmTopicArn": external, "CloudTrailLogGroupName": "trail"})
    for name, alarm in of_type(template["Resources"], "AWS::CloudWatch::Alarm").items():
        resolved = [
            a if isinstance(a, str) else f"<{a['Ref']}>"
            for a in resolver.resolve(alarm["Properties"]["AlarmActions"])
        ]
        assert resolved == actions, name


def test_every_alarm_is_named_under_the_stack_prefix(template: dict[str, Any]) -> None:
    # The tamper rule recognises the stack's alarms by this prefix (a stack name has no "/").
    resolver = Resolver(template, {"AWS::StackName": "keyguard-prod"})
    names = [
        resolver.resolve(alarm["Properties"]["AlarmName"])
        for alarm in of_type(template["Resources"], "AWS::CloudWatch::Alarm").values()
    ]
    assert all(name.startswith("kms-keyguard/keyguard-prod/") for name in names), names
    assert len(set(names)) == len(names)


def test_the_responder_is_watched_for_throttling_late_events_and_lost_failures(
    resources: dict[str, Any],
) -> None:
    for metric, statistic, threshold in (
        ("Throttles", "Sum", 0),
        ("AsyncEventAge", "Maximum", 300_000),  # milliseconds: events older than 5 minutes
        ("DestinationDeliveryFailures", "Sum", 0),
    ):
        (props,) = _alarms_on(resources, "AWS/Lambda", metric).values()
        assert _dimension(props) == {"Ref": "KeyEventsFunction"}, metric
        assert (props["Statistic"], props["Threshold"], props["ComparisonOperator"]) == (
            statistic,
            threshold,
            "GreaterThanThreshold",
        ), metric


@pytest.mark.parametrize("minutes", ["5", "15", "30"])
def test_reconciliation_that_stops_running_alarms(template: dict[str, Any], minutes: str) -> None:
    # The single-account pass, and the organization-wide sweep's worker (organization mode only)
    alarms = _alarms_on(template["Resources"], "AWS/Lambda", "Invocations")
    watched = {name: props["Dimensions"][0]["Value"]["Ref"] for name, props in alarms.items()}
    assert watched == {
        "ReconcileFunctionMissedRunsAlarm": "ReconcileFunction",
        "OrgSweepMissedRunsAlarm": "OrgSweepFunction",
    }
    for props in alarms.values():
        resolved = Resolver(template, {"ReconcileMinutes": minutes}).resolve(props)
        assert (resolved["Period"], resolved["EvaluationPeriods"], resolved["DatapointsToAlarm"]) == (
            int(minutes) * 60,
            2,
            2,
        )
        assert (resolved["ComparisonOperator"], resolved["Threshold"], resolved["TreatMissingData"]) == (
            "LessThanThreshold",
            1,
            "breaching",
        )


def _alarms_on(resources: dict[str, Any], namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    return {
        name: alarm["Properties"]
        for name, alarm in of_type(resources, "AWS::CloudWatch::Alarm").items()
        if alarm["Properties"].get("Namespace") == namespace
        and alarm["Properties"].get("MetricName") == metric
    }


def _dimension(props: dict[str, Any]) -> Any:
    # A rule on the organization's central bus is named by its bus as well (EventBusName).
    (dimension,) = [d for d in props["Dimensions"] if d["Name"] != "EventBusName"]
    return dimension["Value"]


def test_each_function_has_an_errors_alarm(resources: dict[str, Any]) -> None:
    alarms = _alarms_on(resources, "AWS/Lambda", "Errors")
    watched = {_dimension(props)["Ref"] for props in alarms.values()}
    assert watched == set(of_type(resources, "AWS::Serverless::Function"))
    for props in alarms.values():
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanThreshold", 0)


def test_each_rule_has_a_failed_invocations_alarm(resources: dict[str, Any]) -> None:
    alarms = _alarms_on(resources, "AWS/Events", "FailedInvocations")
    watched = {_dimension(props)["Ref"] for props in alarms.values()}
    assert watched == set(of_type(resources, "AWS::Events::Rule"))
    for props in alarms.values():
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_each_queue_has_a_depth_alarm(resources: dict[str, Any]) -> None:
    alarms = _alarms_on(resources, "AWS/SQS", "ApproximateNumberOfMessagesVisible")
    watched = {_dimension(props)["Fn::GetAtt"][0] for props in alarms.values()}
    assert watched == set(of_type(resources, "AWS::SQS::Queue"))
    for props in alarms.values():
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_async_failures_go_to_the_failure_queue_after_two_retries(resources: dict[str, Any]) -> None:
    config = resources["KeyEventsFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]},
    }


def test_every_rule_target_retries_and_dead_letters(resources: dict[str, Any]) -> None:
    targets = [
        (name, target)
        for name, rule in of_type(resources, "AWS::Events::Rule").items()
        for target in rule["Properties"]["Targets"]
    ]
    targets += [
        (name, s["Properties"]["Target"])
        for name, s in of_type(resources, "AWS::Scheduler::Schedule").items()
    ]
    for name, target in targets:
        assert set(target["RetryPolicy"]) == {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}, name
        assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["RuleDeadLetterQueue", "Arn"]}}, name


def test_queues_are_encrypted(resources: dict[str, Any]) -> None:
    for name, queue in of_type(resources, "AWS::SQS::Queue").items():
        props = queue["Properties"]
        assert props.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in props, name


def test_dead_letter_queue_accepts_only_this_stacks_rules(resources: dict[str, Any]) -> None:
    policy = resources["RuleDeadLetterQueuePolicy"]["Properties"]
    assert policy["Queues"] == [{"Ref": "RuleDeadLetterQueue"}]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    # The central bus's rules exist in organization mode only: {"Fn::If": [cond, arn, NoValue]}.
    sources = [s["Fn::If"][1] if "Fn::If" in s else s for s in sources]
    assert sorted(source["Fn::GetAtt"][0] for source in sources) == sorted(
        of_type(resources, "AWS::Events::Rule")
    )


def test_the_health_topic_is_encrypted_with_a_key_alarms_can_use(resources: dict[str, Any]) -> None:
    assert resources["HealthTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "HealthKey"}
    key = resources["HealthKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch, "CloudWatch alarms must be able to use the health topic's key"
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"])


def _publishers(resources: dict[str, Any], policy: str) -> tuple[list[str], list[dict[str, Any]]]:
    statements = resources[policy]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert {s["Action"] for s in allows} == {"sns:Publish"}
    # A role that exists in organization mode only: {"Fn::If": [condition, its ARN, NoValue]}.
    roles = sorted(
        (arn["Fn::If"][1] if "Fn::If" in arn else arn)["Fn::GetAtt"][0]
        for s in allows
        if "AWS" in s["Principal"]
        for arn in s["Principal"]["AWS"]
    )
    services = [s for s in allows if "Service" in s["Principal"]]
    return roles, services


def test_only_this_stacks_functions_publish_alerts(resources: dict[str, Any]) -> None:
    roles, services = _publishers(resources, "AlertTopicPolicy")
    assert roles == ["KeyEventsRole", "OrgSweepRole", "ReconcileRole", "ReminderRole"]
    assert services == []  # alarms go to the health path


def test_only_this_accounts_alarms_and_the_responder_publish_health(resources: dict[str, Any]) -> None:
    roles, services = _publishers(resources, "HealthTopicPolicy")
    assert roles == ["KeyEventsRole"]
    (alarms,) = services
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


@pytest.mark.parametrize("policy", ["AlertTopicPolicy", "HealthTopicPolicy"])
def test_topics_refuse_publishing_without_tls(resources: dict[str, Any], policy: str) -> None:
    statements = resources[policy]["Properties"]["PolicyDocument"]["Statement"]
    (deny,) = [s for s in statements if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize(("email", "subscribed"), [("", False), ("secops@example.com", True)])
def test_email_subscription_only_when_an_address_is_given(
    template: dict[str, Any], email: str, subscribed: bool
) -> None:
    resolver = Resolver(template, {"AlertEmail": email})
    assert resolver.resource_exists("AlertEmailSubscription") is subscribed
    assert resolver.resource_exists("HealthEmailSubscription") is subscribed
    assert template["Resources"]["HealthEmailSubscription"]["Properties"]["TopicArn"] == HEALTH


def test_outputs_name_the_operational_handles(template: dict[str, Any]) -> None:
    values = {name: output["Value"] for name, output in template["Outputs"].items()}
    assert values["AlertTopicArn"] == TOPIC
    assert values["HealthTopicArn"] == HEALTH
    assert values["KeyEventsFunctionName"] == {"Ref": "KeyEventsFunction"}
    assert values["FailureQueueUrl"] == {"Ref": "FailureQueue"}
    assert values["RuleDeadLetterQueueUrl"] == {"Ref": "RuleDeadLetterQueue"}


def test_log_groups_are_explicit_with_retention_and_used_by_the_functions(resources: dict[str, Any]) -> None:
    groups = of_type(resources, "AWS::Logs::LogGroup")
    for name, function in of_type(resources, "AWS::Serverless::Function").items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
