"""The functions' IAM grants in template.yaml against the actions the code declares it calls.

Each module that talks to AWS declares its IAM actions as a constant; the responder's role must grant
exactly their union (plus what the platform needs), mutating KMS actions only in enforce mode, and
``Resource: "*"`` only where the action cannot be scoped.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable
from itertools import product
from types import ModuleType
from typing import Any

import pytest

from shared import alerting, journal, reminders
from shared.config import Settings
from shared.remediation import MUTATING_ACTIONS
from tests.support.cfn_yaml import TEMPLATE_PATH, Resolver, of_type

RESPONDER_ROLE = "KeyEventsRole"
REMINDER_ROLE = "ReminderRole"
ACCOUNT_KEYS = "arn:aws:kms:*:111122223333:key/*"
REGION_KEYS = "arn:aws:kms:us-east-1:111122223333:key/*"
REMEDIATION = frozenset(MUTATING_ACTIONS)


def _constant(module: ModuleType) -> set[str]:
    return set(module.ACTIONS)


def _registry(module: ModuleType) -> set[str]:
    return set(module.required_actions())


# Every module that calls AWS for the responder, and how it declares the actions it calls. A module
# missing here, or missing from the code, fails: nothing is granted on the strength of a plan.
SOURCES: dict[str, Callable[[ModuleType], set[str]]] = {
    "shared.key_inventory": _constant,
    "shared.alerting": _constant,
    "shared.dependencies": _registry,
    "shared.remediation": _constant,
    "shared.idempotency": _constant,  # Powertools Idempotency on the table
    "shared.journal": _constant,  # the journal's items in the same table
}

# Needed by the platform rather than called by the code, with the reason.
PLATFORM = {
    "logs:CreateLogStream": "Lambda writes the function's logs",
    "logs:PutLogEvents": "Lambda writes the function's logs",
    "xray:PutTraceSegments": "Tracing: Active",
    "xray:PutTelemetryRecords": "Tracing: Active",
    "kms:GenerateDataKey": "sns:Publish to the topic encrypted with AlertKey",
    "kms:Decrypt": "sns:Publish to the topic encrypted with AlertKey",
    "sqs:SendMessage": "Lambda sends failed async invocations to FailureQueue",
}

# Actions that may be granted on Resource "*", with the reason. DependencyDiscovery is separate.
STAR_ALLOWED = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "kms:ListAliases": "no resource-level permissions",
    "kms:ListKeys": "no resource-level permissions",
    "cloudtrail:LookupEvents": "no resource-level permissions",
}


def declared_actions() -> set[str]:
    """What the code says it calls."""
    return {action for name, read in SOURCES.items() for action in read(importlib.import_module(name))}


def _listify(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statements(template: dict[str, Any], role: str, **parameters: str) -> list[dict[str, Any]]:
    """The role's effective statements for the given parameter values (inline and attached)."""
    resolver = Resolver(template, parameters)
    documents = [
        policy["PolicyDocument"]
        for policy in resolver.resolve(template["Resources"][role]["Properties"]).get("Policies", [])
    ]
    for name, body in template["Resources"].items():
        if body["Type"] in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy") and resolver.resource_exists(name):
            props = body["Properties"]
            if {"Ref": role} in props.get("Roles", []) or props.get("RoleName") == {"Ref": role}:
                documents.append(resolver.resolve(props["PolicyDocument"]))
    result = []
    for document in documents:
        parsed = json.loads(document) if isinstance(document, str) else document
        for statement in parsed["Statement"]:
            result.append(
                {
                    **statement,
                    "Action": _listify(statement["Action"]),
                    "Resource": _listify(statement["Resource"]),
                }
            )
    return result


PARAMETER_MATRIX = [
    {"RemediationMode": mode, "RemediationScope": scope}
    for mode, scope in product(["off", "dry-run", "enforce"], ["tagged", "with-dependencies", "all"])
]


def granted(template: dict[str, Any], role: str) -> set[str]:
    """Every action the role can hold under any parameter values (conditions ignored)."""
    return {
        action
        for parameters in PARAMETER_MATRIX
        for statement in statements(template, role, **parameters)
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
    }


def test_responder_grants_exactly_what_the_code_declares(template: dict[str, Any]) -> None:
    # Given what the code declares and what the platform needs
    wanted = declared_actions() | set(PLATFORM)

    # Then the role grants exactly that
    have = granted(template, RESPONDER_ROLE)
    assert not wanted - have, f"declared by code but not granted: {sorted(wanted - have)}"
    assert not have - wanted, f"granted but declared by no code: {sorted(have - wanted)}"


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_each_module_is_granted_what_it_declares(template: dict[str, Any], source: str) -> None:
    declared = SOURCES[source](importlib.import_module(source))
    assert declared, f"{source} declares no action"
    assert declared <= granted(template, RESPONDER_ROLE)


def test_dependency_discovery_statement_is_the_sorted_registry(template: dict[str, Any]) -> None:
    dependencies = importlib.import_module("shared.dependencies")
    (statement,) = [s for s in statements(template, RESPONDER_ROLE) if s.get("Sid") == "DependencyDiscovery"]
    assert statement["Action"] == sorted(dependencies.required_actions()), (
        "run `python -m tests.support.iam_sync` to update template.yaml"
    )


