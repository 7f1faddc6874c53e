"""The emulated accounts: resources in moto's backends, their AWS Config items, and the truth.

Each scenario account is one Region of the emulator's single AWS account, seeded with a mix of the
resource types moto emulates (about a tenth naming the key, cycling through the reference forms
each service stores). Resources are created through moto's backend objects rather than through
its HTTP layer: the same state, a tenth of the time, which keeps a 50,000-resource seed short.

For every resource of a type AWS Config records, a configuration item is kept in the shape Config's
advanced query returns (property names from awslabs/aws-config-resource-schema), so the emulated
``SelectResourceConfig`` answers from the same state the APIs answer from.
"""

from __future__ import annotations

import base64
import io
import random
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

ACCOUNT = "123456789012"
CAPTURED = "2026-12-01T07:55:00.000Z"  # when the emulated recorder captured every item
FORMS = ("key-id", "key-arn", "alias-name", "alias-arn")

# resource type -> share of the account (a mix resembling a busy production account)
MIX: dict[str, float] = {
    "AWS::SSM::Parameter": 0.18,
    "AWS::Logs::LogGroup": 0.15,
    "AWS::SQS::Queue": 0.10,
    "AWS::EC2::Volume": 0.09,
    "AWS::SecretsManager::Secret": 0.08,
    "AWS::DynamoDB::Table": 0.08,
    "AWS::SNS::Topic": 0.07,
    "AWS::S3::Bucket": 0.06,
    "AWS::Lambda::Function": 0.05,
    "AWS::Kinesis::Stream": 0.03,
    "AWS::ECR::Repository": 0.03,
    "AWS::EFS::FileSystem": 0.02,
    "AWS::RDS::DBInstance": 0.02,
    "AWS::RDS::DBCluster": 0.01,
    "AWS::Backup::BackupVault": 0.02,
    "AWS::CloudTrail::Trail": 0.001,
}


@dataclass
class Account:
    """One seeded Region: the key, what uses it, and Config's items."""

    region: str
    key_arn: str
    key_id: str
    alias: str
    counts: Counter[str] = field(default_factory=Counter)
    truth: set[tuple[str, str]] = field(default_factory=set)
    items: list[dict[str, Any]] = field(default_factory=list)  # Config configuration items

    def reference(self, form: str) -> str:
        return {
            "key-id": self.key_id,
            "key-arn": self.key_arn,
            "alias-name": self.alias,
            "alias-arn": f"arn:aws:kms:{self.region}:{ACCOUNT}:{self.alias}",
        }[form]

    def summary(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "key_arn": self.key_arn,
            "alias": self.alias,
            "resources": sum(self.counts.values()),
            "counts": dict(sorted(self.counts.items())),
            "truth": sorted(list(t) for t in self.truth),
        }


def _item(
    account: Account, rtype: str, rid: str, name: str | None, arn: str | None, **parts: dict[str, Any]
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "resourceType": rtype,
        "resourceId": rid,
        "arn": arn,
        "awsRegion": account.region,
        "accountId": ACCOUNT,
        "configurationItemCaptureTime": CAPTURED,
        "configurationItemStatus": "OK",
        **parts,
    }
    if name is not None:
        item["resourceName"] = name
    return item


def _zip() -> str:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return base64.b64encode(buffer.getvalue()).decode()


Creator = Callable[[Account, str, str], tuple[str, dict[str, Any] | None]]


