"""Stubbed API answers, shaped like the real ones, for every resource type moto does not emulate.

Each entry maps a finder to the calls it makes, in order, for an account holding two resources:
"ours", configured with the reference under test, and "theirs", using another key. Single
resources (the account's EBS default key, X-Ray, the Glue Data Catalog) only have "ours".
Stubber checks every answer against the service model, so a wrong field path fails here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

ARN = "arn:aws:{svc}:us-east-1:123456789012:{res}"
WHEN = datetime(2026, 11, 1, tzinfo=UTC)
Calls = list[tuple[str, dict[str, Any]]]


def _arn(svc: str, res: str) -> str:
    return ARN.format(svc=svc, res=res)


def _both(make: Callable[[str, str], dict[str, Any]], ours: str, theirs: str) -> list[dict[str, Any]]:
    return [make("ours", ours), make("theirs", theirs)]


def _describe_each(
    operation: str, make: Callable[[str, str], dict[str, Any]], ours: str, theirs: str
) -> Calls:
    return [(operation, make("ours", ours)), (operation, make("theirs", theirs))]


STUBS: dict[str, Callable[[str, str], Calls]] = {
    "ebs-default-key": lambda o, t: [("get_ebs_default_kms_key_id", {"KmsKeyId": o})],
    "ebs-snapshots": lambda o, t: [
        (
            "describe_snapshots",
            {
                "Snapshots": _both(
                    lambda n, k: {"SnapshotId": f"snap-{n}", "Encrypted": True, "KmsKeyId": k}, o, t
                )
            },
        )
    ],
    "ec2-launch-templates": lambda o, t: [
        (
            "describe_launch_templates",
            {
                "LaunchTemplates": [
                    {"LaunchTemplateId": "lt-ours", "LaunchTemplateName": "ours"},
                    {"LaunchTemplateId": "lt-theirs", "LaunchTemplateName": "theirs"},
                ]
            },
        ),
        *_describe_each(
            "describe_launch_template_versions",
            lambda n, k: {
                "LaunchTemplateVersions": [
                    {
                        "LaunchTemplateId": f"lt-{n}",
                        "LaunchTemplateName": n,
                        "VersionNumber": 3,
                        "LaunchTemplateData": {
                            "BlockDeviceMappings": [
                                {"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True, "KmsKeyId": k}}
                            ]
                        },
                    }
                ]
            },
            o,
            t,
        ),
    ],
    "rds-db-snapshots": lambda o, t: [
        (
            "describe_db_snapshots",
            {
                "DBSnapshots": _both(
                    lambda n, k: {
                        "DBSnapshotIdentifier": n,
                        "DBSnapshotArn": _arn("rds", f"snapshot:{n}"),
                        "KmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "rds-db-cluster-snapshots": lambda o, t: [
        (
            "describe_db_cluster_snapshots",
            {
                "DBClusterSnapshots": _both(
                    lambda n, k: {
                        "DBClusterSnapshotIdentifier": n,
                        "DBClusterSnapshotArn": _arn("rds", f"cluster-snapshot:{n}"),
                        "KmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "rds-automated-backups": lambda o, t: [
        (
            "describe_db_instance_automated_backups",
            {
                "DBInstanceAutomatedBackups": _both(
                    lambda n, k: {
                        "DBInstanceIdentifier": n,
                        "DBInstanceAutomatedBackupsArn": _arn("rds", f"auto-backup:ab-{n}"),
                        "KmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "dynamodb-backups": lambda o, t: [
        (
            "list_backups",
            {
                "BackupSummaries": [
                    {"BackupArn": _arn("dynamodb", f"table/app/backup/{n}"), "BackupName": n}
                    for n in ("ours", "theirs")
                ]
            },
        ),
        *_describe_each(
            "describe_backup",
            lambda n, k: {
                "BackupDescription": {
                    "BackupDetails": {
                        "BackupArn": _arn("dynamodb", f"table/app/backup/{n}"),
                        "BackupName": n,
                        "BackupStatus": "AVAILABLE",
                        "BackupType": "USER",
                        "BackupCreationDateTime": WHEN,
                    },
                    "SourceTableFeatureDetails": {
                        "SSEDescription": {"Status": "ENABLED", "KMSMasterKeyArn": k}
                    },
                }
            },
            o,
            t,
        ),
    ],
    "eks-clusters": lambda o, t: [
        ("list_clusters", {"clusters": ["ours", "theirs"]}),
        *_describe_each(
            "describe_cluster",
            lambda n, k: {
                "cluster": {
                    "name": n,
                    "arn": _arn("eks", f"cluster/{n}"),
                    "encryptionConfig": [{"resources": ["secrets"], "provider": {"keyArn": k}}],
                }
            },
            o,
            t,
        ),
    ],
    "redshift-clusters": lambda o, t: [
        (
            "describe_clusters",
            {
                "Clusters": _both(
                    lambda n, k: {"ClusterIdentifier": n, "Encrypted": True, "KmsKeyId": k}, o, t
                )
            },
        )
    ],
    "redshift-serverless-namespaces": lambda o, t: [
        (
            "list_namespaces",
            {
                "namespaces": _both(
                    lambda n, k: {
                        "namespaceName": n,
                        "namespaceArn": _arn("redshift-serverless", f"namespace/{n}"),
                        "kmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "elasticache-replication-groups": lambda o, t: [
        (
            "describe_replication_groups",
            {
                "ReplicationGroups": _both(
                    lambda n, k: {
                        "ReplicationGroupId": n,
                        "ARN": _arn("elasticache", f"replicationgroup:{n}"),
                        "KmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "elasticache-serverless-caches": lambda o, t: [
        (
            "describe_serverless_caches",
            {
                "ServerlessCaches": _both(
                    lambda n, k: {
                        "ServerlessCacheName": n,
                        "ARN": _arn("elasticache", f"serverlesscache:{n}"),
                        "KmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "memorydb-clusters": lambda o, t: [
        (
            "describe_clusters",
            {
                "Clusters": _both(
                    lambda n, k: {"Name": n, "ARN": _arn("memorydb", f"cluster/{n}"), "KmsKeyId": k}, o, t
                )
            },
        )
    ],
    "opensearch-domains": lambda o, t: [
        ("list_domain_names", {"DomainNames": [{"DomainName": "ours"}, {"DomainName": "theirs"}]}),
        (
            "describe_domains",
            {
                "DomainStatusList": _both(
                    lambda n, k: {
                        "DomainId": f"123456789012/{n}",
                        "DomainName": n,
                        "ARN": _arn("es", f"domain/{n}"),
                        "ClusterConfig": {},
                        "EncryptionAtRestOptions": {"Enabled": True, "KmsKeyId": k},
                    },
                    o,
                    t,
                )
            },
        ),
    ],
    "opensearchserverless-encryption-policies": lambda o, t: [
        (
            "list_security_policies",
            {
                "securityPolicySummaries": [
                    {"name": "ours", "type": "encryption"},
                    {"name": "theirs", "type": "encryption"},
                ]
            },
        ),
        *_describe_each(
            "get_security_policy",
            lambda n, k: {
                "securityPolicyDetail": {
                    "name": n,
                    "type": "encryption",
                    "policy": {
                        "Rules": [{"ResourceType": "collection", "Resource": [f"collection/{n}*"]}],
                        "AWSOwnedKey": False,
                        "KmsARN": k,
                    },
                }
            },
            o,
            t,
        ),
    ],
    "msk-clusters": lambda o, t: [
        (
            "list_clusters_v2",
            {
                "ClusterInfoList": _both(
                    lambda n, k: {
                        "ClusterName": n,
                        "ClusterArn": _arn("kafka", f"cluster/{n}/uuid"),
                        "ClusterType": "PROVISIONED",
                        "Provisioned": {
                            "BrokerNodeGroupInfo": {
                                "ClientSubnets": ["subnet-1"],
                                "InstanceType": "kafka.m5.large",
                            },
                            "NumberOfBrokerNodes": 3,
                            "EncryptionInfo": {"EncryptionAtRest": {"DataVolumeKMSKeyId": k}},
                        },
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "timestream-databases": lambda o, t: [
        (
            "list_databases",
            {
                "Databases": _both(
                    lambda n, k: {
                        "DatabaseName": n,
                        "Arn": _arn("timestream", f"database/{n}"),
                        "KmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "keyspaces-tables": lambda o, t: [
        (
            "list_keyspaces",
            {
                "keyspaces": [
                    {
                        "keyspaceName": "system_schema",
                        "resourceArn": _arn("cassandra", "/keyspace/system_schema/"),
                        "replicationStrategy": "SINGLE_REGION",
                    },
                    {
                        "keyspaceName": "app",
                        "resourceArn": _arn("cassandra", "/keyspace/app/"),
                        "replicationStrategy": "SINGLE_REGION",
                    },
                ]
            },
        ),
        (
            "list_tables",
            {
                "tables": [
                    {
                        "keyspaceName": "app",
                        "tableName": n,
                        "resourceArn": _arn("cassandra", f"/keyspace/app/table/{n}"),
                    }
                    for n in ("ours", "theirs")
                ]
            },
        ),
        *_describe_each(
            "get_table",
            lambda n, k: {
                "keyspaceName": "app",
                "tableName": n,
                "resourceArn": _arn("cassandra", f"/keyspace/app/table/{n}"),
                "encryptionSpecification": {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyIdentifier": k},
            },
            o,
            t,
        ),
    ],
    "fsx-file-systems": lambda o, t: [
        (
            "describe_file_systems",
            {
                "FileSystems": _both(
                    lambda n, k: {
                        "FileSystemId": f"fs-0{n}00000",
                        "ResourceARN": _arn("fsx", f"file-system/fs-0{n}00000"),
                        "KmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "fsx-backups": lambda o, t: [
        (
            "describe_backups",
            {
                "Backups": _both(
                    lambda n, k: {
                        "BackupId": f"backup-0{n}-0000",
                        "Lifecycle": "AVAILABLE",
                        "Type": "USER_INITIATED",
                        "CreationTime": WHEN,
                        "FileSystem": {},
                        "ResourceARN": _arn("fsx", f"backup/backup-0{n}-0000"),
                        "KmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "workspaces": lambda o, t: [
        (
            "describe_workspaces",
            {
                "Workspaces": _both(
                    lambda n, k: {
                        "WorkspaceId": f"ws-{n}",
                        "VolumeEncryptionKey": k,
                        "UserVolumeEncryptionEnabled": True,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "firehose-delivery-streams": lambda o, t: [
        (
            "list_delivery_streams",
            {"DeliveryStreamNames": ["ours", "theirs"], "HasMoreDeliveryStreams": False},
        ),
        *_describe_each(
            "describe_delivery_stream",
            lambda n, k: {
                "DeliveryStreamDescription": {
                    "DeliveryStreamName": n,
                    "DeliveryStreamARN": _arn("firehose", f"deliverystream/{n}"),
                    "DeliveryStreamStatus": "ACTIVE",
                    "DeliveryStreamType": "DirectPut",
                    "VersionId": "1",
                    "Destinations": [],
                    "HasMoreDestinations": False,
                    "DeliveryStreamEncryptionConfiguration": {
                        "KeyARN": k,
                        "KeyType": "CUSTOMER_MANAGED_CMK",
                        "Status": "ENABLED",
                    },
                }
            },
            o,
            t,
        ),
    ],
    "logs-log-groups": lambda o, t: [
        (
            "list_log_groups",
            {
                "logGroups": [
                    {"logGroupName": f"/app/{n}", "logGroupArn": _arn("logs", f"log-group:/app/{n}")}
                    for n in ("ours", "theirs")
                ]
            },
        ),
        (  # one batched describe for both, by name
            "describe_log_groups",
            {
                "logGroups": [
                    {
                        "logGroupName": f"/app/{n}",
                        "arn": _arn("logs", f"log-group:/app/{n}:*"),
                        "logGroupArn": _arn("logs", f"log-group:/app/{n}"),
                        "kmsKeyId": k,
                    }
                    for n, k in (("ours", o), ("theirs", t))
                ]
            },
        ),
    ],
    "kinesisvideo-streams": lambda o, t: [
        (
            "list_streams",
            {
                "StreamInfoList": _both(
                    lambda n, k: {
                        "StreamName": n,
                        "StreamARN": _arn("kinesisvideo", f"stream/{n}/1"),
                        "KmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "mq-brokers": lambda o, t: [
        (
            "list_brokers",
            {
                "BrokerSummaries": [
                    {
                        "BrokerId": f"b-{n}",
                        "BrokerName": n,
                        "DeploymentMode": "SINGLE_INSTANCE",
                        "EngineType": "ACTIVEMQ",
                    }
                    for n in ("ours", "theirs")
                ]
            },
        ),
        *_describe_each(
            "describe_broker",
            lambda n, k: {
                "BrokerId": f"b-{n}",
                "BrokerName": n,
                "BrokerArn": _arn("mq", f"broker:{n}:b-{n}"),
                "EncryptionOptions": {"UseAwsOwnedKey": False, "KmsKeyId": k},
            },
            o,
            t,
        ),
    ],
    "backup-recovery-points": lambda o, t: [
        (
            "list_backup_vaults",
            {
                "BackupVaultList": [
                    {
                        "BackupVaultName": "vault",
                        "BackupVaultArn": _arn("backup", "backup-vault:vault"),
                        "EncryptionKeyArn": t,
                    }
                ]
            },
        ),
        (
            "list_recovery_points_by_backup_vault",
            {
                "RecoveryPoints": _both(
                    lambda n, k: {
                        "RecoveryPointArn": _arn("backup", f"recovery-point:{n}"),
                        "EncryptionKeyArn": k,
                    },
                    o,
                    t,
                )
            },
        ),
    ],
    "config-delivery-channels": lambda o, t: [
        (
            "describe_delivery_channels",
            {
                "DeliveryChannels": _both(
                    lambda n, k: {"name": n, "s3BucketName": "config-bucket", "s3KmsKeyArn": k}, o, t
                )
            },
        )
    ],
    "xray-encryption": lambda o, t: [
        ("get_encryption_config", {"EncryptionConfig": {"KeyId": o, "Status": "ACTIVE", "Type": "KMS"}})
    ],
    "codebuild-projects": lambda o, t: [
        ("list_projects", {"projects": ["ours", "theirs"]}),
        (
            "batch_get_projects",
            {
                "projects": _both(
                    lambda n, k: {"name": n, "arn": _arn("codebuild", f"project/{n}"), "encryptionKey": k},
                    o,
                    t,
                )
            },
        ),
    ],
    "codeartifact-domains": lambda o, t: [
        (
            "list_domains",
            {
                "domains": _both(
                    lambda n, k: {"name": n, "arn": _arn("codeartifact", f"domain/{n}"), "encryptionKey": k},
                    o,
                    t,
                )
            },
        )
    ],
    "stepfunctions-state-machines": lambda o, t: [
        (
            "list_state_machines",
            {
                "stateMachines": [
                    {
                        "stateMachineArn": _arn("states", f"stateMachine:{n}"),
                        "name": n,
                        "type": "STANDARD",
                        "creationDate": WHEN,
                    }
                    for n in ("ours", "theirs")
                ]
            },
        ),
        *_describe_each(
            "describe_state_machine",
            lambda n, k: {
                "stateMachineArn": _arn("states", f"stateMachine:{n}"),
                "name": n,
                "definition": "{}",
                "roleArn": "arn:aws:iam::123456789012:role/sfn",
                "type": "STANDARD",
                "creationDate": WHEN,
                "encryptionConfiguration": {"type": "CUSTOMER_MANAGED_KMS_KEY", "kmsKeyId": k},
            },
            o,
            t,
        ),
    ],
    "athena-workgroups": lambda o, t: [
        ("list_work_groups", {"WorkGroups": [{"Name": "ours"}, {"Name": "theirs"}]}),
        *_describe_each(
            "get_work_group",
            lambda n, k: {
                "WorkGroup": {
                    "Name": n,
                    "Configuration": {
                        "ResultConfiguration": {
                            "EncryptionConfiguration": {"EncryptionOption": "SSE_KMS", "KmsKey": k}
                        }
                    },
                }
            },
            o,
            t,
        ),
    ],
    "glue-data-catalog": lambda o, t: [
        (
            "get_data_catalog_encryption_settings",
            {
                "DataCatalogEncryptionSettings": {
                    "EncryptionAtRest": {"CatalogEncryptionMode": "SSE-KMS", "SseAwsKmsKeyId": o}
                }
            },
        )
    ],
    "glue-security-configurations": lambda o, t: [
        (
            "get_security_configurations",
            {
                "SecurityConfigurations": _both(
                    lambda n, k: {
                        "Name": n,
                        "EncryptionConfiguration": {
                            "S3Encryption": [{"S3EncryptionMode": "SSE-KMS", "KmsKeyArn": k}]
                        },
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "emr-security-configurations": lambda o, t: [
        ("list_security_configurations", {"SecurityConfigurations": [{"Name": "ours"}, {"Name": "theirs"}]}),
        *_describe_each(
            "describe_security_configuration",
            lambda n, k: {
                "Name": n,
                "SecurityConfiguration": json.dumps(
                    {
                        "EncryptionConfiguration": {
                            "EnableAtRestEncryption": True,
                            "AtRestEncryptionConfiguration": {
                                "LocalDiskEncryptionConfiguration": {
                                    "EncryptionKeyProviderType": "AwsKms",
                                    "AwsKmsKey": k,
                                }
                            },
                        }
                    }
                ),
            },
            o,
            t,
        ),
    ],
    "sagemaker-notebook-instances": lambda o, t: [
        (
            "list_notebook_instances",
            {
                "NotebookInstances": [
                    {
                        "NotebookInstanceName": n,
                        "NotebookInstanceArn": _arn("sagemaker", f"notebook-instance/{n}"),
                    }
                    for n in ("ours", "theirs")
                ]
            },
        ),
        *_describe_each(
            "describe_notebook_instance",
            lambda n, k: {
                "NotebookInstanceName": n,
                "NotebookInstanceArn": _arn("sagemaker", f"notebook-instance/{n}"),
                "KmsKeyId": k,
            },
            o,
            t,
        ),
    ],
    "dms-replication-instances": lambda o, t: [
        (
            "describe_replication_instances",
            {
                "ReplicationInstances": _both(
                    lambda n, k: {
                        "ReplicationInstanceIdentifier": n,
                        "ReplicationInstanceArn": _arn("dms", f"rep:{n}"),
                        "KmsKeyId": k,
                    },
                    o,
                    t,
                )
            },
        )
    ],
    "route53-dnssec-signing-keys": lambda o, t: [
        (
            "list_hosted_zones",
            {
                "HostedZones": [
                    {
                        "Id": "/hostedzone/ZOURS",
                        "Name": "ours.example.com.",
                        "CallerReference": "a",
                        "Config": {"PrivateZone": False},
                    },
                    {
                        "Id": "/hostedzone/ZPRIVATE",
                        "Name": "private.example.com.",
                        "CallerReference": "b",
                        "Config": {"PrivateZone": True},
                    },
                    {
                        "Id": "/hostedzone/ZTHEIRS",
                        "Name": "theirs.example.com.",
                        "CallerReference": "c",
                        "Config": {"PrivateZone": False},
                    },
                ],
                "IsTruncated": False,
                "Marker": "",
                "MaxItems": "100",
            },
        ),
        *_describe_each(
            "get_dnssec",
            lambda n, k: {
                "Status": {"ServeSignature": "SIGNING"},
                "KeySigningKeys": [{"Name": f"ksk_{n}", "KmsArn": k}],
            },
            o,
            t,
        ),
    ],
}
