"""Organization mode of the hub (template.yaml with OrganizationId): the central bus, its copies
of the KMS rules, the member-role grants and the function's settings. Without OrganizationId the
stack is exactly the single-account stack."""

from __future__ import annotations

from typing import Any

import pytest

from shared import cross_account
from shared.config import Settings
from tests.support.cfn_yaml import Resolver, of_type

ORG_ID = "o-abcdef1234"
COPIED_RULES = ("KeyEventsRule", "LifecycleRule", "KeyDeletedRule", "TripwireRule")
MEMBER_ROLES = ("kms-keyguard-discovery", "kms-keyguard-remediation")


def organization_resources(resources: dict[str, Any]) -> set[str]:
    return {name for name, body in resources.items() if body.get("Condition") == "IsOrganization"}


def test_organization_id_is_empty_by_default_and_the_bus_is_named(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["OrganizationId"]["Default"] == ""
    assert parameters["CentralBusName"]["Default"] == "kms-keyguard"


def test_without_an_organization_no_organization_resource_exists(template: dict[str, Any]) -> None:
    single = Resolver(template)
    org = Resolver(template, {"OrganizationId": ORG_ID})
    added = organization_resources(template["Resources"])
    assert added, "organization mode adds resources"
    assert not any(single.resource_exists(name) for name in added)
    assert all(org.resource_exists(name) for name in added)
    policies = single.resolve(template["Resources"]["KeyEventsRole"]["Properties"]["Policies"])
    assert "act-in-member-accounts" not in {p["PolicyName"] for p in policies if isinstance(p, dict)}


def test_only_principals_of_the_organization_may_put_events_on_the_central_bus(
    resources: dict[str, Any],
) -> None:
    bus = resources["CentralBus"]
    assert bus["Condition"] == "IsOrganization"
    assert bus["Properties"]["Name"] == {"Ref": "CentralBusName"}
    (statement,) = bus["Properties"]["Policy"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "events:PutEvents"
    assert statement["Principal"] == "*"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}


@pytest.mark.parametrize("rule", COPIED_RULES)
def test_each_kms_rule_is_also_on_the_central_bus(rule: str, resources: dict[str, Any]) -> None:
    original = resources[rule]["Properties"]
    copy = resources[f"Central{rule}"]
    assert copy["Condition"] == "IsOrganization"
    assert copy["Properties"] == {**original, "EventBusName": {"Ref": "CentralBus"}}
    permission = resources[f"Central{rule}Permission"]
    assert permission["Condition"] == "IsOrganization"
    assert permission["Properties"]["SourceArn"] == {"Fn::GetAtt": [f"Central{rule}", "Arn"]}


@pytest.mark.parametrize("rule", COPIED_RULES)
def test_central_rule_alarms_name_the_bus(rule: str, resources: dict[str, Any]) -> None:
    # Metrics of a rule on a custom bus carry EventBusName and RuleName.
    alarm = resources[f"Central{rule}FailedInvocationsAlarm"]
    assert alarm["Condition"] == "IsOrganization"
    assert alarm["Properties"]["Dimensions"] == [
        {"Name": "RuleName", "Value": {"Ref": f"Central{rule}"}},
        {"Name": "EventBusName", "Value": {"Ref": "CentralBusName"}},
    ]


def test_only_the_copied_rules_are_on_the_central_bus(resources: dict[str, Any]) -> None:
    on_bus = {
        name
        for name, body in of_type(resources, "AWS::Events::Rule").items()
        if "EventBusName" in body["Properties"]
    }
    assert on_bus == {f"Central{rule}" for rule in COPIED_RULES}


def test_the_function_may_assume_only_the_member_roles_inside_the_organization(
    template: dict[str, Any],
) -> None:
    org = Resolver(template, {"OrganizationId": ORG_ID, "AWS::Partition": "aws"})
    policies = org.resolve(template["Resources"]["KeyEventsRole"]["Properties"]["Policies"])
    (policy,) = [p for p in policies if isinstance(p, dict) and p["PolicyName"] == "act-in-member-accounts"]
    statement, membership = policy["PolicyDocument"]["Statement"]
    assert statement["Action"] == ["sts:AssumeRole", "sts:SetSourceIdentity"]
    assert statement["Resource"] == [f"arn:aws:iam::*:role/{name}" for name in MEMBER_ROLES]
    assert statement["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORG_ID}}
    others = [
        s
        for p in policies
        if isinstance(p, dict) and p["PolicyName"] != "act-in-member-accounts"
        for s in (p["PolicyDocument"]["Statement"] if isinstance(p["PolicyDocument"], dict) else [])
    ]
    assert not any("sts:" in str(s.get("Action")) for s in others)
    # and reads membership (cross-account dependencies) of this organization's accounts only
    assert [membership["Action"]] == list(cross_account.ACTIONS)
    assert membership["Resource"] == f"arn:aws:organizations::*:account/{ORG_ID}/*"
    assert not any("organizations:" in str(s.get("Action")) for s in others)


def test_the_function_reads_the_organization_settings(resources: dict[str, Any]) -> None:
    env = resources["KeyEventsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["ORGANIZATION_ID"] == {"Ref": "OrganizationId"}
    assert (env["MEMBER_ROLE_NAME"], env["MEMBER_REMEDIATION_ROLE_NAME"]) == MEMBER_ROLES
    topic = "arn:aws:sns:us-east-1:111111111111:alerts"
    settings = Settings.from_env(
        {"ALERT_TOPIC_ARN": topic, "ORGANIZATION_ID": ORG_ID, "MEMBER_ROLE_NAME": MEMBER_ROLES[0]}
    )
    assert (settings.organization_id, settings.member_role_name) == (ORG_ID, MEMBER_ROLES[0])
    assert settings.member_remediation_role_name == MEMBER_ROLES[1]
    assert Settings.from_env({"ALERT_TOPIC_ARN": topic, "ORGANIZATION_ID": ""}).organization_id is None


def test_the_hub_outputs_what_the_member_templates_take(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    assert outputs["KeyEventsRoleArn"]["Value"] == {"Fn::GetAtt": ["KeyEventsRole", "Arn"]}
    assert outputs["CentralBusArn"]["Value"] == {"Fn::GetAtt": ["CentralBus", "Arn"]}
    assert outputs["CentralBusArn"]["Condition"] == "IsOrganization"
