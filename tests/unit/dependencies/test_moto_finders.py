"""Resource types moto emulates: each names the key by id, ARN, alias name and alias ARN.

Given a resource configured with one reference form and a second resource using another key,
when the type's finder runs, then exactly the first resource is reported.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import replace

import boto3
import pytest

from shared.aws import ClientFactory
from shared.dependencies import REGISTRY, run_finders

from .conftest import REGION, Keys, later

_SESSION: list[boto3.Session] = []


def _client(service: str):
    return _SESSION[0].client(service)


def s3_bucket(name: str, key: str) -> None:
    s3 = _client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket=name,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
            ]
        },
    )


def ebs_volume(name: str, key: str) -> str:
    volume = _client("ec2").create_volume(
        AvailabilityZone=f"{REGION}a",
        Size=1,
        Encrypted=True,
        KmsKeyId=key,
        TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "Name", "Value": name}]}],
    )
    return str(volume["VolumeId"])


def rds_instance(name: str, key: str) -> None:
    _client("rds").create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        AllocatedStorage=20,
        StorageEncrypted=True,
        KmsKeyId=key,
    )


def rds_cluster(name: str, key: str) -> None:
    _client("rds").create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        MasterUsername="admin1",
        MasterUserPassword="password123",
        StorageEncrypted=True,
        KmsKeyId=key,
    )


def dynamodb_table(name: str, key: str) -> None:
    _client("dynamodb").create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
    )


def secret(name: str, key: str) -> None:
    _client("secretsmanager").create_secret(Name=name, SecretString="s3cr3t", KmsKeyId=key)


def ssm_parameter(name: str, key: str) -> None:
    _client("ssm").put_parameter(Name=f"/app/{name}", Value="v", Type="SecureString", KeyId=key)


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def lambda_function(name: str, key: str) -> None:
    iam = _client("iam")
    try:
        role = iam.get_role(RoleName="fn")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(
            RoleName="fn", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
        )["Role"]["Arn"]
    _client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": _zip()},
        KMSKeyArn=key,
        Environment={"Variables": {"A": "b"}},
    )


def sqs_queue(name: str, key: str) -> None:
    _client("sqs").create_queue(QueueName=name, Attributes={"KmsMasterKeyId": key})


def sns_topic(name: str, key: str) -> None:
    _client("sns").create_topic(Name=name, Attributes={"KmsMasterKeyId": key})


def efs_file_system(name: str, key: str) -> str:
    return str(
        _client("efs").create_file_system(CreationToken=name, Encrypted=True, KmsKeyId=key)["FileSystemId"]
    )


def kinesis_stream(name: str, key: str) -> None:
    kinesis = _client("kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)


def ecr_repository(name: str, key: str) -> None:
    _client("ecr").create_repository(
        repositoryName=name, encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key}
    )


def cloudtrail_trail(name: str, key: str) -> None:
    s3 = _client("s3")
    s3.create_bucket(Bucket=f"trail-{name}")
    _client("cloudtrail").create_trail(Name=name, S3BucketName=f"trail-{name}", KmsKeyId=key)


def backup_vault(name: str, key: str) -> None:
    _client("backup").create_backup_vault(BackupVaultName=name, EncryptionKeyArn=key)


# finder name, creator, the reference forms the service accepts and stores
CASES: list[tuple[str, Callable[[str, str], object], tuple[str, ...]]] = [
    ("s3-buckets", s3_bucket, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("ebs-volumes", ebs_volume, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("rds-db-instances", rds_instance, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("rds-db-clusters", rds_cluster, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("dynamodb-tables", dynamodb_table, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("secretsmanager-secrets", secret, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("ssm-securestring-parameters", ssm_parameter, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("lambda-functions", lambda_function, ("key-arn",)),
    ("sqs-queues", sqs_queue, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("sns-topics", sns_topic, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("efs-file-systems", efs_file_system, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("kinesis-streams", kinesis_stream, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("ecr-repositories", ecr_repository, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("cloudtrail-trails", cloudtrail_trail, ("key-id", "key-arn", "alias-name", "alias-arn")),
    ("backup-vaults", backup_vault, ("key-arn",)),
]
FINDERS = {finder.name: finder for finder in REGISTRY}
# moto does not implement ListRecoveryPointsByBackupVault: vaults here, recovery points with Stubber.
FINDERS["backup-vaults"] = replace(
    FINDERS["backup-vaults"], step=replace(FINDERS["backup-vaults"].step, then=None)
)
PARAMS = [
    pytest.param(name, create, form, id=f"{name}-{form}") for name, create, forms in CASES for form in forms
]


@pytest.mark.parametrize(("finder_name", "create", "form"), PARAMS)
def test_finder_reports_only_the_resource_using_the_key(
    finder_name: str,
    create: Callable[[str, str], object],
    form: str,
    keys: Keys,
    clients: ClientFactory,
    moto: boto3.Session,
) -> None:
    _SESSION[:] = [moto]
    tag = keys.identity.key_id[:8]
    # Given one resource naming our key in this form, and one using another key
    made = create(f"ours-{tag}", keys.forms[form])
    create(f"theirs-{tag}", keys.other_arn)
    expected = made if isinstance(made, str) else f"ours-{tag}"

    # When the finder runs
    outcome = run_finders([FINDERS[finder_name]], keys.identity, clients, later())

    # Then only ours is reported, with the reference as evidence
    assert outcome.unchecked == []
    assert len(outcome.items) == 1, outcome.items
    item = outcome.items[0]
    assert item.region == REGION
    assert item.resource_type in FINDERS[finder_name].resource_types
    assert expected in f"{item.name} {item.arn}"


def test_a_volume_shows_its_name_tag_beside_its_id(
    keys: Keys, clients: ClientFactory, moto: boto3.Session
) -> None:
    _SESSION[:] = [moto]
    # Given an encrypted volume under our key whose Name tag is what people call it
    volume_id = ebs_volume(f"orders-db-data-{keys.identity.key_id[:8]}", keys.forms["key-arn"])

    # When the finder runs (one DescribeVolumes: the tag comes with the volume)
    outcome = run_finders([FINDERS["ebs-volumes"]], keys.identity, clients, later())

    # Then the id and the name are side by side, and the ARN still names the volume by id
    (item,) = outcome.items
    assert item.name == f"{volume_id} (orders-db-data-{keys.identity.key_id[:8]})"
    assert item.arn is not None
    assert item.arn.endswith(f"volume/{volume_id}")
