"""template.yaml through the SAM transform, in process: the CloudFormation that would be deployed."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from samtranslator.translator.transform import transform

from tests.support.cfn_yaml import of_type


class NoManagedPolicies:
    """Stands in for the IAM-backed loader: the template attaches no managed policies by name."""

    def load(self) -> dict[str, str]:
        return {}


def packaged(template: dict[str, Any]) -> dict[str, Any]:
    """The template as `sam deploy` hands it over: local code replaced by its uploaded artefact."""
    result = copy.deepcopy(template)
    assert result["Globals"]["Function"]["CodeUri"] == "src/"
    result["Globals"]["Function"]["CodeUri"] = "s3://artefacts-bucket/kms-keyguard/code.zip"
    return result


@pytest.fixture(scope="module")
def cfn(template: dict[str, Any]) -> dict[str, Any]:
    # The translator reads the region from a boto3 session; this fixture outlives the per-test env.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        return transform(packaged(template), {}, NoManagedPolicies())  # type: ignore[arg-type]


def test_the_transform_produces_the_functions_with_their_roles(cfn: dict[str, Any]) -> None:
    functions = of_type(cfn["Resources"], "AWS::Lambda::Function")
    assert set(functions) == {
        "KeyEventsFunction",
        "ReminderFunction",
        "ReconcileFunction",
        "OrgSweepFunction",
    }
    responder = functions["KeyEventsFunction"]["Properties"]
    assert responder["Role"] == {"Fn::GetAtt": ["KeyEventsRole", "Arn"]}
    assert responder["Runtime"] == "python3.13"
    assert responder["Architectures"] == ["arm64"]
    assert responder["TracingConfig"] == {"Mode": "Active"}
    assert responder["LoggingConfig"] == {"LogGroup": {"Ref": "KeyEventsLogGroup"}}
    assert responder["ReservedConcurrentExecutions"] == {
        "Fn::If": ["HasReservedConcurrency", {"Ref": "ReservedConcurrency"}, {"Ref": "AWS::NoValue"}]
    }
    assert set(of_type(cfn["Resources"], "AWS::IAM::Role")) == {
        "KeyEventsRole",
        "ReminderRole",
        "ReconcileRole",
        "HeartbeatRole",
        "OrgSweepRole",
        "OrgSweepStateMachineRole",
        "OrgSweepScheduleRole",
    }, "SAM created a role of its own"


def test_globals_reach_the_function_environment(cfn: dict[str, Any]) -> None:
    env = cfn["Resources"]["KeyEventsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == "KmsKeyguard"
    assert env["REMEDIATION_MODE"] == {"Ref": "RemediationMode"}


def test_every_rule_targets_a_function_that_lets_it_invoke(cfn: dict[str, Any]) -> None:
    resources = cfn["Resources"]
    permissions = {
        (p["Properties"]["FunctionName"]["Ref"], p["Properties"]["SourceArn"]["Fn::GetAtt"][0])
        for p in of_type(resources, "AWS::Lambda::Permission").values()
        if p["Properties"]["Principal"] == "events.amazonaws.com"
    }
    rules = of_type(resources, "AWS::Events::Rule")
    assert set(rules) == {
        "KeyEventsRule",
        "LifecycleRule",
        "KeyDeletedRule",
        "TripwireRule",
        "TamperTrailRule",
        "TamperComputeRule",
        "TamperAlertingRule",
        "ReminderSchedule",
        "ReconcileSchedule",
        "CentralKeyEventsRule",
        "CentralLifecycleRule",
        "CentralKeyDeletedRule",
        "CentralTripwireRule",
    }
    for name, rule in rules.items():
        (target,) = rule["Properties"]["Targets"]
        function = target["Arn"]["Fn::GetAtt"][0]
        assert function in of_type(resources, "AWS::Lambda::Function"), name
        assert (function, name) in permissions, f"{function} does not let {name} invoke it"


def test_the_on_failure_destination_is_wired(cfn: dict[str, Any]) -> None:
    (config,) = of_type(cfn["Resources"], "AWS::Lambda::EventInvokeConfig").values()
    props = config["Properties"]
    assert props["FunctionName"] == {"Ref": "KeyEventsFunction"}
    assert props["Qualifier"] == "$LATEST"
    assert props["MaximumRetryAttempts"] == 2
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}


def test_conditions_are_left_for_cloudformation(template: dict[str, Any], cfn: dict[str, Any]) -> None:
    assert cfn["Conditions"] == template["Conditions"]
    assert (
        cfn["Resources"]["CisDisableOrScheduleDeletionMetricFilter"]["Condition"] == "HasCloudTrailLogGroup"
    )
    assert cfn["Resources"]["AlertEmailSubscription"]["Condition"] == "HasAlertEmail"
    policies = cfn["Resources"]["KeyEventsRole"]["Properties"]["Policies"]
    assert [p["Fn::If"][0] for p in policies if "Fn::If" in p] == [
        "IsOrganization",
        "IsEnforceTagged",
        "IsEnforceAnyKey",
    ]
