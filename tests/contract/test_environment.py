"""The functions' environment in template.yaml against what the code reads (shared.config)."""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import ENV_FIELDS, RemediationMode, RemediationScope, Settings
from tests.support.cfn_yaml import Resolver, of_type

RESPONDER = "KeyEventsFunction"
TOPIC_ARN = "arn:aws:sns:us-east-1:111122223333:kms-keyguard-AlertTopic-ABC"
REMINDER = "ReminderFunction"
RECONCILE = "ReconcileFunction"
ORG_SWEEP = "OrgSweepFunction"
FUNCTIONS = (RESPONDER, REMINDER, RECONCILE, ORG_SWEEP)

# Read by Powertools or by the reminder handler rather than by Settings.
READ_OUTSIDE_SETTINGS = {
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
    "LOG_LEVEL",
    "REMINDER_DAYS",
    "HUB_ACCOUNT_ID",  # handlers/org_sweep.py
    "CONFIG_AGGREGATOR_NAME",  # handlers/org_sweep.py
}

# Variables whose code default would be wrong in a deployed stack, with the reason.
DEPLOYMENT_MUST_SET = {
    "IDEMPOTENCY_TABLE_NAME": "without it, duplicate deliveries send duplicate alerts",
    "FUNCTION_ROLE_ARN": "without it, the function's own remediation events are not recognised",
    "REMEDIATION_MODE": "the operator chooses it (parameter)",
    "REMEDIATION_SCOPE": "the operator chooses it (parameter)",
    "REENABLE_DISABLED_KEYS": "the operator chooses it (parameter)",
    "PROTECT_TAG_KEY": "must agree with the IAM condition on the protect tag",
    "ALLOW_DELETION_TAG_KEY": "the operator chooses it (parameter)",
    "INTERVENTION_TAG_KEY": "must agree with the aws:TagKeys condition on kms:TagResource",
    "DISCOVERY_MAX_SECONDS": "must fit the function timeout (parameter)",
    "USAGE_LOOKBACK_DAYS": "the operator chooses it (parameter)",
    "GUARD_KEY_ARNS": "without it, an attack on the guard's own keys is an ordinary key event",
    "HEALTH_TOPIC_ARN": "without it, the responder has no second alert path",
    "APPROVAL_MAX_DAYS": "the operator chooses it (parameter)",
}

# Environment variable -> the template parameter it carries.
FROM_PARAMETER = {
    "REMEDIATION_MODE": "RemediationMode",
    "REMEDIATION_SCOPE": "RemediationScope",
    "REENABLE_DISABLED_KEYS": "ReenableDisabledKeys",
    "PROTECT_TAG_KEY": "ProtectTagKey",
    "ALLOW_DELETION_TAG_KEY": "AllowDeletionTagKey",
    "DISCOVERY_MAX_SECONDS": "DiscoveryMaxSeconds",
    "USAGE_LOOKBACK_DAYS": "UsageLookbackDays",
    "LOG_LEVEL": "LogLevel",
    "REMINDER_DAYS": "ReminderDays",
    "APPROVAL_MAX_DAYS": "ApprovalMaxDays",
}


def environment(template: dict[str, Any], function: str) -> dict[str, Any]:
    merged = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    merged.update(template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {}))
    return merged


def test_every_required_setting_is_set_for_the_responder(template: dict[str, Any]) -> None:
    env = environment(template, RESPONDER)
    required = {name for name, field in ENV_FIELDS.items() if Settings.model_fields[field].is_required()}
    assert "ALERT_TOPIC_ARN" in required
    assert required <= env.keys()


@pytest.mark.parametrize("name", sorted(DEPLOYMENT_MUST_SET))
def test_settings_whose_default_does_not_suit_a_deployment_are_set(
    template: dict[str, Any], name: str
) -> None:
    assert name in ENV_FIELDS, f"{name} is no longer read by Settings; update DEPLOYMENT_MUST_SET"
    assert name in environment(template, RESPONDER), DEPLOYMENT_MUST_SET[name]


