"""A small, realistic AWS account inside moto: the demo's, which the integration tests seed too.

It holds a production key with an alias, tags and a description, a second key that must never be
confused with it, resources encrypted with each (named by key id, key ARN and alias), and an alert
topic with an SQS subscriber from which the published alert is read back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

ACCOUNT = "123456789012"  # moto's default account
SAMPLE_ACCOUNT = "111122223333"
SAMPLE_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
SAMPLE_MRK_ID = "mrk-1234abcd12ab34cd56ef1234567890ab"
EVENTS_DIR = Path(__file__).resolve().parents[3] / "events"  # cli/keyguard_cli/demo/ -> the repository


@dataclass
class World:
    region: str
    key_id: str
    key_arn: str
    other_key_id: str
    topic_arn: str
    queue_url: str
    resources: list[str] = field(default_factory=list)

    def event(self, name: str) -> dict[str, Any]:
        """A sample from ``events/`` pointed at this world's key, account and region."""
        return sample_event(name, account=ACCOUNT, key_id=self.key_id, region=self.region)

    def adopt(self, event: dict[str, Any]) -> dict[str, Any]:
        """Any KMS event pointed at this world: its key id becomes this world's key, its account ours.

        An event that names the key only by an alias this world lacks is pointed at ``alias/prod-db``.
        """
        from shared.keyref import RefKind
        from shared.models import KEY_DELETION_DETAIL_TYPE
        from shared.responder import parse_record

        if event.get("detail-type") == KEY_DELETION_DETAIL_TYPE:
            # KMS's own event: the key id is in detail.key-id and the ARN in resources.
            detail = event.get("detail") or {}
            text = json.dumps(event)
            old_id = str(detail.get("key-id") or "")
            if old_id:
                text = text.replace(old_id, self.key_id)
            if event.get("account"):
                text = text.replace(str(event["account"]), ACCOUNT)
            return json.loads(text)
        record = parse_record(event)
        text = json.dumps(event)
        for _, ref in record.key_candidates():
            if ref.kind in (RefKind.KEY_ID, RefKind.KEY_ARN) and ref.value != self.key_id:
                text = text.replace(ref.value, self.key_id)
            elif ref.is_alias and ref.value not in ("alias/prod-db", "alias/payments"):
                text = text.replace(f'"{ref.value}"', '"alias/prod-db"').replace(
                    f":{ref.value}", ":alias/prod-db"
                )
        for account in {record.account, record.user_identity.account_id} - {None, ACCOUNT}:
            text = text.replace(str(account), ACCOUNT)
        return json.loads(text)

    def read_alerts(self, sqs: Any | None = None, wait_seconds: int = 0) -> list[dict[str, Any]]:
        """Every SNS envelope waiting in the subscriber queue (and delete them)."""
        return read_alerts(self.queue_url, self.region, sqs, wait_seconds)


def sample_event(name: str, *, account: str, key_id: str, region: str) -> dict[str, Any]:
    """A sample from ``events/`` pointed at a key of ``account`` in ``region``."""
    text = (EVENTS_DIR / f"{name}.json").read_text()
    text = (
        text.replace(SAMPLE_KEY_ID, key_id)
        .replace(SAMPLE_ACCOUNT, account)
        .replace('"us-east-1"', f'"{region}"')
        .replace(":us-east-1:", f":{region}:")
    )
    return json.loads(text)


def alert_channel(region: str) -> tuple[str, str]:
    """The alert topic and the on-call SQS queue subscribed to it: (topic ARN, queue URL)."""
    sns = boto3.client("sns", region_name=region)
    sqs = boto3.client("sqs", region_name=region)
    topic_arn = sns.create_topic(Name="kms-keyguard-alerts")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="oncall-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


def read_alerts(
    queue_url: str, region: str, sqs: Any | None = None, wait_seconds: int = 0
) -> list[dict[str, Any]]:
    """Every SNS envelope waiting in the subscriber queue ``queue_url`` (and delete them)."""
    sqs = sqs or boto3.client("sqs", region_name=region)
    envelopes: list[dict[str, Any]] = []
    while True:
        response = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=wait_seconds,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            return envelopes
        for message in messages:
            envelopes.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def build_world(region: str = "us-east-1", *, with_resources: bool = True, protect: bool = True) -> World:
    """Create the demo account. moto must already be active."""
    kms = boto3.client("kms", region_name=region)
    tags = [
        {"TagKey": "team", "TagValue": "payments"},
        {"TagKey": "env", "TagValue": "prod"},
        {"TagKey": "data-classification", "TagValue": "confidential"},
    ]
    if protect:
        tags.append({"TagKey": "keyguard:protect", "TagValue": "true"})
    key = kms.create_key(
        Description="Production payments database (Aurora, backups, app secrets)", Tags=tags
    )["KeyMetadata"]
    kms.create_alias(AliasName="alias/prod-db", TargetKeyId=key["KeyId"])
    kms.create_alias(AliasName="alias/payments", TargetKeyId=key["KeyId"])
    kms.enable_key_rotation(KeyId=key["KeyId"])
    other = kms.create_key(Description="Analytics scratch data")["KeyMetadata"]
    kms.create_alias(AliasName="alias/analytics", TargetKeyId=other["KeyId"])

    topic_arn, queue_url = alert_channel(region)
    world = World(
        region=region,
        key_id=key["KeyId"],
        key_arn=key["Arn"],
        other_key_id=other["KeyId"],
        topic_arn=topic_arn,
        queue_url=queue_url,
    )
    if with_resources:
        _seed_resources(world)
    return world


