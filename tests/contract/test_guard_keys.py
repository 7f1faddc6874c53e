"""The guard's own KMS keys: only the break-glass principal may switch them off, and the responder
may always switch them back on.

Key policies are evaluated here the way KMS evaluates them for these statements (an explicit Deny
wins over any Allow; the account statement delegates everything else to IAM; ``ArnNotEquals`` on
``aws:PrincipalArn`` is true when the key is absent, as for service principals):
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html and
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html.
"""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from itertools import product
from typing import Any

import pytest

from tests.contract.deployed import ACCOUNT
from tests.support.cfn_yaml import Resolver, of_type

ROOT = f"arn:aws:iam::{ACCOUNT}:root"
BREAK_GLASS = f"arn:aws:iam::{ACCOUNT}:role/KeyguardBreakGlass"
ADMIN = f"arn:aws:iam::{ACCOUNT}:role/Administrator"
RESPONDER = f"arn:aws:iam::{ACCOUNT}:role/kms-keyguard-KeyEventsRole-ABC"
CLOUDWATCH = "cloudwatch.amazonaws.com"

GUARDED_ACTIONS = ("kms:DisableKey", "kms:ScheduleKeyDeletion", "kms:PutKeyPolicy", "kms:CreateGrant")
RESTORING_ACTIONS = ("kms:CancelKeyDeletion", "kms:EnableKey")
EVERYDAY_ACTIONS = ("kms:DescribeKey", "kms:TagResource", "kms:EnableKeyRotation", "kms:GenerateDataKey")


def guard_keys(resources: dict[str, Any]) -> list[str]:
    return sorted(of_type(resources, "AWS::KMS::Key"))


def decision(policy: dict[str, Any], principal: str, action: str) -> str:
    """ "deny", "allow" (by the key policy itself) or "iam" (delegated to the principal's IAM policies)."""
    outcome = "implicit-deny"
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if not any(fnmatchcase(action, pattern) for pattern in actions):
            continue
        who = statement["Principal"]
        if who != "*":
            if "Service" in who:
                if principal != who["Service"]:
                    continue
            elif who["AWS"] == ROOT:
                if principal == CLOUDWATCH:
                    continue
            elif principal != who["AWS"]:
                continue
        if not _conditions_hold(statement.get("Condition", {}), principal):
            continue
        if statement["Effect"] == "Deny":
            return "deny"
        outcome = "allow" if statement["Principal"] != {"AWS": ROOT} else "iam"
    return outcome


def _conditions_hold(conditions: dict[str, Any], principal: str) -> bool:
    principal_arn = None if principal == CLOUDWATCH else principal
    for operator, block in conditions.items():
        for key, wanted in block.items():
            wanted = wanted if isinstance(wanted, list) else [wanted]
            if operator == "ArnNotEquals" and key == "aws:PrincipalArn":
                if principal_arn is not None and principal_arn in wanted:
                    return False
            elif operator == "StringEquals" and key == "aws:SourceAccount":
                continue  # the alarms of this account
            else:
                raise AssertionError(f"condition {operator} {key} is not evaluated by this test")
    return True


def key_policy(template: dict[str, Any], key: str, break_glass: str = "") -> dict[str, Any]:
    resolver = Resolver(template, {"BreakGlassPrincipalArn": break_glass})
    return resolver.resolve(template["Resources"][key]["Properties"]["KeyPolicy"])


@pytest.mark.parametrize(("key", "action"), list(product(["AlertKey", "HealthKey"], GUARDED_ACTIONS)))
def test_without_a_break_glass_principal_only_the_root_user_may_switch_a_guard_key_off(
    template: dict[str, Any], key: str, action: str
) -> None:
    policy = key_policy(template, key)
    assert decision(policy, ADMIN, action) == "deny"
    assert decision(policy, RESPONDER, action) == "deny"
    assert decision(policy, CLOUDWATCH, action) == "deny"
    assert decision(policy, ROOT, action) == "iam"


@pytest.mark.parametrize(("key", "action"), list(product(["AlertKey", "HealthKey"], GUARDED_ACTIONS)))
def test_with_a_break_glass_principal_only_that_principal_may_switch_a_guard_key_off(
    template: dict[str, Any], key: str, action: str
) -> None:
    policy = key_policy(template, key, BREAK_GLASS)
    assert decision(policy, BREAK_GLASS, action) == "iam"
    for other in (ROOT, ADMIN, RESPONDER, CLOUDWATCH):
        assert decision(policy, other, action) == "deny", other


