"""Which other accounts a key policy or grant names, whether they belong to the organization, and
what a reference found in another account can mean."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.stub import Stubber

from shared.accounts import MemberAccounts
from shared.aws import ClientFactory
from shared.config import Settings
from shared.cross_account import (
    MAX_ACCOUNTS_SEARCHED,
    OUTSIDER,
    TOO_MANY,
    CrossAccountSearch,
    Membership,
    grant_accounts,
    policy_accounts,
)
from shared.document import DependenciesSection, GrantItem
from shared.keyref import KeyIdentity

OWNER = "111122223333"
B = "222233334444"
C = "333344445555"
KEY = f"arn:aws:kms:eu-west-1:{OWNER}:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.mark.parametrize(
    "principal",
    [
        {"AWS": f"arn:aws:iam::{B}:root"},
        {"AWS": B},
        {"AWS": [f"arn:aws:iam::{OWNER}:root", f"arn:aws:iam::{B}:role/exporter"]},
        {"AWS": f"arn:aws:sts::{B}:assumed-role/exporter/session"},
        {"AWS": f"arn:aws-us-gov:iam::{B}:user/ops"},
    ],
)
def test_every_principal_form_names_its_account(principal: dict[str, Any]) -> None:
    text = policy({"Effect": "Allow", "Principal": principal, "Action": "kms:Decrypt", "Resource": "*"})
    assert policy_accounts(text) - {OWNER} == {B}


def test_accounts_in_caller_account_conditions_are_named() -> None:
    # The "via service" statement of AWS-managed-style policies names accounts in kms:CallerAccount
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": ["kms:Decrypt"],
        "Resource": "*",
        "Condition": {
            "StringEquals": {"kms:CallerAccount": [B, C], "kms:ViaService": "s3.eu-west-1.amazonaws.com"}
        },
    }
    assert policy_accounts(policy(statement)) == {B, C}


def test_deny_statements_services_and_wildcards_name_no_account() -> None:
    text = policy(
        {
            "Effect": "Deny",
            "Principal": {"AWS": f"arn:aws:iam::{B}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Principal": {"Service": "logs.amazonaws.com"},
            "Action": "kms:*",
            "Resource": "*",
        },
        {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"},
    )
    assert policy_accounts(text) == set()


@pytest.mark.parametrize("text", [None, "", "not json", "[]", json.dumps({"Statement": "x"})])
def test_an_unreadable_policy_names_no_account(text: str | None) -> None:
    assert policy_accounts(text) == set()


def test_grants_name_the_accounts_of_their_principals_not_of_services() -> None:
    grants = [
        GrantItem(grant_id="g1", grantee_principal=f"arn:aws:iam::{B}:role/exporter"),
        GrantItem(grant_id="g2", grantee_principal="dynamodb.eu-west-1.amazonaws.com"),
        GrantItem(
            grant_id="g3", grantee_principal="rds.amazonaws.com", retiring_principal=f"arn:aws:iam::{C}:root"
        ),
    ]
    assert grant_accounts(grants) == {B, C}


def test_from_another_account_only_references_carrying_the_keys_account_match() -> None:
    identity = KeyIdentity(KEY, aliases=frozenset({"alias/orders"}), foreign=True)
    key_id = KEY.rsplit("/", 1)[-1]
    assert identity.matches(KEY, "eu-west-1", B)
    assert identity.matches(f"arn:aws:kms:eu-west-1:{OWNER}:alias/orders", "eu-west-1", B)
    # in B, a bare id or alias name names a key of B's own
    assert not identity.matches(key_id, "eu-west-1", B)
    assert not identity.matches("alias/orders", "eu-west-1", B)
    # the same references in the key's own account are the key
    home = KeyIdentity(KEY, aliases=frozenset({"alias/orders"}))
    assert home.matches(key_id, "eu-west-1", OWNER)
    assert home.matches("alias/orders", "eu-west-1", OWNER)


@pytest.fixture
def organizations() -> tuple[ClientFactory, Any]:
    clients = ClientFactory()
    return clients, clients.client("organizations")  # a global service: the default Region


def answer(account: str) -> dict[str, Any]:
    arn = f"arn:aws:organizations::111111111111:account/o-abcdef1234/{account}"
    return {"Account": {"Id": account, "Arn": arn, "Name": "analytics", "Status": "ACTIVE"}}


def test_membership_is_read_once_and_an_outsider_is_told_apart(
    organizations: tuple[ClientFactory, Any],
) -> None:
    clients, client = organizations
    now = [0.0]
    membership = Membership(clients, clock=lambda: now[0])
    with Stubber(client) as stub:
        stub.add_response("describe_account", answer(B), {"AccountId": B})
        for account, code in ((C, "AccountNotFoundException"), *[(OWNER, "AccessDeniedException")] * 2):
            stub.add_client_error("describe_account", code, expected_params={"AccountId": account})
        assert membership.of(B) == (True, None)
        assert membership.of(B) == (True, None)  # cached: no second call
        assert membership.of(C) == (False, None)
        # an error is not an answer: asked again next time
        assert membership.of(OWNER) == (None, "AccessDeniedException")
        assert membership.of(OWNER) == (None, "AccessDeniedException")
        stub.assert_no_pending_responses()


def test_membership_is_asked_again_after_an_hour(organizations: tuple[ClientFactory, Any]) -> None:
    clients, client = organizations
    now = [0.0]
    membership = Membership(clients, clock=lambda: now[0])
    with Stubber(client) as stub:
        stub.add_response("describe_account", answer(B), {"AccountId": B})
        stub.add_client_error(
            "describe_account", "AccountNotFoundException", expected_params={"AccountId": B}
        )
        assert membership.of(B) == (True, None)
        now[0] += 3601
        assert membership.of(B) == (False, None)
        stub.assert_no_pending_responses()


def padded_search(clients: ClientFactory, now: list[float]) -> CrossAccountSearch:
    settings = Settings(
        alert_topic_arn=f"arn:aws:sns:eu-west-1:{OWNER}:alerts", organization_id="o-abcdef1234"
    )
    clock = lambda: now[0]  # noqa: E731
    return CrossAccountSearch(
        settings, MemberAccounts(clients, clock=clock), Membership(clients, clock), clock
    )


def padding(count: int) -> list[str]:
    return [f"9{n:011d}" for n in range(count)]


def test_a_policy_padded_with_accounts_costs_a_bounded_number_of_calls_and_says_so(
    organizations: tuple[ClientFactory, Any],
) -> None:
    # kms:CallerAccount values are not checked by KMS: thousands of accounts fit in a key policy
    clients, client = organizations
    named = padding(400)
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": "*"},
        "Action": "kms:Decrypt",
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": named}},
    }
    # the account named by a grant as well as the policy is searched first, whatever its id
    grant = GrantItem(grant_id="g1", grantee_principal=f"arn:aws:iam::{named[-1]}:role/exporter")
    home = DependenciesSection(complete=True, total=0, grants=[grant])
    first = [named[-1], *named[: MAX_ACCOUNTS_SEARCHED - 1]]
    search = padded_search(clients, [0.0])
    with Stubber(client) as stub:
        for account in first:  # any further call fails the test: the stub has no answer for it
            stub.add_client_error(
                "describe_account", "AccountNotFoundException", expected_params={"AccountId": account}
            )
        result = search.extend(KeyIdentity(KEY), home, policy(statement), None, deadline=25.0)
        stub.assert_no_pending_responses()
    assert not result.complete
    listed = {a.account: a for a in result.accounts}
    assert [a.account for a in result.accounts[:MAX_ACCOUNTS_SEARCHED]] == first
    assert all(listed[account].reason == OUTSIDER for account in first)
    assert len(result.accounts) == 2 * MAX_ACCOUNTS_SEARCHED  # the rest counted, not listed
    assert {a.reason for a in result.accounts[MAX_ACCOUNTS_SEARCHED:]} == {TOO_MANY}
    (summary,) = [u for u in result.unchecked if u.finder == "other accounts"]
    assert summary.reason.startswith(f"{400 - MAX_ACCOUNTS_SEARCHED} of the 400 accounts")


def test_accounts_left_when_time_is_up_cost_no_call(organizations: tuple[ClientFactory, Any]) -> None:
    clients, client = organizations
    statement = {"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{B}:root", C]}, "Action": "kms:*"}
    search = padded_search(clients, [30.0])
    with Stubber(client):  # no answers: a membership read would raise
        result = search.extend(
            KeyIdentity(KEY),
            DependenciesSection(complete=True, total=0),
            policy(statement),
            None,
            deadline=25.0,
        )
    assert not result.complete
    assert [(a.account, a.searched, a.reason) for a in result.accounts] == [
        (B, False, "no time left to search it"),
        (C, False, "no time left to search it"),
    ]