def _seed_resources(world: World) -> None:
    region = world.region
    s3 = boto3.client("s3", region_name=region)
    for name, key in (("payments-ledger-prod", world.key_arn), ("analytics-scratch", world.other_key_id)):
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
                ]
            },
        )
        world.resources.append(f"s3:{name}")

    ec2 = boto3.client("ec2", region_name=region)
    zone = f"{region}a"
    for size, key in ((100, world.key_id), (200, world.key_arn), (50, world.other_key_id)):
        volume = ec2.create_volume(AvailabilityZone=zone, Size=size, Encrypted=True, KmsKeyId=key)
        world.resources.append(f"ec2:{volume['VolumeId']}")

    kms = boto3.client("kms", region_name=region)
    account = world.key_arn.split(":")[4]
    first_volume = next(r for r in world.resources if r.startswith("ec2:")).split(":", 1)[1]
    kms.create_grant(
        KeyId=world.key_id,
        Name="ebs-attachment",
        GranteePrincipal=f"arn:aws:iam::{account}:role/aws-service-role/ebs",
        Operations=["Decrypt", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo"],
        Constraints={"EncryptionContextSubset": {"aws:ebs:id": first_volume}},
    )
    kms.create_grant(
        KeyId=world.key_id,
        Name="payments-api",
        GranteePrincipal=f"arn:aws:iam::{account}:role/payments-api",
        Operations=["Decrypt", "GenerateDataKey"],
    )

    secrets = boto3.client("secretsmanager", region_name=region)
    for name, key in (
        ("prod/payments/db-password", "alias/prod-db"),
        ("prod/payments/api-token", world.key_arn),
        ("analytics/warehouse", "alias/analytics"),
    ):
        secrets.create_secret(Name=name, SecretString="example-not-a-secret", KmsKeyId=key)
        world.resources.append(f"secretsmanager:{name}")


def perform(world: World, event: dict[str, Any]) -> None:
    """Make the account match the event: the call the record describes really happens in moto.

    Failed calls change nothing, as in AWS; a call that failed on the key's state (a tripwire) means
    the key was pending deletion, so the world is put in that state. Only the key of the world is
    touched.
    """
    detail = event.get("detail") or {}
    kms = boto3.client("kms", region_name=world.region)
    if detail.get("errorCode") == "KMSInvalidStateException":
        # A call that failed on the key's state: the key is pending deletion while still in use.
        kms.schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)
        return
    if detail.get("errorCode") == "DisabledException":
        # Refused because the key is Disabled (a key pending deletion may answer this way too).
        kms.disable_key(KeyId=world.key_id)
        return
    if detail.get("errorCode") or event.get("detail-type") != "AWS API Call via CloudTrail":
        return
    name = detail.get("eventName")
    if name == "ScheduleKeyDeletion":
        window = int((detail.get("requestParameters") or {}).get("pendingWindowInDays") or 30)
        kms.schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=window)
    elif name == "DisableKey":
        kms.disable_key(KeyId=world.key_id)
    elif name == "CancelKeyDeletion":
        # Only a key pending deletion can be cancelled; cancelling leaves it Disabled, as in AWS.
        kms.schedule_key_deletion(KeyId=world.key_id, PendingWindowInDays=7)
        kms.cancel_key_deletion(KeyId=world.key_id)
    elif name == "EnableKey":
        kms.disable_key(KeyId=world.key_id)
        kms.enable_key(KeyId=world.key_id)
    elif name == "DeleteImportedKeyMaterial":
        _material_deleted(world)
    elif name in ("TagResource", "UntagResource"):
        _tagged(world, kms, name, detail.get("requestParameters") or {})


def _tagged(world: World, kms: Any, name: str, request: dict[str, Any]) -> None:
    """``TagResource`` / ``UntagResource`` as CloudTrail records them (``tags[{tagKey, tagValue}]``,
    ``tagKeys[]``), applied to the world's key."""
    if name == "TagResource":
        tags = [
            {"TagKey": str(tag["tagKey"]), "TagValue": str(tag.get("tagValue") or "")}
            for tag in request.get("tags") or []
            if isinstance(tag, dict) and tag.get("tagKey")
        ]
        if tags:
            kms.tag_resource(KeyId=world.key_id, Tags=tags)
    else:
        keys = [str(key) for key in request.get("tagKeys") or [] if key]
        if keys:
            kms.untag_resource(KeyId=world.key_id, TagKeys=keys)


def _material_deleted(world: World) -> None:
    """moto lacks DeleteImportedKeyMaterial: leave the key as AWS does after it, an imported-material
    (``EXTERNAL``) key in ``PendingImport`` and not enabled ("Key states of AWS KMS keys":
    https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html)."""
    from moto.kms.models import kms_backends

    key = kms_backends[ACCOUNT][world.region].keys[world.key_id]
    key.origin = "EXTERNAL"
    key.key_state = "PendingImport"
    key.enabled = False
