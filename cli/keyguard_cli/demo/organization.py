"""The demo's organization: a hub and two member accounts inside moto (``make demo ARGS=--organization``).

The hub is moto's default account, the organization's management account; it holds the responder's
execution role and the alert topic. ``payments`` (A) holds a production key with an alias, tags and
a secret, whose key policy lets ``analytics`` (B) and an account outside the organization use it.
B encrypts a bucket and a queue with A's key: the dependency a search of A alone never finds.

Each member holds the roles org/member-roles.yaml creates, trusting the hub function's role. moto
checks neither trust policies nor permissions (docs/moto-field-notes.md), so the roles are there to
make the accounts read like real ones; the hub reaches a member through ``sts:AssumeRole`` all the
same, and moto puts the calls made with those credentials in that member's account.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import boto3

from keyguard_cli.demo.world import ACCOUNT, alert_channel, read_alerts, sample_event

HUB = ACCOUNT  # moto's default account: the management account, where the hub is deployed
OUTSIDER = "444455556666"  # named by the key policy, not a member of the organization
FUNCTION_ROLE_NAME = "kms-keyguard-KeyEventsRole-DEMO"
KEY_ALIAS = "alias/payments-ledger"
# Organizations creates this role in every account it creates; the demo sets the members up with it.
SETUP_ROLE = "OrganizationAccountAccessRole"
# The member roles' names (org/member-roles.yaml; the function's MEMBER_ROLE_NAME and
# MEMBER_REMEDIATION_ROLE_NAME at their defaults).
DISCOVERY_ROLE = "kms-keyguard-discovery"
REMEDIATION_ROLE = "kms-keyguard-remediation"
# The only sample the organization demo sends: the sample the hub's demo leads with.
ORGANIZATION_EVENT = "schedule_key_deletion"


@dataclass
class Member:
    """A member account, and a session acting in it (through the role Organizations created)."""

    name: str
    account: str
    session: boto3.Session

    def client(self, service: str) -> Any:
        return self.session.client(service)  # type: ignore[call-overload]


@dataclass
class OrganizationWorld:
    region: str
    organization_id: str
    function_role_arn: str
    payments: Member
    analytics: Member
    key_id: str
    key_arn: str
    topic_arn: str
    queue_url: str
    resources: list[str] = field(default_factory=list)

    def event(self) -> dict[str, Any]:
        """The payments account's ``ScheduleKeyDeletion`` as the central bus delivers it to the hub:
        its ``account`` and ``region`` are the member's."""
        event = sample_event(
            ORGANIZATION_EVENT, account=self.payments.account, key_id=self.key_id, region=self.region
        )
        return dict(json.loads(json.dumps(event).replace('"alias/prod-db"', f'"{KEY_ALIAS}"')))

    def perform(self, event: dict[str, Any]) -> None:
        """Schedule the deletion in the payments account, as the event records it."""
        window = int((event["detail"].get("requestParameters") or {}).get("pendingWindowInDays") or 30)
        self.payments.client("kms").schedule_key_deletion(KeyId=self.key_id, PendingWindowInDays=window)

    def read_alerts(self) -> list[dict[str, Any]]:
        """Every SNS envelope waiting in the hub's subscriber queue (and delete them)."""
        return read_alerts(self.queue_url, self.region)


def build_organization(region: str = "us-east-1", *, remediation: bool = False) -> OrganizationWorld:
    """Create the organization, its two members and their resources. moto must already be active.

    ``remediation``: the members get the remediation role too (the hub assumes it unless its mode
    is ``off``).
    """
    organizations = boto3.client("organizations", region_name=region)
    organization_id = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    iam = boto3.client("iam", region_name=region)
    function_role_arn = iam.create_role(
        RoleName=FUNCTION_ROLE_NAME,
        AssumeRolePolicyDocument=_trust({"Service": "lambda.amazonaws.com"}),
        Description="The kms-keyguard responder's execution role (the hub stack's KeyEventsRoleArn).",
    )["Role"]["Arn"]
    payments = _member(organizations, "payments", region)
    analytics = _member(organizations, "analytics", region)
    roles = (DISCOVERY_ROLE, REMEDIATION_ROLE) if remediation else (DISCOVERY_ROLE,)
    for member in (payments, analytics):
        for role in roles:
            member.client("iam").create_role(
                RoleName=role,
                AssumeRolePolicyDocument=_trust({"AWS": function_role_arn}, organization_id),
                Description=f"kms-keyguard hub access ({role.rsplit('-', 1)[-1]}), org/member-roles.yaml",
            )

    key = _payments_key(payments, analytics.account)
    topic_arn, queue_url = alert_channel(region)
    world = OrganizationWorld(
        region=region,
        organization_id=organization_id,
        function_role_arn=function_role_arn,
        payments=payments,
        analytics=analytics,
        key_id=key["KeyId"],
        key_arn=key["Arn"],
        topic_arn=topic_arn,
        queue_url=queue_url,
    )
    _seed_payments(world)
    _seed_analytics(world)
    return world


