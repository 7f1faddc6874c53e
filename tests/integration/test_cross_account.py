"""Cross-account dependencies under moto: a key of member account A used by resources of member
account B is found by searching B through its discovery role, by the key's ARN; an account outside
the organization that the key policy names is listed as "may use the key, not searched".

moto emulates Organizations (``DescribeAccount`` answers for the accounts it created and raises
``AccountNotFoundException`` for others) and lets ``sts:AssumeRole`` into any account; trust
policies are not enforced, so a role that cannot be assumed is STS's answer given by a stand-in.
The calls moto lacks are answered as an account without such resources answers (the demo's
emulation), so a search can be complete.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from keyguard_cli.demo.emulation import emulated_apis
from shared.accounts import MemberRoleUnavailable
from shared.aws import ClientFactory
from shared.config import Settings
from shared.cross_account import OUTSIDER
from shared.document import AlertDocument
from shared.responder import Responder
from tests.integration.test_organization import Captured, forwarded, member_client

pytestmark = pytest.mark.integration

HUB = "123456789012"
OUTSIDE = "444455556666"
REGION = "eu-west-1"
HUB_ROLE = f"arn:aws:iam::{HUB}:role/kms-keyguard-KeyEventsRole-1A2B3C"


@dataclass
class Org:
    org_id: str
    a: str  # the key's account
    b: str  # an account that uses A's key

    def client(self, account: str, service: str) -> Any:
        return member_client(service, account)

    def settings(self, **overrides: Any) -> Settings:
        return Settings(
            alert_topic_arn=f"arn:aws:sns:{REGION}:{HUB}:alerts",
            organization_id=self.org_id,
            function_role_arn=HUB_ROLE,
            discovery_max_seconds=20,
            usage_lookback_days=0,
            **overrides,
        )

    def event(self, key_arn: str) -> dict[str, Any]:
        text = json.dumps(forwarded("ScheduleKeyDeletion", key_arn))
        return dict(json.loads(text.replace("210987654321", self.a)))


def key_policy(owner: str, *others: str) -> str:
    statements: list[dict[str, Any]] = [
        {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{owner}:root"},
         "Action": "kms:*", "Resource": "*"},
    ]  # fmt: skip
    if others:
        statements.append(
            {"Sid": "OtherAccountsUse", "Effect": "Allow",
             "Principal": {"AWS": [f"arn:aws:iam::{other}:root" for other in others]},
             "Action": ["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"], "Resource": "*"}
        )  # fmt: skip
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.fixture
def org() -> Iterator[Org]:
    with mock_aws(), emulated_apis():
        orgs = boto3.client("organizations", region_name="us-east-1")
        org_id = orgs.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        ids = [
            orgs.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"][
                "AccountId"
            ]
            for name in ("payments", "analytics")
        ]
        yield Org(org_id, *ids)


def schedule(org: Org, *others: str) -> str:
    """A's key, its policy naming ``others``, scheduled for deletion; B's bucket encrypted with it."""
    kms = org.client(org.a, "kms")
    key = kms.create_key(Description="orders", Policy=key_policy(org.a, *others))["KeyMetadata"]
    s3 = org.client(org.b, "s3")
    s3.create_bucket(Bucket="analytics-exports", CreateBucketConfiguration={"LocationConstraint": REGION})
    rule = {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}}
    s3.put_bucket_encryption(Bucket="analytics-exports", ServerSideEncryptionConfiguration={"Rules": [rule]})
    # B's queue names A's key by its bare id: in B that names a key of B's own, not A's
    org.client(org.b, "sqs").create_queue(
        QueueName="analytics-jobs", Attributes={"KmsMasterKeyId": key["KeyId"]}
    )
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
    return str(key["Arn"])


def alert(org: Org, key_arn: str, **overrides: Any) -> AlertDocument:
    publisher = Captured()
    Responder(org.settings(**overrides), ClientFactory(), publisher=publisher).handle(org.event(key_arn))
    (doc,) = publisher.docs
    return doc


def test_a_key_of_a_used_by_a_bucket_in_b_lists_bs_bucket_with_bs_account(org: Org) -> None:
    # Given A's key, whose policy lets B use it, and B's bucket encrypted with it
    key_arn = schedule(org, org.b)

    # When A's deletion reaches the hub
    doc = alert(org, key_arn)

    # Then B's bucket is listed with B's account; B's queue (a bare key id) is not A's key
    found = {(i.resource_type, i.name, i.account) for i in doc.dependencies.items}
    assert ("AWS::S3::Bucket", "analytics-exports", org.b) in found
    assert not any(i.name == "analytics-jobs" for i in doc.dependencies.items)
    (searched,) = doc.dependencies.accounts
    assert (searched.account, searched.named_by, searched.searched) == (org.b, ["key policy"], True)
    assert (searched.found, searched.reason) == (1, None)
    assert doc.dependencies.complete
    assert doc.dependencies.counts["AWS::S3::Bucket"] == 1


def test_an_account_outside_the_organization_is_listed_not_searched(org: Org) -> None:
    # Given A's key, whose policy also names an account outside the organization
    key_arn = schedule(org, org.b, OUTSIDE)

    # When the alert is built
    doc = alert(org, key_arn)

    # Then the outsider is listed as a possible user, not searched, and the search is a lower bound
    outsider = next(a for a in doc.dependencies.accounts if a.account == OUTSIDE)
    assert (outsider.searched, outsider.reason) == (False, OUTSIDER)
    assert not doc.dependencies.complete
    assert any(u.finder == f"account {OUTSIDE}" for u in doc.dependencies.unchecked_as("incomplete"))
    assert any(i.account == org.b for i in doc.dependencies.items)


def test_an_account_named_by_a_grant_is_searched(org: Org) -> None:
    # Given A's key with the default policy and a grant to a role of B
    key_arn = schedule(org)
    org.client(org.a, "kms").create_grant(
        KeyId=key_arn, GranteePrincipal=f"arn:aws:iam::{org.b}:role/exporter", Operations=["Decrypt"]
    )

    # When the alert is built
    doc = alert(org, key_arn)

    # Then B was searched because of the grant
    (searched,) = doc.dependencies.accounts
    assert (searched.account, searched.named_by, searched.found) == (org.b, ["grant"], 1)


def test_a_member_whose_role_cannot_be_assumed_is_named_with_the_role(
    org: Org, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given B's discovery role refuses the hub (A's does not)
    key_arn = schedule(org, org.b)
    from shared.accounts import MemberAccounts

    real = MemberAccounts.factory
    role = f"arn:aws:iam::{org.b}:role/kms-keyguard-discovery"

    def factory(self: MemberAccounts, account: str, role_name: str, region: str) -> ClientFactory:
        if account == org.b:
            raise MemberRoleUnavailable(role, "AccessDenied")
        return real(self, account, role_name, region)

    monkeypatch.setattr(MemberAccounts, "factory", factory)

    # When the alert is built
    doc = alert(org, key_arn)

    # Then B is listed as not searched, naming the role and STS's answer, and the search is incomplete
    (searched,) = doc.dependencies.accounts
    assert not searched.searched
    assert searched.reason
    assert role in searched.reason
    assert "AccessDenied" in searched.reason
    assert not doc.dependencies.complete
    assert not any(i.account for i in doc.dependencies.items)


def test_single_account_mode_searches_no_other_account() -> None:
    with mock_aws(), emulated_apis():
        kms = boto3.client("kms", region_name=REGION)
        key = kms.create_key(Policy=key_policy(HUB, OUTSIDE))["KeyMetadata"]
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        event = json.loads(
            json.dumps(forwarded("ScheduleKeyDeletion", key["Arn"])).replace("210987654321", HUB)
        )
        publisher = Captured()
        config = Settings(alert_topic_arn=f"arn:aws:sns:{REGION}:{HUB}:alerts", usage_lookback_days=0)
        Responder(config, ClientFactory(), publisher=publisher).handle(event)
        (doc,) = publisher.docs
        assert doc.dependencies.accounts == []
        assert doc.dependencies.complete
