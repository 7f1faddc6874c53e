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
from tests.support import iam_sync
from tests.support.cfn_yaml import TEMPLATE_PATH, Resolver, of_type

RESPONDER_ROLE = "KeyEventsRole"
REMINDER_ROLE = "ReminderRole"
RECONCILE_ROLE = "ReconcileRole"
HEARTBEAT_ROLE = "HeartbeatRole"
FUNCTION_ROLES = (RESPONDER_ROLE, REMINDER_ROLE, RECONCILE_ROLE)
ORG_SWEEP_ROLE = "OrgSweepRole"
ORG_STATE_MACHINE_ROLE = "OrgSweepStateMachineRole"
ORG_SCHEDULE_ROLE = "OrgSweepScheduleRole"
ORG_ROLES = (ORG_SWEEP_ROLE, ORG_STATE_MACHINE_ROLE, ORG_SCHEDULE_ROLE)
ORG_ID = "o-abcdef1234"
GUARD_KEYS = [{"Fn::GetAtt": ["AlertKey", "Arn"]}, {"Fn::GetAtt": ["HealthKey", "Arn"]}]
GUARD_STATEMENT = "ProtectGuardKeys"
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
    "shared.approval_check": _constant,  # CloudTrail evidence for approvals, in every mode
    "shared.idempotency": _constant,  # Powertools Idempotency on the table
    "shared.journal": _constant,  # the journal's items in the same table
}

# Needed by the platform rather than called by the code, with the reason.
PLATFORM = {
    "logs:CreateLogStream": "Lambda writes the function's logs",
    "logs:PutLogEvents": "Lambda writes the function's logs",
    "xray:PutTraceSegments": "Tracing: Active",
    "xray:PutTelemetryRecords": "Tracing: Active",
    "kms:GenerateDataKey": "sns:Publish to the topics encrypted with AlertKey and HealthKey",
    "kms:Decrypt": "sns:Publish to the topics encrypted with AlertKey and HealthKey",
    "sqs:SendMessage": "Lambda sends failed async invocations to FailureQueue",
}

# What Step Functions needs to deliver a state machine's execution logs to CloudWatch Logs
# (https://docs.aws.amazon.com/step-functions/latest/dg/cw-logs.html).
LOG_DELIVERY = (
    "CreateLogDelivery",
    "DeleteLogDelivery",
    "DescribeLogGroups",
    "DescribeResourcePolicies",
    "GetLogDelivery",
    "ListLogDeliveries",
    "PutResourcePolicy",
    "UpdateLogDelivery",
)

# Actions that may be granted on Resource "*", with the reason. DependencyDiscovery is separate.
STAR_ALLOWED = {
    "xray:PutTraceSegments": "X-Ray has no resource-level permissions",
    "xray:PutTelemetryRecords": "X-Ray has no resource-level permissions",
    "kms:ListAliases": "no resource-level permissions",
    "kms:ListKeys": "no resource-level permissions",
    "cloudtrail:LookupEvents": "no resource-level permissions",
    "organizations:ListAccounts": "no resource-level permissions",
    **{
        f"logs:{name}": "Step Functions' vended log delivery has no resource-level permissions"
        for name in LOG_DELIVERY
    },
}

# The reconciliation pass (handlers/reconcile.py): it lists and describes every key, reads tags,
# reads and writes its records in the journal and publishes missed-event alerts.
RECONCILE_OWN = {"kms:ListKeys", "kms:ListAliases", "kms:DescribeKey", "kms:ListResourceTags"}


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
    # The registry's actions, less those the role already grants on the resources they need.
    dependencies = importlib.import_module("shared.dependencies")
    (statement,) = [s for s in statements(template, RESPONDER_ROLE) if s.get("Sid") == "DependencyDiscovery"]
    scoped = iam_sync.granted_elsewhere(TEMPLATE_PATH.read_text(encoding="utf-8"))
    assert statement["Action"] == sorted(set(dependencies.required_actions()) - scoped), (
        "run `python -m tests.support.iam_sync` to update template.yaml"
    )
    # Every action discovery needs is granted somewhere in the role.
    assert set(dependencies.required_actions()) <= granted(template, RESPONDER_ROLE)