def _member(organizations: Any, name: str, region: str) -> Member:
    """A new account of the organization (moto creates it at once), and a session acting in it."""
    status = organizations.create_account(AccountName=name, Email=f"aws+{name}@example.com")
    account = str(status["CreateAccountStatus"]["AccountId"])
    credentials = boto3.client("sts", region_name=region).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/{SETUP_ROLE}", RoleSessionName="kms-keyguard-demo-setup"
    )["Credentials"]
    session = boto3.Session(
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        region_name=region,
    )
    return Member(name, account, session)


def _trust(principal: dict[str, str], organization_id: str | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if organization_id is not None:
        # As org/member-roles.yaml: the hub's role, within the organization, may set a source identity.
        statement["Action"] = ["sts:AssumeRole", "sts:SetSourceIdentity"]
        statement["Condition"] = {"StringEquals": {"aws:PrincipalOrgID": organization_id}}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def _payments_key(payments: Member, analytics: str) -> dict[str, Any]:
    """The payments ledger key. Its policy is the usual one plus two cross-account statements: one
    for the analytics account (in the organization) and one for an auditor's account (outside it)."""
    use = ["kms:Decrypt", "kms:GenerateDataKey*"]
    policy = {
        "Version": "2012-10-17",
        "Id": "payments-ledger",
        "Statement": [
            {
                "Sid": "EnableIAMPolicies",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{payments.account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "AnalyticsReadsLedgerExports",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{analytics}:root"},
                "Action": use,
                "Resource": "*",
            },
            {
                "Sid": "ExternalAuditorReadsLedgerExports",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OUTSIDER}:root"},
                "Action": use,
                "Resource": "*",
            },
        ],
    }
    kms = payments.client("kms")
    key: dict[str, Any] = kms.create_key(
        Description="Payments ledger (ledger database, exports shared with analytics)",
        Policy=json.dumps(policy),
        Tags=[
            {"TagKey": "team", "TagValue": "payments"},
            {"TagKey": "env", "TagValue": "prod"},
            {"TagKey": "data-classification", "TagValue": "confidential"},
            {"TagKey": "keyguard:protect", "TagValue": "true"},
        ],
    )["KeyMetadata"]
    kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=key["KeyId"])
    kms.enable_key_rotation(KeyId=key["KeyId"])
    return key


def _seed_payments(world: OrganizationWorld) -> None:
    """What the payments account itself encrypts with the key: a secret and a bucket."""
    member = world.payments
    member.client("secretsmanager").create_secret(
        Name="payments/ledger-db", SecretString="example-not-a-secret", KmsKeyId=world.key_arn
    )
    world.resources.append(f"{member.name}:secretsmanager:payments/ledger-db")
    _encrypted_bucket(member, "payments-ledger-archive", world.key_id, world.region)
    world.resources.append(f"{member.name}:s3:payments-ledger-archive")


def _seed_analytics(world: OrganizationWorld) -> None:
    """What the analytics account encrypts with the payments key (by its ARN, as another account
    must): the bucket the ledger exports land in, and the queue announcing them."""
    member = world.analytics
    _encrypted_bucket(member, "analytics-ledger-exports", world.key_arn, world.region)
    world.resources.append(f"{member.name}:s3:analytics-ledger-exports")
    member.client("sqs").create_queue(
        QueueName="ledger-export-events", Attributes={"KmsMasterKeyId": world.key_arn}
    )
    world.resources.append(f"{member.name}:sqs:ledger-export-events")


def _encrypted_bucket(member: Member, name: str, key: str, region: str) -> None:
    s3 = member.client("s3")
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    rule = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key},
        "BucketKeyEnabled": True,
    }
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})
