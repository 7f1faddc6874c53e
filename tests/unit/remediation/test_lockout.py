"""Does a new key policy still let the account cancel the deletion? Row by row."""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.lockout import cancel_access

ACCOUNT = "123456789012"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, action: Any = "kms:*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*", **extra}


def deny(principal: Any, action: Any = "kms:CancelKeyDeletion", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": principal, "Action": action, "Resource": "*", **extra}


@pytest.mark.parametrize(
    ("document", "allows"),
    [
        (policy(allow({"AWS": ROOT})), True),
        (policy(allow({"AWS": ACCOUNT})), True),
        (
            policy(
                allow(
                    {"AWS": [f"arn:aws:iam::{ACCOUNT}:role/ops-admin"]},
                    ["kms:CancelKeyDeletion", "kms:EnableKey"],
                )
            ),
            True,
        ),
        (policy(allow({"AWS": ROOT}, ["kms:Cancel*", "kms:Enable*", "kms:Describe*"])), True),
        (policy(allow({"AWS": ROOT}, ["KMS:CANCELKEYDELETION", "kms:enablekey"])), True),
        # Cancelling leaves the key Disabled: a policy that allows only one of the two locks it out.
        (policy(allow({"AWS": [f"arn:aws:iam::{ACCOUNT}:role/ops-admin"]}, "kms:CancelKeyDeletion")), False),
        (policy(allow({"AWS": ROOT}, "kms:EnableKey")), False),
        (policy(allow({"AWS": ROOT}), deny("*", "kms:EnableKey")), False),
        (policy(allow("*")), True),
        (policy(allow({"AWS": "*"}, "*")), True),
        (policy(allow({"AWS": ROOT}, "kms:Describe*")), False),
        (policy(allow({"AWS": "arn:aws:iam::444455556666:root"})), False),
        (policy(allow({"Service": "logs.amazonaws.com"})), False),
        (policy(), False),
        ('{"Version":"2012-10-17","Statement":[]}', False),
        (policy(allow({"AWS": ROOT}), deny("*")), False),
        (policy(allow({"AWS": ROOT}), deny({"AWS": ROOT}, "kms:*")), False),
        (policy(allow({"AWS": ROOT}), deny("*", "kms:ScheduleKeyDeletion")), True),
        (
            policy(allow({"AWS": ROOT}), {"Effect": "Deny", "NotPrincipal": {"AWS": "x"}, "Action": "kms:*"}),
            False,
        ),
        (policy({"Effect": "Allow", "Principal": {"AWS": ROOT}, "NotAction": "kms:Decrypt"}), True),
        (policy({"Effect": "Allow", "Principal": {"AWS": ROOT}, "NotAction": "kms:Cancel*"}), False),
        # conditions keyguard does not evaluate
        (policy(allow({"AWS": ROOT}, Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})), None),
        (
            policy(
                allow({"AWS": ROOT}), deny("*", Condition={"StringNotEquals": {"aws:PrincipalTag/team": "x"}})
            ),
            None,
        ),
        # unreadable
        (None, None),
        ("{not json", None),
        ("[]", None),
    ],
)
def test_cancel_access(document: str | None, allows: bool | None) -> None:
    verdict = cancel_access(document, ACCOUNT)

    assert verdict.allows_cancel is allows
    assert verdict.lockout is (allows is False)
    assert verdict.reason


def test_a_parsed_document_is_accepted_too() -> None:
    assert cancel_access({"Statement": allow({"AWS": ROOT})}, ACCOUNT).allows_cancel is True