@pytest.mark.parametrize("parameters", PARAMETER_MATRIX, ids=lambda p: "-".join(p.values()))
def test_remediation_actions_only_in_enforce_mode(
    template: dict[str, Any], parameters: dict[str, str]
) -> None:
    # Given the role as deployed with these parameters
    actions = {a for s in statements(template, RESPONDER_ROLE, **parameters) for a in s["Action"]}

    # Then mutating KMS actions are present exactly when the mode is enforce
    if parameters["RemediationMode"] == "enforce":
        assert actions >= REMEDIATION
    else:
        assert not actions & REMEDIATION


@pytest.mark.parametrize("scope", ["tagged", "with-dependencies", "all"])
def test_remediation_is_limited_to_this_accounts_keys_in_this_region(
    template: dict[str, Any], scope: str
) -> None:
    for statement in statements(template, RESPONDER_ROLE, RemediationMode="enforce", RemediationScope=scope):
        if set(statement["Action"]) & REMEDIATION:
            assert statement["Resource"] == [REGION_KEYS]


@pytest.mark.parametrize("protect_tag", ["keyguard:protect", "acme/critical"])
def test_tagged_scope_requires_the_protect_tag_in_iam(template: dict[str, Any], protect_tag: str) -> None:
    # Given enforce mode limited to tagged keys, with the operator's tag key
    mutating = [
        s
        for s in statements(
            template,
            RESPONDER_ROLE,
            RemediationMode="enforce",
            RemediationScope="tagged",
            ProtectTagKey=protect_tag,
        )
        if set(s["Action"]) & REMEDIATION
    ]

    # Then every mutating statement requires that tag to be "true" on the key
    assert mutating
    for statement in mutating:
        assert statement["Condition"]["StringEquals"] == {f"aws:ResourceTag/{protect_tag}": "true"}


@pytest.mark.parametrize("scope", ["tagged", "with-dependencies", "all"])
def test_the_function_may_write_only_the_intervention_tag(template: dict[str, Any], scope: str) -> None:
    intervention_tag = Settings.model_fields["intervention_tag_key"].default
    tagging = [
        s
        for s in statements(template, RESPONDER_ROLE, RemediationMode="enforce", RemediationScope=scope)
        if "kms:TagResource" in s["Action"]
    ]
    assert tagging
    for statement in tagging:
        assert statement["Action"] == ["kms:TagResource"]
        assert statement["Condition"]["ForAllValues:StringEquals"] == {"aws:TagKeys": [intervention_tag]}


@pytest.mark.parametrize("role", [RESPONDER_ROLE, REMINDER_ROLE])
def test_resource_star_only_where_actions_cannot_be_scoped(template: dict[str, Any], role: str) -> None:
    for parameters in PARAMETER_MATRIX:
        for statement in statements(template, role, **parameters):
            if "*" not in statement["Resource"] or statement.get("Sid") == "DependencyDiscovery":
                continue
            unjustified = set(statement["Action"]) - set(STAR_ALLOWED)
            assert not unjustified, f"{role}/{statement.get('Sid')}: Resource '*' for {sorted(unjustified)}"


def test_key_reads_are_limited_to_this_accounts_keys(template: dict[str, Any]) -> None:
    reads = [s for s in statements(template, RESPONDER_ROLE) if s.get("Sid") == "ReadKeys"]
    assert [s["Resource"] for s in reads] == [[ACCOUNT_KEYS]]


def test_every_resource_star_in_the_template_says_why() -> None:
    lines = TEMPLATE_PATH.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if re.match(r'^\s*Resource:\s*"\*"\s*$', line):
            assert lines[number - 1].lstrip().startswith("#"), f"template.yaml:{number + 1} has no reason"


@pytest.mark.parametrize(
    ("sid", "target"),
    [
        ("PublishAlerts", "<AlertTopic>"),
        ("Idempotency", "<IdempotencyTable.Arn>"),
        ("RecordAsyncFailures", "<FailureQueue.Arn>"),
        ("EncryptAlerts", "<AlertKey.Arn>"),
        ("WriteOwnLogs", "<KeyEventsLogGroup.Arn>"),
    ],
)
def test_single_resource_grants_name_their_resource(template: dict[str, Any], sid: str, target: str) -> None:
    (statement,) = [s for s in statements(template, RESPONDER_ROLE) if s.get("Sid") == sid]
    (resource,) = statement["Resource"]
    rendered = {"Ref": "AlertTopic"} if target == "<AlertTopic>" else None
    if rendered is not None:
        assert resource == rendered
    else:
        name, attribute = target.strip("<>").split(".")
        assert resource == {"Fn::GetAtt": [name, attribute]}


def test_topic_key_is_used_only_through_sns(template: dict[str, Any]) -> None:
    for role in (RESPONDER_ROLE, REMINDER_ROLE):
        (statement,) = [s for s in statements(template, role) if s.get("Sid") == "EncryptAlerts"]
        assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}}


def test_reminder_role_is_least_privilege(template: dict[str, Any]) -> None:
    # Given what the reminder's code paths declare: its own reads (keys, aliases and tags, not
    # rotation), publishing, and the journal's one marker per key and day in the table
    own = set(reminders.REMINDER_ACTIONS)
    reused = set(alerting.ACTIONS) | set(journal.ACTIONS)
    platform = set(PLATFORM) - {"sqs:SendMessage"}  # no on-failure destination: the schedule retries

    # Then the role grants exactly that
    assert granted(template, REMINDER_ROLE) == own | reused | platform


def test_roles_trust_only_lambda_in_this_account(resources: dict[str, Any]) -> None:
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}, name
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
        assert "ManagedPolicyArns" not in role["Properties"], name