@pytest.mark.parametrize("function", FUNCTIONS)
def test_every_variable_the_template_sets_is_read_by_the_code(
    template: dict[str, Any], function: str
) -> None:
    unread = set(environment(template, function)) - set(ENV_FIELDS) - READ_OUTSIDE_SETTINGS
    assert not unread, f"{function} sets variables nothing reads: {sorted(unread)}"


def test_the_alert_topic_and_loop_guard_point_at_this_stack(template: dict[str, Any]) -> None:
    env = environment(template, RESPONDER)
    assert env["ALERT_TOPIC_ARN"] == {"Ref": "AlertTopic"}
    assert env["IDEMPOTENCY_TABLE_NAME"] == {"Ref": "IdempotencyTable"}
    role = template["Resources"][RESPONDER]["Properties"]["Role"]
    assert env["FUNCTION_ROLE_ARN"] == role == {"Fn::GetAtt": ["KeyEventsRole", "Arn"]}
    assert env["HEALTH_TOPIC_ARN"] == {"Ref": "HealthTopic"}


@pytest.mark.parametrize("function", [RESPONDER, RECONCILE, ORG_SWEEP])
def test_guard_key_arns_parse_as_settings_read_them(template: dict[str, Any], function: str) -> None:
    # Given the deployed value of GUARD_KEY_ARNS (the keys' ARNs joined with commas)
    key_arns = {
        "AlertKey": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "HealthKey": "arn:aws:kms:us-east-1:111122223333:key/5678abcd-12ab-34cd-56ef-1234567890ab",
    }
    separator, parts = environment(template, function)["GUARD_KEY_ARNS"]["Fn::Join"]
    value = separator.join(key_arns[part["Fn::GetAtt"][0]] for part in parts)

    # Then Settings reads every key
    settings = Settings.from_env({"ALERT_TOPIC_ARN": TOPIC_ARN, "GUARD_KEY_ARNS": value})
    assert set(settings.guard_key_arns) == set(key_arns.values())


def test_the_reconciliation_pass_reads_the_journal(template: dict[str, Any]) -> None:
    assert environment(template, RECONCILE)["IDEMPOTENCY_TABLE_NAME"] == {"Ref": "IdempotencyTable"}


@pytest.mark.parametrize(
    ("function", "name"), [(RESPONDER, n) for n in FROM_PARAMETER if n != "REMINDER_DAYS"]
)
def test_operator_settings_come_from_parameters(template: dict[str, Any], function: str, name: str) -> None:
    assert environment(template, function)[name] == {"Ref": FROM_PARAMETER[name]}


def test_reminder_days_come_from_the_parameter(template: dict[str, Any]) -> None:
    assert environment(template, REMINDER)["REMINDER_DAYS"] == {"Ref": "ReminderDays"}


def test_parameter_choices_are_the_settings_enums(template: dict[str, Any]) -> None:
    parameters = template["Parameters"]
    assert parameters["RemediationMode"]["AllowedValues"] == [m.value for m in RemediationMode]
    assert parameters["RemediationScope"]["AllowedValues"] == [s.value for s in RemediationScope]


@pytest.mark.parametrize(
    ("parameter", "field"),
    [
        ("RemediationMode", "remediation_mode"),
        ("RemediationScope", "remediation_scope"),
        ("ProtectTagKey", "protect_tag_key"),
        ("AllowDeletionTagKey", "allow_deletion_tag_key"),
        ("DiscoveryMaxSeconds", "discovery_max_seconds"),
        ("UsageLookbackDays", "usage_lookback_days"),
        ("ApprovalMaxDays", "approval_max_days"),
    ],
)
def test_parameter_defaults_match_the_code_defaults(
    template: dict[str, Any], parameter: str, field: str
) -> None:
    # Given the template's default, read as Settings reads it
    deployed = Settings.model_validate(
        {"alert_topic_arn": TOPIC_ARN, field: template["Parameters"][parameter]["Default"]}
    )

    # Then it is the same value the code falls back to
    assert getattr(deployed, field) == Settings.model_fields[field].default


