"""The heartbeat: a canary through every event rule, a metric per rule, an alarm when it stops."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.config import HEARTBEAT_DETAIL_TYPE, HEARTBEAT_METRIC, HEARTBEAT_RULE_DIMENSION, HEARTBEAT_SOURCE
from tests.contract import ruler
from tests.contract.deployed import STACK, event_patterns, pattern_rules
from tests.support import cfn_yaml
from tests.support.cfn_yaml import Resolver, of_type

SCHEDULE = "HeartbeatSchedule"


def canaries(template: dict[str, Any], **parameters: str) -> list[dict[str, Any]]:
    """The events the schedule puts on the bus, as EventBridge delivers them to the rules."""
    target = Resolver(template, parameters).resolve(template["Resources"][SCHEDULE]["Properties"]["Target"])
    entries = json.loads(target["Input"])["Entries"]
    return [
        {
            "source": entry["Source"],
            "detail-type": entry["DetailType"],
            "detail": json.loads(entry["Detail"]),
            "resources": [],
            "bus": entry["EventBusName"],
        }
        for entry in entries
    ]


def test_the_schedule_puts_one_canary_per_pattern_rule_on_the_default_bus(template: dict[str, Any]) -> None:
    events = canaries(template)
    assert sorted(event["detail"]["rule"] for event in events) == sorted(pattern_rules(template))
    for event in events:
        assert event["bus"] == "default"
        assert event["source"] == HEARTBEAT_SOURCE
        assert event["detail-type"] == HEARTBEAT_DETAIL_TYPE
        assert event["detail"]["stack"] == STACK
    # PutEvents takes at most 10 entries per call.
    assert len(events) <= 10


def test_each_canary_goes_through_its_own_rule_only(template: dict[str, Any]) -> None:
    patterns = event_patterns(template)
    for event in canaries(template):
        matched = {rule for rule, pattern in patterns.items() if ruler.matches(pattern, event)}
        assert matched == {event["detail"]["rule"]}


def test_the_canaries_carry_the_deployed_stack_name(template: dict[str, Any]) -> None:
    # Two keyguard stacks in one account each prove their own rules.
    events = canaries(template, **{"AWS::StackName": "keyguard-eu"})
    assert {event["detail"]["stack"] for event in events} == {"keyguard-eu"}
    patterns = event_patterns(template)  # the default stack's rules
    for event in events:
        assert not any(ruler.matches(pattern, event) for pattern in patterns.values())


def test_the_schedule_calls_put_events_through_eventbridge_scheduler(resources: dict[str, Any]) -> None:
    props = resources[SCHEDULE]["Properties"]
    assert resources[SCHEDULE]["Type"] == "AWS::Scheduler::Schedule"
    assert props["State"] == "ENABLED"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert props["ScheduleExpression"] == {"Fn::Sub": "rate(${HeartbeatMinutes} minutes)"}
    target = props["Target"]
    assert target["Arn"] == {"Fn::Sub": "arn:${AWS::Partition}:scheduler:::aws-sdk:eventbridge:putEvents"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["HeartbeatRole", "Arn"]}
    assert set(target["RetryPolicy"]) == {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["RuleDeadLetterQueue", "Arn"]}}


def test_the_schedule_role_may_only_put_canaries_and_record_undelivered_ones(
    template: dict[str, Any],
) -> None:
    role = Resolver(template).resolve(template["Resources"]["HeartbeatRole"]["Properties"])
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "scheduler.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "111122223333"}}
    (policy,) = role["Policies"]
    put, dead_letter = policy["PolicyDocument"]["Statement"]
    assert put["Action"] == "events:PutEvents"
    assert put["Resource"] == "arn:aws:events:us-east-1:111122223333:event-bus/default"
    assert put["Condition"] == {"StringEquals": {"events:source": HEARTBEAT_SOURCE}}
    assert dead_letter["Action"] == "sqs:SendMessage"
    assert dead_letter["Resource"] == {"Fn::GetAtt": ["RuleDeadLetterQueue", "Arn"]}


def heartbeat_alarms(resources: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: alarm["Properties"]
        for name, alarm in of_type(resources, "AWS::CloudWatch::Alarm").items()
        if alarm["Properties"].get("MetricName") == HEARTBEAT_METRIC
    }


def test_every_pattern_rule_has_a_heartbeat_alarm_on_the_metric_the_responder_emits(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    alarms = heartbeat_alarms(resources)
    namespace = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"]
    service = template["Globals"]["Function"]["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"]
    watched = set()
    for name, props in alarms.items():
        assert props["Namespace"] == namespace, name
        # Powertools adds the "service" dimension to every metric; the responder adds the rule.
        dimensions = {d["Name"]: d["Value"] for d in props["Dimensions"]}
        assert set(dimensions) == {"service", HEARTBEAT_RULE_DIMENSION}, name
        assert dimensions["service"] == service, name
        watched.add(dimensions[HEARTBEAT_RULE_DIMENSION])
    assert watched == set(pattern_rules(template))


@pytest.mark.parametrize(
    "minutes", [str(m) for m in cfn_yaml.load()["Parameters"]["HeartbeatMinutes"]["AllowedValues"]]
)
def test_a_heartbeat_alarm_fires_after_two_missed_heartbeats(
    resources: dict[str, Any], template: dict[str, Any], minutes: str
) -> None:
    resolver = Resolver(template, {"HeartbeatMinutes": minutes})
    for name, props in heartbeat_alarms(resources).items():
        resolved = resolver.resolve(props)
        assert resolved["Period"] == int(minutes) * 60, name
        assert (resolved["EvaluationPeriods"], resolved["DatapointsToAlarm"]) == (2, 2), name
        assert (resolved["Statistic"], resolved["ComparisonOperator"], resolved["Threshold"]) == (
            "Sum",
            "LessThanThreshold",
            1,
        ), name
        # No heartbeat at all (the metric stops) is exactly what must alarm.
        assert resolved["TreatMissingData"] == "breaching", name


def test_the_heartbeat_runs_every_fifteen_minutes_by_default(template: dict[str, Any]) -> None:
    assert template["Parameters"]["HeartbeatMinutes"]["Default"] == 15
    assert template["Parameters"]["ReconcileMinutes"]["Default"] == 15