@pytest.mark.parametrize("role", [*FUNCTION_ROLES, HEARTBEAT_ROLE, *ORG_ROLES])
def test_no_action_granted_on_a_resource_is_repeated_on_star(template: dict[str, Any], role: str) -> None:
    for parameters in PARAMETER_MATRIX:
        allows = [s for s in statements(template, role, **parameters) if s["Effect"] == "Allow"]
        scoped = {a for s in allows if "*" not in s["Resource"] for a in s["Action"]}
        on_star = {a for s in allows if "*" in s["Resource"] for a in s["Action"]}
        assert not scoped & on_star, f"{role}: granted scoped and again on '*': {sorted(scoped & on_star)}"


def test_keyspaces_reads_only_the_system_keyspaces(template: dict[str, Any]) -> None:
    grants = [s for s in statements(template, RESPONDER_ROLE) if "cassandra:Select" in s["Action"]]
    assert [(s["Action"], s["Resource"]) for s in grants] == [
        (["cassandra:Select"], ["arn:aws:cassandra:*:111122223333:/keyspace/system*"])
    ]


def test_kms_reads_are_granted_on_the_accounts_keys_only(template: dict[str, Any]) -> None:
    for statement in statements(template, RESPONDER_ROLE):
        for action in statement["Action"]:
            if action.startswith("kms:") and action not in ("kms:ListAliases", "kms:ListKeys"):
                assert "*" not in statement["Resource"], f"{statement.get('Sid')}: {action} on '*'"