def test_every_parameter_value_is_accepted_by_settings(template: dict[str, Any]) -> None:
    # Given the extremes an operator may deploy with
    parameters = template["Parameters"]
    for mode in parameters["RemediationMode"]["AllowedValues"]:
        for scope in parameters["RemediationScope"]["AllowedValues"]:
            for reenable in parameters["ReenableDisabledKeys"]["AllowedValues"]:
                env = {
                    "ALERT_TOPIC_ARN": TOPIC_ARN,
                    "REMEDIATION_MODE": mode,
                    "REMEDIATION_SCOPE": scope,
                    "REENABLE_DISABLED_KEYS": reenable,
                    "DISCOVERY_MAX_SECONDS": str(parameters["DiscoveryMaxSeconds"]["MaxValue"]),
                    "USAGE_LOOKBACK_DAYS": str(parameters["UsageLookbackDays"]["MaxValue"]),
                    "APPROVAL_MAX_DAYS": str(parameters["ApprovalMaxDays"]["MaxValue"]),
                }
                # Then Settings accepts them (a rejected value would fail every invocation)
                Settings.from_env(env)


def test_discovery_budget_and_publish_reserve_fit_the_timeout(template: dict[str, Any]) -> None:
    timeout = template["Resources"][RESPONDER]["Properties"]["Timeout"]
    longest = template["Parameters"]["DiscoveryMaxSeconds"]["MaxValue"]
    reserve = Settings.model_fields["publish_reserve_seconds"].default
    assert longest + reserve < timeout


def test_the_intervention_tag_is_the_code_default(template: dict[str, Any]) -> None:
    # IAM lets the function write this tag key only (see test_iam); it must be the one the code writes.
    env = environment(template, RESPONDER)
    assert env["INTERVENTION_TAG_KEY"] == Settings.model_fields["intervention_tag_key"].default


def test_functions_share_the_runtime_settings(template: dict[str, Any]) -> None:
    function_globals = template["Globals"]["Function"]
    assert function_globals["Runtime"] == "python3.13"
    assert function_globals["Architectures"] == ["arm64"]
    assert function_globals["Tracing"] == "Active"
    assert function_globals["CodeUri"] == "src/"
    assert set(of_type(template["Resources"], "AWS::Serverless::Function")) == set(FUNCTIONS)
    handlers = {
        name: body["Properties"]["Handler"]
        for name, body in of_type(template["Resources"], "AWS::Serverless::Function").items()
    }
    assert handlers == {
        RESPONDER: "handlers/key_events.lambda_handler",
        REMINDER: "handlers/reminders.lambda_handler",
        RECONCILE: "handlers/reconcile.lambda_handler",
        ORG_SWEEP: "handlers/org_sweep.lambda_handler",
    }


@pytest.mark.parametrize(("reserved", "expected"), [("20", "20"), ("1", "1"), ("0", None)])
def test_the_responder_has_reserved_concurrency_unless_the_account_cannot_spare_it(
    template: dict[str, Any], reserved: str, expected: str | None
) -> None:
    props = Resolver(template, {"ReservedConcurrency": reserved}).resolve(
        template["Resources"][RESPONDER]["Properties"]
    )
    assert props.get("ReservedConcurrentExecutions") == expected
    assert template["Parameters"]["ReservedConcurrency"]["Default"] == 20


def test_the_idempotency_table_cannot_be_deleted_by_accident(template: dict[str, Any]) -> None:
    table = template["Resources"]["IdempotencyTable"]
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert (table["DeletionPolicy"], table["UpdateReplacePolicy"]) == ("Retain", "Retain")