def _creators(region: str) -> dict[str, tuple[tuple[str, ...], Creator]]:
    """resource type -> (reference forms the service stores, create(account, name, key) ->
    (name the API finder reports, Config item or None))."""
    import boto3
    from moto.awslambda.models import lambda_backends
    from moto.backup.models import backup_backends
    from moto.dynamodb.models import dynamodb_backends
    from moto.ec2.models import ec2_backends
    from moto.ecr.models import ecr_backends
    from moto.efs.models import efs_backends
    from moto.iam.models import iam_backends
    from moto.kinesis.models import kinesis_backends
    from moto.logs.models import logs_backends
    from moto.s3.models import s3_backends
    from moto.secretsmanager.models import secretsmanager_backends
    from moto.sns.models import sns_backends
    from moto.sqs.models import sqs_backends
    from moto.ssm.models import ssm_backends

    ssm = ssm_backends[ACCOUNT][region]
    logs = logs_backends[ACCOUNT][region]
    sqs = sqs_backends[ACCOUNT][region]
    ec2 = ec2_backends[ACCOUNT][region]
    secrets = secretsmanager_backends[ACCOUNT][region]
    ddb = dynamodb_backends[ACCOUNT][region]
    sns = sns_backends[ACCOUNT][region]
    s3 = s3_backends[ACCOUNT]["aws"]
    lam = lambda_backends[ACCOUNT][region]
    kinesis = kinesis_backends[ACCOUNT][region]
    ecr = ecr_backends[ACCOUNT][region]
    efs = efs_backends[ACCOUNT][region]
    backup = backup_backends[ACCOUNT][region]
    rds = boto3.client("rds", region_name=region)
    cloudtrail = boto3.client("cloudtrail", region_name=region)
    role = f"arn:aws:iam::{ACCOUNT}:role/bench-fn"
    if "bench-fn" not in {r.name for r in iam_backends[ACCOUNT]["global"].roles.values()}:
        iam_backends[ACCOUNT]["global"].create_role("bench-fn", "{}", "/", None, "", [], None)
    code = _zip()

    def parameter(a: Account, n: str, key: str) -> tuple[str, None]:
        name = f"/bench/{n}"
        ssm.put_parameter(name, None, "v", "SecureString", None, key, False, [], "text", None, None)
        return name, None

    def log_group(a: Account, n: str, key: str) -> tuple[str, None]:
        logs.create_log_group(f"/bench/{n}", {}, kmsKeyId=key)
        return f"/bench/{n}", None

    def queue(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        sqs.create_queue(n, KmsMasterKeyId=key)
        url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{n}"
        arn = f"arn:aws:sqs:{region}:{ACCOUNT}:{n}"
        config = {"KmsMasterKeyId": key, "QueueArn": arn, "QueueName": n, "QueueUrl": url}
        return n, _item(a, "AWS::SQS::Queue", url, n, arn, configuration=config)

    def volume(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        vol = ec2.create_volume(size=1, zone_name=f"{region}a", encrypted=True, kms_key_id=key)
        arn = f"arn:aws:ec2:{region}:{ACCOUNT}:volume/{vol.id}"
        config = {"volumeId": vol.id, "encrypted": True, "kmsKeyId": key}
        return vol.id, _item(a, "AWS::EC2::Volume", vol.id, None, arn, configuration=config)

    def secret(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        secrets.create_secret(n, "x", None, None, None, key, None, [], False)
        arn = f"arn:aws:secretsmanager:{region}:{ACCOUNT}:secret:{n}-AbCdEf"
        return n, _item(
            a, "AWS::SecretsManager::Secret", arn, n, arn, configuration={"Name": n, "KMSKeyId": key}
        )

    def table(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        created = ddb.create_table(
            n,
            schema=[{"AttributeName": "id", "KeyType": "HASH"}],
            throughput=None,
            attr=[{"AttributeName": "id", "AttributeType": "S"}],
            global_indexes=None,
            indexes=None,
            streams=None,
            billing_mode="PAY_PER_REQUEST",
            sse_specification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
            tags=[],
            deletion_protection_enabled=False,
            warm_throughput=None,
        )
        stored = created.describe()["TableDescription"]["SSEDescription"]["KMSMasterKeyArn"]
        config = {"tableName": n, "ssedescription": {"kmsmasterKeyArn": stored, "ssetype": "KMS"}}
        return n, _item(a, "AWS::DynamoDB::Table", n, n, created.table_arn, configuration=config)

    def topic(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        made = sns.create_topic(n, attributes={"KmsMasterKeyId": key})
        config = {"TopicArn": made.arn, "KmsMasterKeyId": key}
        return n, _item(a, "AWS::SNS::Topic", made.arn, n, made.arn, configuration=config)

    def bucket(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        s3.create_bucket(n, region)
        rule = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}
        s3.put_bucket_encryption(n, {"Rule": {"ApplyServerSideEncryptionByDefault": rule}})
        supplementary = {
            "ServerSideEncryptionConfiguration": {
                "rules": [
                    {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms", "kmsMasterKeyID": key}}
                ]
            }
        }
        return n, _item(
            a,
            "AWS::S3::Bucket",
            n,
            n,
            f"arn:aws:s3:::{n}",
            configuration={"name": n},
            supplementaryConfiguration=supplementary,
        )

    def function(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        spec = {
            "FunctionName": n,
            "Runtime": "python3.12",
            "Role": role,
            "Handler": "index.handler",
            "Code": {"ZipFile": code},
            "KMSKeyArn": key,
        }
        made = lam.create_function(spec)
        config = {"functionName": n, "kmskeyArn": key}
        return n, _item(a, "AWS::Lambda::Function", n, n, made.function_arn, configuration=config)

    def stream(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        made = kinesis.create_stream(n, 1)
        kinesis.start_stream_encryption(made.arn, n, "KMS", key)
        config = {"Name": n, "Arn": made.arn, "StreamEncryption": {"EncryptionType": "KMS", "KeyId": key}}
        return n, _item(a, "AWS::Kinesis::Stream", n, n, made.arn, configuration=config)

    def repository(a: Account, n: str, key: str) -> tuple[str, None]:
        ecr.create_repository(n, None, {"encryptionType": "KMS", "kmsKey": key}, None, "MUTABLE", [])
        return n, None  # Config records no key field for repositories

    def file_system(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        made = efs.create_file_system(n, "generalPurpose", True, key, "bursting", 0, None, False, [])
        arn = f"arn:aws:elasticfilesystem:{region}:{ACCOUNT}:file-system/{made.file_system_id}"
        config = {"FileSystemId": made.file_system_id, "Encrypted": True, "KmsKeyId": key}
        return made.file_system_id, _item(
            a, "AWS::EFS::FileSystem", made.file_system_id, None, arn, configuration=config
        )

    def instance(a: Account, n: str, key: str) -> tuple[str, None]:
        rds.create_db_instance(
            DBInstanceIdentifier=n,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="admin1",
            MasterUserPassword="password123",
            AllocatedStorage=20,
            StorageEncrypted=True,
            KmsKeyId=key,
        )
        return n, None  # searched through its API (Config lacks the master secret's key)

    def cluster(a: Account, n: str, key: str) -> tuple[str, None]:
        rds.create_db_cluster(
            DBClusterIdentifier=n,
            Engine="aurora-postgresql",
            MasterUsername="admin1",
            MasterUserPassword="password123",
            StorageEncrypted=True,
            KmsKeyId=key,
        )
        return n, None

    def vault(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        made = backup.create_backup_vault(n, {}, key, None)
        arn = made.backup_vault_arn
        config = {"BackupVaultName": n, "BackupVaultArn": arn, "EncryptionKeyArn": key}
        return n, _item(a, "AWS::Backup::BackupVault", n, n, arn, configuration=config)

    def trail(a: Account, n: str, key: str) -> tuple[str, dict[str, Any]]:
        s3.create_bucket(f"{n}-logs", region)
        cloudtrail.create_trail(Name=n, S3BucketName=f"{n}-logs", KmsKeyId=key)
        arn = f"arn:aws:cloudtrail:{region}:{ACCOUNT}:trail/{n}"
        return n, _item(a, "AWS::CloudTrail::Trail", arn, n, arn, configuration={"name": n, "kmsKeyId": key})

    every = FORMS
    arn_only = ("key-arn",)
    return {
        "AWS::SSM::Parameter": (every, parameter),
        "AWS::Logs::LogGroup": (arn_only, log_group),
        "AWS::SQS::Queue": (every, queue),
        "AWS::EC2::Volume": (every, volume),
        "AWS::SecretsManager::Secret": (every, secret),
        "AWS::DynamoDB::Table": (every, table),
        "AWS::SNS::Topic": (every, topic),
        "AWS::S3::Bucket": (every, bucket),
        "AWS::Lambda::Function": (arn_only, function),
        "AWS::Kinesis::Stream": (every, stream),
        "AWS::ECR::Repository": (every, repository),
        "AWS::EFS::FileSystem": (every, file_system),
        "AWS::RDS::DBInstance": (every, instance),
        "AWS::RDS::DBCluster": (every, cluster),
        "AWS::Backup::BackupVault": (arn_only, vault),
        "AWS::CloudTrail::Trail": (every, trail),
    }


def seed(region: str, total: int, ours_every: int, rng: random.Random) -> Account:
    """Create the key, two other keys and ``total`` resources (about) in ``region``."""
    from moto.kms.models import kms_backends

    kms = kms_backends[ACCOUNT][region]
    ours = kms.create_key(
        None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "bench: the key", [], False, "AWS_KMS"
    )
    kms.create_alias(ours.id, "alias/bench-data")
    others = [
        kms.create_key(
            None, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", f"bench: other {i}", [], False, "AWS_KMS"
        ).arn
        for i in range(3)
    ]
    account = Account(region=region, key_arn=ours.arn, key_id=ours.id, alias="alias/bench-data")
    creators = _creators(region)
    prefix = region.replace("-", "")
    for rtype, share in MIX.items():
        forms, create = creators[rtype]
        n = max(1, round(total * share))
        if rtype == "AWS::CloudTrail::Trail":
            n = min(max(n, 1), 5)  # five trails per Region is the AWS limit
        for i in range(n):
            is_ours = i % ours_every == 0
            key = account.reference(forms[(i // ours_every) % len(forms)]) if is_ours else rng.choice(others)
            label = rtype.split("::")[1].lower()
            name, item = create(account, f"{prefix}-{label}-{i:05d}", key)
            account.counts[rtype] += 1
            if item is not None:
                account.items.append(item)
            if is_ours:
                account.truth.add((rtype, name))
    _automated_snapshots(account)
    return account


def _automated_snapshots(account: Account) -> None:
    """moto takes automated snapshots of databases; those of ours use our key too (and Config
    records snapshots, so they are in the index)."""
    from moto.rds.models import rds_backends

    rds = rds_backends[ACCOUNT][account.region]
    ours_db = {n for t, n in account.truth if t == "AWS::RDS::DBInstance"}
    ours_cluster = {n for t, n in account.truth if t == "AWS::RDS::DBCluster"}
    for snap in list(rds.describe_db_snapshots(None, None, None)):
        source = snap.database.db_instance_identifier if snap.database is not None else None
        name = snap.db_snapshot_identifier
        account.items.append(
            _item(
                account,
                "AWS::RDS::DBSnapshot",
                name,
                name,
                snap.db_snapshot_arn,
                configuration={"dBSnapshotIdentifier": name, "kmsKeyId": snap.kms_key_id},
            )
        )
        if source in ours_db:
            account.truth.add(("AWS::RDS::DBSnapshot", name))
    for snap in list(rds.describe_db_cluster_snapshots(None, None, None)):
        source = snap.cluster.db_cluster_identifier if snap.cluster is not None else None
        name = snap.db_cluster_snapshot_identifier
        account.items.append(
            _item(
                account,
                "AWS::RDS::DBClusterSnapshot",
                name,
                name,
                snap.db_cluster_snapshot_arn,
                configuration={"dbclusterSnapshotIdentifier": name, "kmsKeyId": snap.kms_key_id},
            )
        )
        if source in ours_cluster:
            account.truth.add(("AWS::RDS::DBClusterSnapshot", name))
