"""The member templates under org/ against the hub's template.yaml and the discovery registry.

The hub's rules are the one source of the event patterns; the member rules carry the same
patterns (less the heartbeat branch, which only the hub's own schedule sends). The discovery
role grants what the finder registry calls, as the hub's role does. Trust policies are checked
as documents (moto does not enforce them), and both templates are deployed through moto's
service-managed StackSets to show their resources are created in member accounts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from keyguard_cli.audit import AUDIT_ACTIONS
from tests.support import iam_sync
from tests.support.cfn_yaml import load

ORG_DIR = Path(__file__).resolve().parents[2] / "org"
ROLES_PATH = ORG_DIR / "member-roles.yaml"
RULES_PATH = ORG_DIR / "member-rules.yaml"
HEARTBEAT_SOURCE = "kms-keyguard.heartbeat"
# The hub rules whose events happen in every account; the tamper rules watch the hub's own stack.
FORWARDED_RULES = ("KeyEventsRule", "LifecycleRule", "KeyDeletedRule", "TripwireRule")
HUB_ROLE = {"Ref": "HubFunctionRoleArn"}
ORG_CONDITION = {"StringEquals": {"aws:PrincipalOrgID": {"Ref": "OrganizationId"}}}
SWEEP_TRUST = {
    "Fn::If": [
        "HasHubSweepRole",
        {
            "Sid": "HubSweeps",
            "Effect": "Allow",
            "Principal": {"AWS": {"Ref": "HubSweepRoleArn"}},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            "Condition": ORG_CONDITION,
        },
        {"Ref": "AWS::NoValue"},
    ]
}
OPERATORS_TRUST = {
    "Fn::If": [
        "HasReadOnlyPrincipals",
        {
            "Sid": "ReadOnlyOperators",
            "Effect": "Allow",
            "Principal": {"AWS": {"Ref": "ReadOnlyPrincipalArns"}},
            "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
            "Condition": ORG_CONDITION,
        },
        {"Ref": "AWS::NoValue"},
    ]
}


@pytest.fixture(scope="module")
def roles() -> dict[str, Any]:
    return load(ROLES_PATH)["Resources"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def member_rules() -> dict[str, Any]:
    return load(RULES_PATH)["Resources"]  # type: ignore[no-any-return]


def without_heartbeat(pattern: dict[str, Any]) -> dict[str, Any]:
    """The hub pattern as a member forwards it: the canary branch removed, a lone branch unwrapped."""
    branches = [b for b in pattern["$or"] if b.get("source") != [HEARTBEAT_SOURCE]]
    return branches[0] if len(branches) == 1 else {"$or": branches}


def statements(role: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for p in role["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]


def test_member_rules_are_exactly_the_hubs_key_rules(
    resources: dict[str, Any], member_rules: dict[str, Any]
) -> None:
    members = {k: v for k, v in member_rules.items() if v["Type"] == "AWS::Events::Rule"}
    assert sorted(members) == sorted(FORWARDED_RULES)


@pytest.mark.parametrize("rule", FORWARDED_RULES)
def test_member_rule_has_the_hubs_pattern_and_state(
    rule: str, resources: dict[str, Any], member_rules: dict[str, Any]
) -> None:
    hub = resources[rule]["Properties"]
    member = member_rules[rule]["Properties"]
    assert member["EventPattern"] == without_heartbeat(hub["EventPattern"])
    assert member["State"] == hub["State"]


def test_tripwire_rule_receives_read_only_management_events(member_rules: dict[str, Any]) -> None:
    state = member_rules["TripwireRule"]["Properties"]["State"]
    assert state == "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"


@pytest.mark.parametrize("rule", FORWARDED_RULES)
def test_member_rule_forwards_to_the_central_bus_with_retries_and_dead_letters(
    rule: str, member_rules: dict[str, Any]
) -> None:
    (target,) = member_rules[rule]["Properties"]["Targets"]
    assert target["Arn"] == {"Ref": "CentralBusArn"}
    assert target["RoleArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${ForwarderRoleName}"
    }
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["ForwardDeadLetterQueue", "Arn"]}}


def test_dead_letter_queue_accepts_exactly_the_member_rules(member_rules: dict[str, Any]) -> None:
    (statement,) = member_rules["ForwardDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sources == [{"Fn::GetAtt": [rule, "Arn"]} for rule in FORWARDED_RULES]


def test_forwarder_may_only_put_events_on_the_central_bus(roles: dict[str, Any]) -> None:
    role = roles["ForwarderRole"]
    (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "events.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    assert statements(role) == [
        {
            "Sid": "PutEventsOnCentralBus",
            "Effect": "Allow",
            "Action": "events:PutEvents",
            "Resource": {"Ref": "CentralBusArn"},
        }
    ]
    assert role["Properties"]["RoleName"] == "kms-keyguard-forwarder"


@pytest.mark.parametrize(
    ("logical_id", "name"),
    [("DiscoveryRole", "kms-keyguard-discovery"), ("RemediationRole", "kms-keyguard-remediation")],
)
def test_hub_facing_roles_trust_exactly_the_hub_function_inside_the_organization(
    logical_id: str, name: str, roles: dict[str, Any]
) -> None:
    properties = roles[logical_id]["Properties"]
    assert properties["RoleName"] == name
    hub, *others = properties["AssumeRolePolicyDocument"]["Statement"]
    assert hub == {
        "Effect": "Allow",
        "Principal": {"AWS": HUB_ROLE},
        "Action": ["sts:AssumeRole", "sts:SetSourceIdentity"],
        "Condition": ORG_CONDITION,
    }
    # Operators and the hub's sweep worker may only ever be added to the read-only role.
    assert others == ([OPERATORS_TRUST, SWEEP_TRUST] if logical_id == "DiscoveryRole" else [])


def test_operators_may_assume_the_discovery_role_only_when_named_and_inside_the_organization(
    roles: dict[str, Any],
) -> None:
    template = load(ROLES_PATH)
    parameter = template["Parameters"]["ReadOnlyPrincipalArns"]
    assert parameter["Type"] == "CommaDelimitedList"
    assert parameter["Default"] == ""
    # The statement exists only when the list is not empty (an empty principal is invalid in IAM).
    assert template["Conditions"]["HasReadOnlyPrincipals"] == {
        "Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "ReadOnlyPrincipalArns"}]}, ""]}]
    }
    branch, absent = OPERATORS_TRUST["Fn::If"][1:]
    assert absent == {"Ref": "AWS::NoValue"}
    assert branch["Principal"] == {"AWS": {"Ref": "ReadOnlyPrincipalArns"}}
    assert branch["Condition"] == ORG_CONDITION
    assert "ReadOnlyPrincipalArns" not in json.dumps(roles["RemediationRole"])


def test_operator_audit_policy_grants_what_the_audit_calls_read_only_and_only_with_operators(
    roles: dict[str, Any],
) -> None:
    policy = roles["OperatorAuditPolicy"]
    assert policy["Condition"] == "HasReadOnlyPrincipals"
    assert policy["Properties"]["RoleName"] == {"Ref": "DiscoveryRole"}
    granted = {
        action
        for statement in [
            *statements(roles["DiscoveryRole"]),
            *policy["Properties"]["PolicyDocument"]["Statement"],
        ]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert granted >= AUDIT_ACTIONS, sorted(AUDIT_ACTIONS - granted)
    own = {
        action
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    # Nothing the audit does not call, nothing already granted by the role, nothing that writes.
    assert own <= AUDIT_ACTIONS
    assert not own & {
        action
        for statement in statements(roles["DiscoveryRole"])
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert {a for a in own if not a.split(":", 1)[1].startswith(("Describe", "Get", "List"))} == set()


def test_the_discovery_role_lets_the_sweeps_list_keys(roles: dict[str, Any]) -> None:
    from shared.reconcile import RECONCILE_ACTIONS
    from shared.reminders import REMINDER_ACTIONS

    granted = {
        action
        for statement in statements(roles["DiscoveryRole"])
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    assert set(RECONCILE_ACTIONS) | set(REMINDER_ACTIONS) <= granted


def test_discovery_role_is_generated_from_the_finder_registry() -> None:
    check = ["--check", "--template", str(ROLES_PATH)]
    assert iam_sync.main(check) == 0, (
        "run `python -m tests.support.iam_sync --template org/member-roles.yaml`"
    )


def test_discovery_role_can_change_nothing(roles: dict[str, Any]) -> None:
    actions = {
        action
        for statement in statements(roles["DiscoveryRole"])
        for action in ([statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"])
    }
    verbs = ("Describe", "Get", "List", "Lookup", "Select", "BatchGet")
    assert {a for a in actions if not a.split(":", 1)[1].startswith(verbs)} == set()


def test_remediation_role_is_opt_in_and_tag_conditioned(roles: dict[str, Any]) -> None:
    role = roles["RemediationRole"]
    assert role["Condition"] == "IsRemediationEnabled"
    (policy,) = role["Properties"]["Policies"]
    document = json.loads(
        policy["PolicyDocument"]["Fn::Sub"]
        .replace("${AWS::Partition}", "aws")
        .replace("${AWS::AccountId}", "111111111111")
        .replace("${ProtectTagKey}", "keyguard:protect")
    )
    by_sid = {s["Sid"]: s for s in document["Statement"]}
    remediate = by_sid["RemediateProtectedKeys"]
    assert remediate["Action"] == ["kms:CancelKeyDeletion", "kms:EnableKey"]
    assert remediate["Condition"] == {"StringEqualsIgnoreCase": {"aws:ResourceTag/keyguard:protect": "true"}}
    tagging = by_sid["MarkInterventions"]["Condition"]
    assert tagging["ForAllValues:StringEquals"] == {"aws:TagKeys": ["keyguard:last-intervention"]}
    mutating = {a for s in document["Statement"] for a in s["Action"] if not s.get("Condition")} - {
        "kms:DescribeKey",
        "kms:ListResourceTags",
    }
    assert mutating == set()


# ---------------------------------------------------------------------------------------------
# Deployed through service-managed StackSets (moto)
# ---------------------------------------------------------------------------------------------
HUB_ACCOUNT = "123456789012"
CENTRAL_BUS = f"arn:aws:events:us-east-1:{HUB_ACCOUNT}:event-bus/kms-keyguard"


@pytest.fixture
def organization() -> Any:
    with mock_aws():
        orgs = boto3.client("organizations", region_name="us-east-1")
        org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        root = orgs.list_roots()["Roots"][0]["Id"]
        ou = orgs.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
        members = []
        for name in ("alpha", "beta"):
            status = orgs.create_account(AccountName=name, Email=f"{name}@example.com")
            account = status["CreateAccountStatus"]["AccountId"]
            orgs.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ou)
            members.append(account)
        yield org_id, ou, members


def _assumed(account: str, service: str, region: str) -> Any:
    sts = boto3.client("sts", region_name=region)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/inspect", RoleSessionName="test")[
        "Credentials"
    ]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def _deploy(name: str, path: Path, ou: str, regions: list[str], parameters: dict[str, str]) -> None:
    cfn = boto3.client("cloudformation", region_name="us-east-1")
    cfn.create_stack_set(
        StackSetName=name,
        TemplateBody=path.read_text(encoding="utf-8"),
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    cfn.create_stack_instances(
        StackSetName=name, DeploymentTargets={"OrganizationalUnitIds": [ou]}, Regions=regions
    )


def test_stack_sets_create_the_roles_and_rules_in_every_member_account(organization: Any) -> None:
    org_id, ou, members = organization
    hub_role = f"arn:aws:iam::{HUB_ACCOUNT}:role/kms-keyguard-KeyEventsRole"
    sweep_role = f"arn:aws:iam::{HUB_ACCOUNT}:role/kms-keyguard-OrgSweepRole"
    _deploy(
        "kms-keyguard-member-roles",
        ROLES_PATH,
        ou,
        ["us-east-1"],
        {
            "OrganizationId": org_id,
            "HubFunctionRoleArn": hub_role,
            "HubSweepRoleArn": sweep_role,
            "CentralBusArn": CENTRAL_BUS,
            "EnableRemediation": "true",
        },
    )
    _deploy(
        "kms-keyguard-member-rules",
        RULES_PATH,
        ou,
        ["us-east-1", "eu-west-1"],
        {"CentralBusArn": CENTRAL_BUS},
    )

    for account in members:
        iam = _assumed(account, "iam", "us-east-1")
        names = {r["RoleName"] for r in iam.list_roles()["Roles"]}
        assert {"kms-keyguard-forwarder", "kms-keyguard-discovery", "kms-keyguard-remediation"} <= names
        trust = iam.get_role(RoleName="kms-keyguard-discovery")["Role"]["AssumeRolePolicyDocument"]
        # Without ReadOnlyPrincipalArns the operators' statement is absent. CloudFormation drops a
        # list item that is AWS::NoValue (https://docs.aws.amazon.com/AWSCloudFormation/latest/
        # UserGuide/pseudo-parameter-reference.html); moto leaves a null in its place.
        assert [s["Principal"] for s in trust["Statement"] if s is not None] == [
            {"AWS": hub_role},
            {"AWS": sweep_role},
        ]
        for region in ("us-east-1", "eu-west-1"):
            events = _assumed(account, "events", region)
            rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
            forwarding = [n for n in rules if any(rule in n for rule in FORWARDED_RULES)]
            assert len(forwarding) == len(FORWARDED_RULES), (account, region, sorted(rules))
            for name in forwarding:
                (target,) = events.list_targets_by_rule(Rule=name)["Targets"]
                assert target["Arn"] == CENTRAL_BUS
                assert target["RoleArn"] == f"arn:aws:iam::{account}:role/kms-keyguard-forwarder"


def test_named_operators_get_the_discovery_role_and_its_audit_policy_when_deployed() -> None:
    # Given the roles stack deployed (moto) with two operator roles named
    operators = [
        f"arn:aws:iam::{HUB_ACCOUNT}:role/security-auditor",
        f"arn:aws:iam::{HUB_ACCOUNT}:role/oncall",
    ]
    with mock_aws():
        cfn = boto3.client("cloudformation", region_name="us-east-1")
        cfn.create_stack(
            StackName="kms-keyguard-member-roles",
            TemplateBody=ROLES_PATH.read_text(encoding="utf-8"),
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[
                {"ParameterKey": k, "ParameterValue": v}
                for k, v in {
                    "OrganizationId": "o-abcdefghij",
                    "HubFunctionRoleArn": f"arn:aws:iam::{HUB_ACCOUNT}:role/kms-keyguard-KeyEventsRole",
                    "CentralBusArn": CENTRAL_BUS,
                    "ReadOnlyPrincipalArns": ",".join(operators),
                    "EnableRemediation": "true",
                }.items()
            ],
        )
        iam = boto3.client("iam", region_name="us-east-1")
        trust = iam.get_role(RoleName="kms-keyguard-discovery")["Role"]["AssumeRolePolicyDocument"]
        remediation = iam.get_role(RoleName="kms-keyguard-remediation")["Role"]["AssumeRolePolicyDocument"]

    # Then the discovery role trusts them, inside the organization, and the remediation role does not.
    # (moto skips AWS::IAM::RolePolicy, so the operator-audit policy is held as a document above.)
    (operator_trust,) = [s for s in trust["Statement"] if s and s.get("Sid") == "ReadOnlyOperators"]
    assert operator_trust["Principal"] == {"AWS": operators}
    assert operator_trust["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}}
    assert len(remediation["Statement"]) == 1