@pytest.mark.parametrize(
    ("key", "action", "break_glass"),
    list(product(["AlertKey", "HealthKey"], (*RESTORING_ACTIONS, *EVERYDAY_ACTIONS), ["", BREAK_GLASS])),
)
def test_restoring_and_everyday_use_stay_with_iam(
    template: dict[str, Any], key: str, action: str, break_glass: str
) -> None:
    # Cancelling a deletion, re-enabling and using the key are never denied by the key policy: the
    # responder can always put a guard key back, and nobody is locked out of the key.
    policy = key_policy(template, key, break_glass)
    for principal in (ROOT, ADMIN, RESPONDER, BREAK_GLASS):
        assert decision(policy, principal, action) == "iam", principal


def test_the_break_glass_principal_can_always_rewrite_the_policy(template: dict[str, Any]) -> None:
    # No lockout: whoever is exempt keeps PutKeyPolicy through the account statement.
    for key in ("AlertKey", "HealthKey"):
        assert decision(key_policy(template, key), ROOT, "kms:PutKeyPolicy") == "iam"
        assert decision(key_policy(template, key, BREAK_GLASS), BREAK_GLASS, "kms:PutKeyPolicy") == "iam"


def test_alarms_may_encrypt_to_the_health_topic_only(template: dict[str, Any]) -> None:
    assert decision(key_policy(template, "HealthKey"), CLOUDWATCH, "kms:GenerateDataKey") == "allow"
    assert decision(key_policy(template, "HealthKey"), CLOUDWATCH, "kms:Decrypt") == "allow"
    assert decision(key_policy(template, "AlertKey"), CLOUDWATCH, "kms:GenerateDataKey") == "implicit-deny"


def test_every_key_of_the_stack_is_a_guard_key(resources: dict[str, Any]) -> None:
    assert guard_keys(resources) == ["AlertKey", "HealthKey"]
    for key in guard_keys(resources):
        (deny,) = [s for s in resources[key]["Properties"]["KeyPolicy"]["Statement"] if s["Effect"] == "Deny"]
        assert deny["Principal"] == "*"
        assert sorted(deny["Action"]) == sorted(GUARDED_ACTIONS)
        assert deny["Resource"] == "*"  # in a key policy: this key


def test_guard_keys_can_be_created_by_a_deployer_who_is_not_the_break_glass_principal(
    resources: dict[str, Any],
) -> None:
    # KMS refuses a policy that denies its creator a later PutKeyPolicy unless the lockout safety
    # check is bypassed; the break-glass principal keeps PutKeyPolicy (tests above).
    for key in guard_keys(resources):
        assert resources[key]["Properties"]["BypassPolicyLockoutSafetyCheck"] is True


def test_guard_keys_outlive_the_stack_and_rotate(resources: dict[str, Any]) -> None:
    # The stack cannot schedule their deletion (denied), so deleting it keeps them.
    for key in guard_keys(resources):
        assert resources[key]["DeletionPolicy"] == "Retain"
        assert resources[key]["UpdateReplacePolicy"] == "Retain"
        assert resources[key]["Properties"]["EnableKeyRotation"] is True


def test_the_alert_and_health_paths_have_independent_keys(resources: dict[str, Any]) -> None:
    assert resources["AlertTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertKey"}
    assert resources["HealthTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "HealthKey"}


@pytest.mark.parametrize("function", ["KeyEventsFunction", "ReconcileFunction"])
def test_the_functions_know_every_guard_key(resources: dict[str, Any], function: str) -> None:
    env = resources[function]["Properties"]["Environment"]["Variables"]
    separator, parts = env["GUARD_KEY_ARNS"]["Fn::Join"]
    assert separator == ","
    assert parts == [{"Fn::GetAtt": [key, "Arn"]} for key in guard_keys(resources)]


@pytest.mark.parametrize("value", ["", BREAK_GLASS, f"arn:aws:iam::{ACCOUNT}:user/ops/break-glass", ROOT])
def test_the_break_glass_parameter_accepts_iam_principals(template: dict[str, Any], value: str) -> None:
    assert re.fullmatch(template["Parameters"]["BreakGlassPrincipalArn"]["AllowedPattern"], value)


@pytest.mark.parametrize(
    "value", ["*", "arn:aws:iam::111122223333:role/*", "Administrator", "arn:aws:sts::1:x"]
)
def test_the_break_glass_parameter_refuses_anything_else(template: dict[str, Any], value: str) -> None:
    assert not re.fullmatch(template["Parameters"]["BreakGlassPrincipalArn"]["AllowedPattern"], value)
