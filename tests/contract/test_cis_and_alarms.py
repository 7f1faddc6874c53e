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
        "AlarmActions": [TOPIC],
    }


@pytest.mark.parametrize(("log_group", "created"), [("", False), ("aws-cloudtrail-logs-111122223333", True)])
def test_cis_resources_exist_only_with_a_cloudtrail_log_group(
    template: dict[str, Any], log_group: str, created: bool
) -> None:
    resolver = Resolver(template, {"CloudTrailLogGroupName": log_group})
    assert resolver.resource_exists(CIS_FILTER) is created
    assert resolver.resource_exists(CIS_ALARM) is created


def test_every_alarm_notifies_the_alert_topic(resources: dict[str, Any]) -> None:
    alarms = of_type(resources, "AWS::CloudWatch::Alarm")
    assert alarms
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [TOPIC], name
        assert props["TreatMissingData"] == "notBreaching", name


def _alarms_on(resources: dict[str, Any], namespace: str, metric: str) -> dict[str, dict[str, Any]]:
    return {
        name: alarm["Properties"]
        for name, alarm in of_type(resources, "AWS::CloudWatch::Alarm").items()
        if alarm["Properties"].get("Namespace") == namespace
        and alarm["Properties"].get("MetricName") == metric
    }


def _dimension(props: dict[str, Any]) -> Any:
    (dimension,) = props["Dimensions"]
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
    for name, rule in of_type(resources, "AWS::Events::Rule").items():
        for target in rule["Properties"]["Targets"]:
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
    assert sorted(source["Fn::GetAtt"][0] for source in sources) == sorted(
        of_type(resources, "AWS::Events::Rule")
    )


def test_alert_topic_is_encrypted_with_a_key_alarms_can_use(resources: dict[str, Any]) -> None:
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertKey"}
    key = resources["AlertKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    cloudwatch = [s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert cloudwatch, "CloudWatch alarms must be able to use the topic's key"
    assert {"kms:Decrypt", "kms:GenerateDataKey*"} <= set(cloudwatch[0]["Action"])


def test_only_this_stacks_roles_and_this_accounts_alarms_may_publish(resources: dict[str, Any]) -> None:
    statements = resources["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    principals = [s["Principal"] for s in allows]
    roles = sorted(arn["Fn::GetAtt"][0] for p in principals if "AWS" in p for arn in p["AWS"])
    assert roles == sorted(of_type(resources, "AWS::IAM::Role"))
    (alarms,) = [s for s in allows if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}]
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert {s["Action"] for s in allows} == {"sns:Publish"}


@pytest.mark.parametrize(("email", "subscribed"), [("", False), ("secops@example.com", True)])
def test_email_subscription_only_when_an_address_is_given(
    template: dict[str, Any], email: str, subscribed: bool
) -> None:
    assert Resolver(template, {"AlertEmail": email}).resource_exists("AlertEmailSubscription") is subscribed


def test_outputs_name_the_operational_handles(template: dict[str, Any]) -> None:
    values = {name: output["Value"] for name, output in template["Outputs"].items()}
    assert values["AlertTopicArn"] == TOPIC
    assert values["KeyEventsFunctionName"] == {"Ref": "KeyEventsFunction"}
    assert values["FailureQueueUrl"] == {"Ref": "FailureQueue"}
    assert values["RuleDeadLetterQueueUrl"] == {"Ref": "RuleDeadLetterQueue"}


def test_log_groups_are_explicit_with_retention_and_used_by_the_functions(resources: dict[str, Any]) -> None:
    groups = of_type(resources, "AWS::Logs::LogGroup")
    for name, function in of_type(resources, "AWS::Serverless::Function").items():
        group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert groups[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name