def _ordinary(statements_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The role's statements except the one that restores the guard's own keys."""
    return [s for s in statements_ if s.get("Sid") != GUARD_STATEMENT]


@pytest.mark.parametrize("parameters", PARAMETER_MATRIX, ids=lambda p: "-".join(p.values()))
def test_the_guard_keys_are_restorable_in_every_mode(
    template: dict[str, Any], parameters: dict[str, str]
) -> None:
    # Whatever REMEDIATION_MODE and REMEDIATION_SCOPE say, the responder may cancel the deletion of
    # and re-enable exactly the stack's own keys, and nothing more through this statement.
    (guard,) = [
        s for s in statements(template, RESPONDER_ROLE, **parameters) if s.get("Sid") == GUARD_STATEMENT
    ]
    assert guard["Effect"] == "Allow"
    assert sorted(guard["Action"]) == ["kms:CancelKeyDeletion", "kms:EnableKey"]
    assert guard["Resource"] == GUARD_KEYS
    assert "Condition" not in guard
    env = template["Resources"]["KeyEventsFunction"]["Properties"]["Environment"]["Variables"]
    assert env["GUARD_KEY_ARNS"]["Fn::Join"][1] == guard["Resource"]


@pytest.mark.parametrize("parameters", PARAMETER_MATRIX, ids=lambda p: "-".join(p.values()))
def test_remediation_actions_only_in_enforce_mode(
    template: dict[str, Any], parameters: dict[str, str]
) -> None:
    # Given the role as deployed with these parameters (the guard keys' own statement aside)
    actions = {a for s in _ordinary(statements(template, RESPONDER_ROLE, **parameters)) for a in s["Action"]}

    # Then mutating KMS actions are present exactly when the mode is enforce
    if parameters["RemediationMode"] == "enforce":
        assert actions >= REMEDIATION
    else:
        assert not actions & REMEDIATION


@pytest.mark.parametrize("scope", ["tagged", "with-dependencies", "all"])
def test_remediation_is_limited_to_this_accounts_keys_in_this_region(
    template: dict[str, Any], scope: str
) -> None:
    for statement in _ordinary(
        statements(template, RESPONDER_ROLE, RemediationMode="enforce", RemediationScope=scope)
    ):
        if set(statement["Action"]) & REMEDIATION:
            assert statement["Resource"] == [REGION_KEYS]


@pytest.mark.parametrize("protect_tag", ["keyguard:protect", "acme/critical"])
def test_tagged_scope_requires_the_protect_tag_in_iam(template: dict[str, Any], protect_tag: str) -> None:
    # Given enforce mode limited to tagged keys, with the operator's tag key
    mutating = [
        s
        for s in _ordinary(
            statements(
                template,
                RESPONDER_ROLE,
                RemediationMode="enforce",
                RemediationScope="tagged",
                ProtectTagKey=protect_tag,
            )
        )
        if set(s["Action"]) & REMEDIATION
    ]

    # Then every mutating statement requires that tag to be "true" (in any letter case) on the key
    assert mutating
    for statement in mutating:
        assert statement["Condition"]["StringEqualsIgnoreCase"] == {f"aws:ResourceTag/{protect_tag}": "true"}


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


@pytest.mark.parametrize("role", [*FUNCTION_ROLES, HEARTBEAT_ROLE, *ORG_ROLES])
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
    ("sid", "resources_"),
    [
        ("PublishAlerts", [{"Ref": "AlertTopic"}, {"Ref": "HealthTopic"}]),
        ("Idempotency", [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]),
        ("RecordAsyncFailures", [{"Fn::GetAtt": ["FailureQueue", "Arn"]}]),
        ("EncryptAlerts", GUARD_KEYS),
        ("WriteOwnLogs", [{"Fn::GetAtt": ["KeyEventsLogGroup", "Arn"]}]),
    ],
)
def test_single_resource_grants_name_their_resource(
    template: dict[str, Any], sid: str, resources_: list[dict[str, Any]]
) -> None:
    (statement,) = [s for s in statements(template, RESPONDER_ROLE) if s.get("Sid") == sid]
    assert statement["Resource"] == resources_


@pytest.mark.parametrize("role", [*FUNCTION_ROLES, ORG_SWEEP_ROLE])
def test_topic_keys_are_used_only_through_sns(template: dict[str, Any], role: str) -> None:
    (statement,) = [s for s in statements(template, role) if s.get("Sid") == "EncryptAlerts"]
    assert statement["Condition"] == {"StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}}


def test_reconcile_role_is_least_privilege(template: dict[str, Any]) -> None:
    publishing = set(alerting.ACTIONS)
    platform = set(PLATFORM) - {"sqs:SendMessage"}  # a scheduled rule with its own retries and DLQ
    assert granted(template, RECONCILE_ROLE) == RECONCILE_OWN | set(journal.ACTIONS) | publishing | platform
    by_sid = {s["Sid"]: s for s in statements(template, RECONCILE_ROLE)}
    assert by_sid["ReadKeys"]["Resource"] == [REGION_KEYS]
    assert by_sid["Journal"]["Resource"] == [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]
    assert by_sid["PublishMissedEvents"]["Resource"] == [{"Ref": "AlertTopic"}]


def test_the_reconcile_handler_is_the_one_the_template_names(resources: dict[str, Any]) -> None:
    assert resources["ReconcileFunction"]["Properties"]["Handler"] == "handlers/reconcile.lambda_handler"


def test_reminder_role_is_least_privilege(template: dict[str, Any]) -> None:
    # Given what the reminder's code paths declare: its own reads (keys, aliases and tags, not
    # rotation), publishing, and the journal's one marker per key and day in the table
    own = set(reminders.REMINDER_ACTIONS)
    reused = set(alerting.ACTIONS) | set(journal.ACTIONS)
    platform = set(PLATFORM) - {"sqs:SendMessage"}  # no on-failure destination: the schedule retries

    # Then the role grants exactly that
    assert granted(template, REMINDER_ROLE) == own | reused | platform


def test_roles_trust_only_their_service_in_this_account(resources: dict[str, Any]) -> None:
    trusted = {role: "lambda.amazonaws.com" for role in (*FUNCTION_ROLES, ORG_SWEEP_ROLE)} | {
        HEARTBEAT_ROLE: "scheduler.amazonaws.com",
        ORG_SCHEDULE_ROLE: "scheduler.amazonaws.com",
        ORG_STATE_MACHINE_ROLE: "states.amazonaws.com",
    }
    assert set(of_type(resources, "AWS::IAM::Role")) == set(trusted)
    for name, role in of_type(resources, "AWS::IAM::Role").items():
        (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": trusted[name]}, name
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
        assert "ManagedPolicyArns" not in role["Properties"], name


class _PendingKeyKms:
    """KMS as remediation sees it in dry-run: the key is pending deletion."""

    def describe_key(self, KeyId: str) -> dict[str, Any]:
        return {"KeyMetadata": {"KeyId": KeyId, "KeyState": "PendingDeletion"}}


class _Clients:
    default_region = "us-east-1"

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "kms"
        return _PendingKeyKms()


class _NoHistory:
    def transitions(
        self, key_arn: str, region: str, before: Any, deadline: float | None = None
    ) -> tuple[list[Any], None]:
        return [], None


def _code_protects(value: str) -> bool:
    """Whether remediation (tagged scope) treats a key whose protect tag is ``value`` as protected."""
    from shared.config import RemediationMode, RemediationScope
    from shared.document import DependenciesSection
    from shared.key_inventory import KeySnapshot
    from shared.models import CloudTrailRecord
    from shared.remediation import Remediator

    settings = Settings(
        alert_topic_arn="arn:aws:sns:us-east-1:111122223333:alerts",
        remediation_mode=RemediationMode.DRY_RUN,
        remediation_scope=RemediationScope.TAGGED,
    )
    event = json.loads((TEMPLATE_PATH.parent / "events" / "schedule_key_deletion.json").read_text())
    record = CloudTrailRecord.model_validate(event["detail"])
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    snapshot = KeySnapshot(
        reference=key_id,
        region="us-east-1",
        readable=True,
        arn=f"arn:aws:kms:us-east-1:111122223333:key/{key_id}",
        key_id=key_id,
        state="PendingDeletion",
        manager="CUSTOMER",
        tags={settings.protect_tag_key: value},
    )
    remediator = Remediator(settings, _Clients(), history=_NoHistory())  # type: ignore[arg-type]
    section = remediator.remediate(record, snapshot, DependenciesSection(complete=True, total=0))
    return section.action != "none"


def _iam_protects(condition: dict[str, Any], tag_key: str, value: str) -> bool:
    """The IAM condition evaluated for a key tagged ``value`` (StringEqualsIgnoreCase: exact, any case;
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html)."""
    ((operator, block),) = [(op, b) for op, b in condition.items() if f"aws:ResourceTag/{tag_key}" in b]
    wanted = block[f"aws:ResourceTag/{tag_key}"]
    if operator == "StringEqualsIgnoreCase":
        return value.casefold() == wanted.casefold()
    if operator == "StringEquals":
        return value == wanted
    raise AssertionError(f"{operator} is not evaluated by this test")


@pytest.mark.parametrize(
    "value",
    [
        "true",
        "True",
        "TRUE",
        "false",
        "yes",
        "",
        "true;",
        " true",
        "true ",
    ],
)
def test_the_protect_tag_is_matched_by_iam_as_the_code_matches_it(
    template: dict[str, Any], value: str
) -> None:
    # Given the tagged-scope grant as deployed
    (grant,) = [
        s
        for s in _ordinary(
            statements(template, RESPONDER_ROLE, RemediationMode="enforce", RemediationScope="tagged")
        )
        if "kms:CancelKeyDeletion" in s["Action"]
    ]

    # Then IAM allows the cancel exactly when the code decides the key is protected
    assert _iam_protects(grant["Condition"], "keyguard:protect", value) is _code_protects(value)


# --- Organization sweeps ---------------------------------------------------------------------------


def org_granted(template: dict[str, Any], role: str, aggregator: str = "") -> set[str]:
    """The role's actions in organization mode, with or without a Config aggregator."""
    return {
        action
        for statement in statements(template, role, OrganizationId=ORG_ID, ConfigAggregatorName=aggregator)
        if statement["Effect"] == "Allow"
        for action in statement["Action"]
    }


@pytest.mark.parametrize("aggregator", ["", "organization"])
def test_the_sweep_worker_is_granted_exactly_what_its_passes_declare(
    template: dict[str, Any], aggregator: str
) -> None:
    # Given what the worker declares (assuming member roles; the aggregator query when configured)
    # and what the passes it runs declare (reading keys, the journal, publishing)
    from shared import org_sweep, reconcile

    own = set(org_sweep.ACTIONS) | (set(org_sweep.AGGREGATOR_ACTIONS) if aggregator else set())
    passes = set(reconcile.RECONCILE_ACTIONS) | set(reminders.REMINDER_ACTIONS)
    reused = set(journal.ACTIONS) | set(alerting.ACTIONS)
    platform = set(PLATFORM) - {"sqs:SendMessage"}  # synchronous invokes: no async destination

    # Then the role grants exactly that
    assert org_granted(template, ORG_SWEEP_ROLE, aggregator) == own | passes | reused | platform


def test_the_sweep_worker_assumes_only_the_discovery_role_inside_the_organization(
    template: dict[str, Any],
) -> None:
    by_sid = {s["Sid"]: s for s in statements(template, ORG_SWEEP_ROLE, OrganizationId=ORG_ID)}
    assume = by_sid["AssumeMemberDiscoveryRoles"]
    assert assume["Resource"] == ["arn:aws:iam::*:role/kms-keyguard-discovery"]
    assert assume["Condition"] == {"StringEquals": {"aws:ResourceOrgID": ORG_ID}}
    assert by_sid["ReadKeys"]["Resource"] == [ACCOUNT_KEYS]
    assert by_sid["PublishSweepAlerts"]["Resource"] == [{"Ref": "AlertTopic"}]
    assert by_sid["Journal"]["Resource"] == [{"Fn::GetAtt": ["IdempotencyTable", "Arn"]}]


def test_the_aggregator_is_queried_only_in_this_account_and_region(template: dict[str, Any]) -> None:
    (query,) = [
        s
        for s in statements(template, ORG_SWEEP_ROLE, OrganizationId=ORG_ID, ConfigAggregatorName="org")
        if s.get("Sid") == "QueryAggregator"
    ]
    assert query["Resource"] == ["arn:aws:config:us-east-1:111122223333:config-aggregator/*"]


def _state_machine_calls(template: dict[str, Any]) -> set[str]:
    """The IAM actions the sweep state machine's definition implies: its SDK and Lambda tasks, the
    Distributed Map's child executions, and log delivery."""
    definition = template["Resources"]["OrgSweepStateMachine"]["Properties"]["Definition"]
    actions: set[str] = set()

    def walk(states: dict[str, Any]) -> None:
        for state in states.values():
            resource = state.get("Resource", "")
            if resource.startswith("arn:aws:states:::aws-sdk:"):
                service, operation = resource.rsplit(":", 2)[-2:]
                actions.add(f"{service}:{operation[0].upper()}{operation[1:]}")
            elif resource == "arn:aws:states:::lambda:invoke":
                actions.add("lambda:InvokeFunction")
            processor = state.get("ItemProcessor")
            if processor:
                if processor["ProcessorConfig"]["Mode"] == "DISTRIBUTED":
                    actions.update(
                        {"states:StartExecution", "states:DescribeExecution", "states:StopExecution"}
                    )
                walk(processor["States"])

    walk(definition["States"])
    props = template["Resources"]["OrgSweepStateMachine"]["Properties"]
    if props.get("Logging", {}).get("Destinations"):
        actions.update(f"logs:{name}" for name in LOG_DELIVERY)
    return actions


def test_the_state_machine_role_grants_exactly_what_its_definition_calls(template: dict[str, Any]) -> None:
    assert org_granted(template, ORG_STATE_MACHINE_ROLE) == _state_machine_calls(template)
    by_sid = {s["Sid"]: s for s in statements(template, ORG_STATE_MACHINE_ROLE, OrganizationId=ORG_ID)}
    assert by_sid["InvokeWorker"]["Resource"] == [
        {"Fn::GetAtt": ["OrgSweepFunction", "Arn"]},
        "<OrgSweepFunction.Arn>:*",  # its versions and aliases (the resolver's placeholder)
    ]
    machine = "arn:aws:states:us-east-1:111122223333:stateMachine:kms-keyguard-org-sweep"
    assert by_sid["RunChildExecutions"]["Resource"] == [machine]
    assert by_sid["WatchChildExecutions"]["Resource"] == [
        "arn:aws:states:us-east-1:111122223333:execution:kms-keyguard-org-sweep/*"
    ]


@pytest.mark.parametrize(
    ("aggregator", "starts"),
    [
        ("", ("states:StartExecution", {"Ref": "OrgSweepStateMachine"})),
        ("organization", ("lambda:InvokeFunction", {"Fn::GetAtt": ["OrgSweepFunction", "Arn"]})),
    ],
)
def test_the_schedules_may_start_only_the_sweep_they_target(
    template: dict[str, Any], aggregator: str, starts: tuple[str, Any]
) -> None:
    action, target = starts
    assert org_granted(template, ORG_SCHEDULE_ROLE, aggregator) == {action, "sqs:SendMessage"}
    (grant,) = [
        s
        for s in statements(
            template, ORG_SCHEDULE_ROLE, OrganizationId=ORG_ID, ConfigAggregatorName=aggregator
        )
        if action in s["Action"]
    ]
    assert target in grant["Resource"]
    resolver = Resolver(template, {"OrganizationId": ORG_ID, "ConfigAggregatorName": aggregator})
    for schedule in ("OrgReconcileSchedule", "OrgReminderSchedule"):
        assert resolver.resolve(template["Resources"][schedule]["Properties"])["Target"]["Arn"] == target
