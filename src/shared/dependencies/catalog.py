"""The resource types discovery checks: one ``TableFinder`` row each.

Tiers order the alert, most critical first: 0 databases and data stores, 1 volumes and file
systems, 2 secrets and configuration that workloads decrypt at start-up, 3 buckets, 4 the rest
(backups, snapshots, logs, queues, pipelines). Page sizes are each API's maximum, to keep the
number of calls down.

``config=`` says how AWS Config records the type, as the advanced-query schema spells its
properties (awslabs/aws-config-resource-schema, ``config/properties/resource-types``); 29 of the
catalogued types have a recorded key field. ``missing`` marks types whose Config item lacks a key
reference the finder reads: those stay on their API finder.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.dependencies.limits import (
    KINESIS_DESCRIBE_STREAM_SUMMARY,
    KINESIS_LIST_STREAMS,
    LOGS_DESCRIBE_LOG_GROUPS,
)
from shared.dependencies.table import GONE_CODES, ConfigRecord, Step, TableFinder, json_fields

DATABASES, VOLUMES, SECRETS, BUCKETS, OTHER = range(5)

# The Name tag, in the same describe response (EC2, FSx): shown beside the resource's id.
NAME_TAG = "Tags[?Key=='Name'].Value | [0]"


def _rds_service(item: dict[str, Any]) -> str:
    engine = str(item.get("Engine") or "")
    return engine if engine in ("docdb", "neptune") else "rds"


def _secure_strings_naming(forms: Sequence[str]) -> dict[str, Any]:
    """SSM filters on the key server-side: ``KeyId`` is a valid ``DescribeParameters`` filter with
    ``Equals`` (ParameterStringFilter, at most 50 values). Parameters store the key as it was given,
    so every form is asked for."""
    filters: list[dict[str, Any]] = [{"Key": "Type", "Values": ["SecureString"]}]
    if 0 < len(forms) <= 50:
        filters.append({"Key": "KeyId", "Option": "Equals", "Values": list(forms)})
    return {"ParameterFilters": filters}


def _token_pagination(
    result_key: str, limit_key: str = "MaxResults", marker: str = "NextToken"
) -> dict[str, Any]:
    """A botocore pagination config for a ``NextToken`` API that botocore does not paginate."""
    return {"input_token": marker, "output_token": marker, "limit_key": limit_key, "result_key": result_key}


_S3 = TableFinder(
    name="s3-buckets",
    service="s3",
    tier=BUCKETS,
    step=Step(
        "ListBuckets",
        items="Buckets",
        params={"BucketRegion": "{region}"},
        page_size=10000,
        actions=("s3:ListAllMyBuckets",),
        then=Step(
            "GetBucketEncryption",
            args={"Bucket": "Name"},
            paginated=False,
            actions=("s3:GetEncryptionConfiguration",),
            ignore_errors=GONE_CODES | {"ServerSideEncryptionConfigurationNotFoundError"},
            key_fields=(
                "ServerSideEncryptionConfiguration.Rules[].ApplyServerSideEncryptionByDefault.KMSMasterKeyID",
            ),
            resource_type="AWS::S3::Bucket",
            config=ConfigRecord(
                "AWS::S3::Bucket",
                (
                    "supplementaryConfiguration.ServerSideEncryptionConfiguration.rules."
                    "applyServerSideEncryptionByDefault.kmsMasterKeyID",
                ),
            ),
            name_field="parent.Name",
            arn_format="arn:aws:s3:::{id}",
        ),
    ),
)

_EC2 = (
    TableFinder(
        name="ebs-volumes",
        service="ec2",
        tier=VOLUMES,
        step=Step(
            "DescribeVolumes",
            items="Volumes",
            page_size=1000,
            params={"Filters": [{"Name": "encrypted", "Values": ["true"]}]},
            key_fields=("KmsKeyId",),
            resource_type="AWS::EC2::Volume",
            config=ConfigRecord("AWS::EC2::Volume", ("configuration.kmsKeyId",), name="resourceId"),
            name_field="VolumeId",
            label_field=NAME_TAG,
            arn_format="arn:aws:ec2:{region}:{account}:volume/{id}",
        ),
    ),
    TableFinder(
        name="ebs-default-key",
        service="ec2",
        tier=VOLUMES,
        notes="the key EBS uses for every new volume when encryption by default is on",
        step=Step(
            "GetEbsDefaultKmsKeyId",
            paginated=False,
            key_fields=("KmsKeyId",),
            resource_type="AWS::EC2::EBSDefaultKmsKey",
            name_field="'EBS default encryption key'",
        ),
    ),
    TableFinder(
        name="ebs-snapshots",
        service="ec2",
        step=Step(
            "DescribeSnapshots",
            items="Snapshots",
            page_size=1000,
            params={"OwnerIds": ["self"], "Filters": [{"Name": "encrypted", "Values": ["true"]}]},
            key_fields=("KmsKeyId",),
            resource_type="AWS::EC2::Snapshot",
            name_field="SnapshotId",
            label_field=NAME_TAG,
            arn_format="arn:aws:ec2:{region}::snapshot/{id}",
        ),
    ),
    TableFinder(
        name="ec2-launch-templates",
        service="ec2",
        notes="block device mappings of the latest and the default version",
        step=Step(
            "DescribeLaunchTemplates",
            items="LaunchTemplates",
            page_size=200,
            then=Step(
                "DescribeLaunchTemplateVersions",
                args={"LaunchTemplateId": "LaunchTemplateId"},
                params={"Versions": ["$Latest", "$Default"]},
                paginated=False,
                items="LaunchTemplateVersions",
                key_fields=("LaunchTemplateData.BlockDeviceMappings[].Ebs.KmsKeyId",),
                resource_type="AWS::EC2::LaunchTemplate",
                config=ConfigRecord(
                    "AWS::EC2::LaunchTemplate",
                    ("configuration.LaunchTemplateData.BlockDeviceMappings.Ebs.KmsKeyId",),
                    missing="the keys of both the latest and the default version (one version per item)",
                ),
                name_field="LaunchTemplateName",
                id_field="LaunchTemplateId",
                arn_format="arn:aws:ec2:{region}:{account}:launch-template/{id}",
            ),
        ),
    ),
)

_RDS = (
    TableFinder(
        name="rds-db-instances",
        service="rds",
        tier=DATABASES,
        service_of=_rds_service,
        notes="storage, Performance Insights and managed master password keys",
        step=Step(
            "DescribeDBInstances",
            items="DBInstances",
            page_size=100,
            key_fields=("KmsKeyId", "PerformanceInsightsKMSKeyId", "MasterUserSecret.KmsKeyId"),
            resource_type="AWS::RDS::DBInstance",
            config=ConfigRecord(
                "AWS::RDS::DBInstance",
                ("configuration.kmsKeyId", "configuration.performanceInsightsKMSKeyId"),
                missing="MasterUserSecret.KmsKeyId",
            ),
            name_field="DBInstanceIdentifier",
            arn_field="DBInstanceArn",
        ),
    ),
    TableFinder(
        name="rds-db-clusters",
        service="rds",
        tier=DATABASES,
        service_of=_rds_service,
        notes="Aurora, DocumentDB and Neptune clusters: storage, Performance Insights, master password "
        "and activity stream keys",
        step=Step(
            "DescribeDBClusters",
            items="DBClusters",
            page_size=100,
            key_fields=(
                "KmsKeyId",
                "PerformanceInsightsKMSKeyId",
                "MasterUserSecret.KmsKeyId",
                "ActivityStreamKmsKeyId",
            ),
            resource_type="AWS::RDS::DBCluster",
            config=ConfigRecord(
                "AWS::RDS::DBCluster",
                ("configuration.kmsKeyId", "configuration.activityStreamKmsKeyId"),
                missing="PerformanceInsightsKMSKeyId, MasterUserSecret.KmsKeyId",
            ),
            name_field="DBClusterIdentifier",
            arn_field="DBClusterArn",
        ),
    ),
    TableFinder(
        name="rds-db-snapshots",
        service="rds",
        step=Step(
            "DescribeDBSnapshots",
            items="DBSnapshots",
            page_size=100,
            key_fields=("KmsKeyId",),
            resource_type="AWS::RDS::DBSnapshot",
            config=ConfigRecord("AWS::RDS::DBSnapshot", ("configuration.kmsKeyId",)),
            name_field="DBSnapshotIdentifier",
            arn_field="DBSnapshotArn",
        ),
    ),
    TableFinder(
        name="rds-db-cluster-snapshots",
        service="rds",
        step=Step(
            "DescribeDBClusterSnapshots",
            items="DBClusterSnapshots",
            page_size=100,
            key_fields=("KmsKeyId",),
            resource_type="AWS::RDS::DBClusterSnapshot",
            config=ConfigRecord("AWS::RDS::DBClusterSnapshot", ("configuration.kmsKeyId",)),
            name_field="DBClusterSnapshotIdentifier",
            arn_field="DBClusterSnapshotArn",
        ),
    ),
    TableFinder(
        name="rds-automated-backups",
        service="rds",
        notes="includes automated backups retained after their instance was deleted",
        step=Step(
            "DescribeDBInstanceAutomatedBackups",
            items="DBInstanceAutomatedBackups",
            page_size=100,
            key_fields=("KmsKeyId",),
            resource_type="AWS::RDS::DBInstanceAutomatedBackup",
            name_field="DBInstanceIdentifier",
            arn_field="DBInstanceAutomatedBackupsArn",
        ),
    ),
)

_DYNAMODB = (
    TableFinder(
        name="dynamodb-tables",
        service="dynamodb",
        tier=DATABASES,
        step=Step(
            "ListTables",
            items="TableNames",
            page_size=100,
            then=Step(
                "DescribeTable",
                args={"TableName": "@"},
                paginated=False,
                items="Table",
                key_fields=("SSEDescription.KMSMasterKeyArn",),
                resource_type="AWS::DynamoDB::Table",
                config=ConfigRecord(
                    "AWS::DynamoDB::Table", ("configuration.ssedescription.kmsmasterKeyArn",)
                ),
                name_field="TableName",
                arn_field="TableArn",
            ),
        ),
    ),
    TableFinder(
        name="dynamodb-backups",
        service="dynamodb",
        step=Step(
            "ListBackups",
            items="BackupSummaries",
            page_size=100,
            params={"BackupType": "ALL"},
            then=Step(
                "DescribeBackup",
                args={"BackupArn": "BackupArn"},
                paginated=False,
                items="BackupDescription",
                key_fields=("SourceTableFeatureDetails.SSEDescription.KMSMasterKeyArn",),
                resource_type="AWS::DynamoDB::Backup",
                name_field="BackupDetails.BackupName",
                arn_field="BackupDetails.BackupArn",
            ),
        ),
    ),
)

_SECRETS_AND_CONFIG = (
    TableFinder(
        name="secretsmanager-secrets",
        service="secretsmanager",
        tier=SECRETS,
        step=Step(
            "ListSecrets",
            items="SecretList",
            page_size=100,
            key_fields=("KmsKeyId",),
            resource_type="AWS::SecretsManager::Secret",
            config=ConfigRecord("AWS::SecretsManager::Secret", ("configuration.KMSKeyId",)),
            name_field="Name",
            arn_field="ARN",
        ),
    ),
    TableFinder(
        name="ssm-securestring-parameters",
        service="ssm",
        tier=SECRETS,
        step=Step(
            "DescribeParameters",
            items="Parameters",
            page_size=50,
            key_params=_secure_strings_naming,
            key_fields=("KeyId",),
            resource_type="AWS::SSM::Parameter",
            name_field="Name",
            arn_field="ARN",
        ),
    ),
    TableFinder(
        name="lambda-functions",
        service="lambda",
        tier=SECRETS,
        notes="environment variable encryption",
        step=Step(
            "ListFunctions",
            items="Functions",
            page_size=50,
            key_fields=("KMSKeyArn",),
            resource_type="AWS::Lambda::Function",
            config=ConfigRecord("AWS::Lambda::Function", ("configuration.kmskeyArn",)),
            name_field="FunctionName",
            arn_field="FunctionArn",
        ),
    ),
    TableFinder(
        name="eks-clusters",
        service="eks",
        tier=SECRETS,
        notes="envelope encryption of Kubernetes secrets",
        step=Step(
            "ListClusters",
            items="clusters",
            page_size=100,
            then=Step(
                "DescribeCluster",
                args={"name": "@"},
                paginated=False,
                items="cluster",
                key_fields=("encryptionConfig[].provider.keyArn",),
                resource_type="AWS::EKS::Cluster",
                config=ConfigRecord(
                    "AWS::EKS::Cluster",
                    (
                        "configuration.EncryptionConfig.Provider.KeyArn",
                        "configuration.EncryptionConfigKeyArn",
                    ),
                ),
                name_field="name",
                arn_field="arn",
            ),
        ),
    ),
)

_DATA_STORES = (
    TableFinder(
        name="redshift-clusters",
        service="redshift",
        tier=DATABASES,
        step=Step(
            "DescribeClusters",
            items="Clusters",
            page_size=100,
            key_fields=("KmsKeyId",),
            resource_type="AWS::Redshift::Cluster",
            config=ConfigRecord("AWS::Redshift::Cluster", ("configuration.kmsKeyId",)),
            name_field="ClusterIdentifier",
            arn_format="arn:aws:redshift:{region}:{account}:cluster:{id}",
        ),
    ),
    TableFinder(
        name="redshift-serverless-namespaces",
        service="redshift-serverless",
        tier=DATABASES,
        step=Step(
            "ListNamespaces",
            items="namespaces",
            page_size=100,
            key_fields=("kmsKeyId",),
            resource_type="AWS::RedshiftServerless::Namespace",
            name_field="namespaceName",
            arn_field="namespaceArn",
        ),
    ),
    TableFinder(
        name="elasticache-replication-groups",
        service="elasticache",
        tier=DATABASES,
        step=Step(
            "DescribeReplicationGroups",
            items="ReplicationGroups",
            page_size=100,
            key_fields=("KmsKeyId",),
            resource_type="AWS::ElastiCache::ReplicationGroup",
            name_field="ReplicationGroupId",
            arn_field="ARN",
        ),
    ),
    TableFinder(
        name="elasticache-serverless-caches",
        service="elasticache",
        tier=DATABASES,
        step=Step(
            "DescribeServerlessCaches",
            items="ServerlessCaches",
            page_size=100,
            key_fields=("KmsKeyId",),
            resource_type="AWS::ElastiCache::ServerlessCache",
            name_field="ServerlessCacheName",
            arn_field="ARN",
        ),
    ),
    TableFinder(
        name="memorydb-clusters",
        service="memorydb",
        tier=DATABASES,
        step=Step(
            "DescribeClusters",
            items="Clusters",
            page_size=100,
            key_fields=("KmsKeyId",),
            resource_type="AWS::MemoryDB::Cluster",
            name_field="Name",
            arn_field="ARN",
        ),
    ),
    TableFinder(
        name="opensearch-domains",
        service="opensearch",
        tier=DATABASES,
        step=Step(
            "ListDomainNames",
            items="DomainNames",
            paginated=False,
            then=Step(
                "DescribeDomains",
                args={"DomainNames": "DomainName"},
                batch=5,
                paginated=False,
                items="DomainStatusList",
                key_fields=("EncryptionAtRestOptions.KmsKeyId",),
                resource_type="AWS::OpenSearchService::Domain",
                config=ConfigRecord(
                    "AWS::OpenSearch::Domain",
                    ("configuration.EncryptionAtRestOptions.KmsKeyId",),
                    missing="Elasticsearch-engine domains (recorded as AWS::Elasticsearch::Domain)",
                ),
                name_field="DomainName",
                arn_field="ARN",
            ),
        ),
    ),
    TableFinder(
        name="opensearchserverless-encryption-policies",
        service="opensearchserverless",
        tier=DATABASES,
        notes="collections encrypted by the policy",
        step=Step(
            "ListSecurityPolicies",
            items="securityPolicySummaries",
            params={"type": "encryption"},
            pagination=_token_pagination("securityPolicySummaries", "maxResults", "nextToken"),
            page_size=100,
            then=Step(
                "GetSecurityPolicy",
                args={"name": "name"},
                params={"type": "encryption"},
                paginated=False,
                items="securityPolicyDetail",
                key_fields=("policy.KmsARN",),
                resource_type="AWS::OpenSearchServerless::SecurityPolicy",
                name_field="name",
            ),
        ),
    ),
    TableFinder(
        name="msk-clusters",
        service="kafka",
        tier=DATABASES,
        step=Step(
            "ListClustersV2",
            items="ClusterInfoList",
            page_size=100,
            key_fields=("Provisioned.EncryptionInfo.EncryptionAtRest.DataVolumeKMSKeyId",),
            resource_type="AWS::MSK::Cluster",
            config=ConfigRecord(
                "AWS::MSK::Cluster", ("configuration.EncryptionInfo.EncryptionAtRest.DataVolumeKMSKeyId",)
            ),
            name_field="ClusterName",
            arn_field="ClusterArn",
        ),
    ),
    TableFinder(
        name="timestream-databases",
        service="timestream-write",
        tier=DATABASES,
        step=Step(
            "ListDatabases",
            items="Databases",
            pagination=_token_pagination("Databases"),
            page_size=20,
            actions=("timestream:ListDatabases", "timestream:DescribeEndpoints"),
            key_fields=("KmsKeyId",),
            resource_type="AWS::Timestream::Database",
            name_field="DatabaseName",
            arn_field="Arn",
        ),
    ),
    TableFinder(
        name="keyspaces-tables",
        service="keyspaces",
        tier=DATABASES,
        step=Step(
            "ListKeyspaces",
            items="keyspaces",
            page_size=1000,
            actions=("cassandra:Select",),
            item_filter=lambda ks: not str(ks.get("keyspaceName", "")).startswith("system"),
            then=Step(
                "ListTables",
                args={"keyspaceName": "keyspaceName"},
                items="tables",
                page_size=1000,
                actions=("cassandra:Select",),
                then=Step(
                    "GetTable",
                    args={"keyspaceName": "keyspaceName", "tableName": "tableName"},
                    paginated=False,
                    actions=("cassandra:Select",),
                    key_fields=("encryptionSpecification.kmsKeyIdentifier",),
                    resource_type="AWS::Cassandra::Table",
                    name_field="join('.', [keyspaceName, tableName])",
                    arn_field="resourceArn",
                ),
            ),
        ),
    ),
)

_FILE_SYSTEMS = (
    TableFinder(
        name="efs-file-systems",
        service="efs",
        tier=VOLUMES,
        step=Step(
            "DescribeFileSystems",
            items="FileSystems",
            page_size=100,
            key_fields=("KmsKeyId",),
            resource_type="AWS::EFS::FileSystem",
            config=ConfigRecord("AWS::EFS::FileSystem", ("configuration.KmsKeyId",), name="resourceId"),
            name_field="FileSystemId",
            label_field="Name",  # DescribeFileSystems returns the Name tag as a field
            arn_field="FileSystemArn",
        ),
    ),
    TableFinder(
        name="fsx-file-systems",
        service="fsx",
        tier=VOLUMES,
        step=Step(
            "DescribeFileSystems",
            items="FileSystems",
            key_fields=("KmsKeyId",),
            resource_type="AWS::FSx::FileSystem",
            name_field="FileSystemId",
            label_field=NAME_TAG,
            arn_field="ResourceARN",
        ),
    ),
    TableFinder(
        name="fsx-backups",
        service="fsx",
        step=Step(
            "DescribeBackups",
            items="Backups",
            key_fields=("KmsKeyId",),
            resource_type="AWS::FSx::Backup",
            name_field="BackupId",
            label_field=NAME_TAG,
            arn_field="ResourceARN",
        ),
    ),
    TableFinder(
        name="workspaces",
        service="workspaces",
        tier=VOLUMES,
        notes="root and user volume encryption",
        step=Step(
            "DescribeWorkspaces",
            items="Workspaces",
            page_size=25,
            key_fields=("VolumeEncryptionKey",),
            resource_type="AWS::WorkSpaces::Workspace",
            config=ConfigRecord(
                "AWS::WorkSpaces::Workspace", ("configuration.VolumeEncryptionKey",), name="resourceId"
            ),
            name_field="WorkspaceId",
            label_field="UserName",
            arn_format="arn:aws:workspaces:{region}:{account}:workspace/{id}",
        ),
    ),
)

_STREAMS_AND_MESSAGING = (
    TableFinder(
        name="sqs-queues",
        service="sqs",
        step=Step(
            "ListQueues",
            items="QueueUrls",
            page_size=1000,
            then=Step(
                "GetQueueAttributes",
                args={"QueueUrl": "@"},
                paginated=False,
                items="Attributes",
                params={"AttributeNames": ["KmsMasterKeyId", "QueueArn"]},
                ignore_errors=GONE_CODES | {"AWS.SimpleQueueService.NonExistentQueue"},
                key_fields=("KmsMasterKeyId",),
                resource_type="AWS::SQS::Queue",
                config=ConfigRecord("AWS::SQS::Queue", ("configuration.KmsMasterKeyId",)),
                name_field="parent.@",
                name_split="/",
                arn_field="QueueArn",
            ),
        ),
    ),
    TableFinder(
        name="sns-topics",
        service="sns",
        step=Step(
            "ListTopics",
            items="Topics",
            then=Step(
                "GetTopicAttributes",
                args={"TopicArn": "TopicArn"},
                paginated=False,
                items="Attributes",
                key_fields=("KmsMasterKeyId",),
                resource_type="AWS::SNS::Topic",
                config=ConfigRecord("AWS::SNS::Topic", ("configuration.KmsMasterKeyId",)),
                name_field="TopicArn",
                name_split=":",
                arn_field="TopicArn",
            ),
        ),
    ),
    TableFinder(
        name="kinesis-streams",
        service="kinesis",
        step=Step(
            "ListStreams",
            items="StreamSummaries",
            page_size=100,  # "If you specify a value greater than 100, at most 100 results are returned."
            rate_limit=KINESIS_LIST_STREAMS,
            then=Step(
                "DescribeStreamSummary",
                args={"StreamARN": "StreamARN"},
                paginated=False,
                items="StreamDescriptionSummary",
                key_fields=("KeyId",),
                rate_limit=KINESIS_DESCRIBE_STREAM_SUMMARY,
                resource_type="AWS::Kinesis::Stream",
                config=ConfigRecord("AWS::Kinesis::Stream", ("configuration.StreamEncryption.KeyId",)),
                name_field="StreamName",
                arn_field="StreamARN",
            ),
        ),
    ),
    TableFinder(
        name="firehose-delivery-streams",
        service="firehose",
        notes="server-side encryption and S3 destination encryption",
        step=Step(
            "ListDeliveryStreams",
            items="DeliveryStreamNames",
            paginated=False,
            params={"Limit": 10000},
            truncated="HasMoreDeliveryStreams",
            then=Step(
                "DescribeDeliveryStream",
                args={"DeliveryStreamName": "@"},
                paginated=False,
                items="DeliveryStreamDescription",
                key_fields=(
                    "DeliveryStreamEncryptionConfiguration.KeyARN",
                    "Destinations[].ExtendedS3DestinationDescription.EncryptionConfiguration."
                    "KMSEncryptionConfig.AWSKMSKeyARN",
                    "Destinations[].S3DestinationDescription.EncryptionConfiguration."
                    "KMSEncryptionConfig.AWSKMSKeyARN",
                ),
                resource_type="AWS::KinesisFirehose::DeliveryStream",
                name_field="DeliveryStreamName",
                arn_field="DeliveryStreamARN",
            ),
        ),
    ),
    TableFinder(
        name="kinesisvideo-streams",
        service="kinesisvideo",
        step=Step(
            "ListStreams",
            items="StreamInfoList",
            page_size=10000,
            key_fields=("KmsKeyId",),
            resource_type="AWS::KinesisVideo::Stream",
            config=ConfigRecord("AWS::KinesisVideo::Stream", ("configuration.KmsKeyId",)),
            name_field="StreamName",
            arn_field="StreamARN",
        ),
    ),
    TableFinder(
        name="mq-brokers",
        service="mq",
        step=Step(
            "ListBrokers",
            items="BrokerSummaries",
            page_size=100,
            then=Step(
                "DescribeBroker",
                args={"BrokerId": "BrokerId"},
                paginated=False,
                key_fields=("EncryptionOptions.KmsKeyId",),
                resource_type="AWS::AmazonMQ::Broker",
                config=ConfigRecord("AWS::AmazonMQ::Broker", ("configuration.EncryptionOptions.KmsKeyId",)),
                name_field="BrokerName",
                arn_field="BrokerArn",
            ),
        ),
    ),
    TableFinder(
        name="logs-log-groups",
        service="logs",
        notes="listed 1,000 a page, described 50 at a time (AWS Config has no key field for log groups)",
        step=Step(
            "ListLogGroups",
            items="logGroups",
            pagination=_token_pagination("logGroups", "limit", "nextToken"),
            page_size=1000,
            then=Step(
                "DescribeLogGroups",
                # Outside a monitoring account, logGroupIdentifiers takes names, not ARNs.
                args={"logGroupIdentifiers": "logGroupName"},
                batch=50,
                paginated=False,
                items="logGroups",
                rate_limit=LOGS_DESCRIBE_LOG_GROUPS,
                key_fields=("kmsKeyId",),
                resource_type="AWS::Logs::LogGroup",
                name_field="logGroupName",
                arn_field="logGroupArn || arn",
            ),
        ),
    ),
)

_BACKUP_AND_AUDIT = (
    TableFinder(
        name="backup-vaults",
        service="backup",
        notes="vaults, and the recovery points in every vault",
        step=Step(
            "ListBackupVaults",
            items="BackupVaultList",
            page_size=1000,
            key_fields=("EncryptionKeyArn",),
            resource_type="AWS::Backup::BackupVault",
            config=ConfigRecord("AWS::Backup::BackupVault", ("configuration.EncryptionKeyArn",)),
            name_field="BackupVaultName",
            arn_field="BackupVaultArn",
            then=Step(
                "ListRecoveryPointsByBackupVault",
                args={"BackupVaultName": "BackupVaultName"},
                items="RecoveryPoints",
                page_size=1000,
                key_fields=("EncryptionKeyArn",),
                resource_type="AWS::Backup::RecoveryPoint",
                config=ConfigRecord(
                    "AWS::Backup::RecoveryPoint",
                    ("configuration.EncryptionKeyArn",),
                    name="arn",
                    name_split=":",
                ),
                name_field="RecoveryPointArn",
                name_split=":",
                arn_field="RecoveryPointArn",
            ),
        ),
    ),
    TableFinder(
        name="cloudtrail-trails",
        service="cloudtrail",
        step=Step(
            "DescribeTrails",
            items="trailList",
            paginated=False,
            params={"includeShadowTrails": False},
            key_fields=("KmsKeyId",),
            resource_type="AWS::CloudTrail::Trail",
            config=ConfigRecord("AWS::CloudTrail::Trail", ("configuration.kmsKeyId",)),
            name_field="Name",
            arn_field="TrailARN",
        ),
    ),
    TableFinder(
        name="config-delivery-channels",
        service="config",
        step=Step(
            "DescribeDeliveryChannels",
            items="DeliveryChannels",
            paginated=False,
            key_fields=("s3KmsKeyArn",),
            resource_type="AWS::Config::DeliveryChannel",
            name_field="name",
        ),
    ),
    TableFinder(
        name="xray-encryption",
        service="xray",
        step=Step(
            "GetEncryptionConfig",
            items="EncryptionConfig",
            paginated=False,
            key_fields=("KeyId",),
            resource_type="AWS::XRay::EncryptionConfig",
            config=ConfigRecord(
                "AWS::XRay::EncryptionConfig", ("configuration.keyId",), name="'X-Ray encryption'"
            ),
            name_field="'X-Ray encryption'",
        ),
    ),
)

_BUILD_AND_ANALYTICS = (
    TableFinder(
        name="ecr-repositories",
        service="ecr",
        step=Step(
            "DescribeRepositories",
            items="repositories",
            page_size=1000,
            key_fields=("encryptionConfiguration.kmsKey",),
            resource_type="AWS::ECR::Repository",
            name_field="repositoryName",
            arn_field="repositoryArn",
        ),
    ),
    TableFinder(
        name="codebuild-projects",
        service="codebuild",
        step=Step(
            "ListProjects",
            items="projects",
            then=Step(
                "BatchGetProjects",
                args={"names": "@"},
                batch=100,
                paginated=False,
                items="projects",
                key_fields=("encryptionKey",),
                resource_type="AWS::CodeBuild::Project",
                config=ConfigRecord("AWS::CodeBuild::Project", ("configuration.encryptionKey",)),
                name_field="name",
                arn_field="arn",
            ),
        ),
    ),
    TableFinder(
        name="codeartifact-domains",
        service="codeartifact",
        step=Step(
            "ListDomains",
            items="domains",
            page_size=1000,
            key_fields=("encryptionKey",),
            resource_type="AWS::CodeArtifact::Domain",
            name_field="name",
            arn_field="arn",
        ),
    ),
    TableFinder(
        name="stepfunctions-state-machines",
        service="stepfunctions",
        step=Step(
            "ListStateMachines",
            items="stateMachines",
            page_size=1000,
            then=Step(
                "DescribeStateMachine",
                args={"stateMachineArn": "stateMachineArn"},
                paginated=False,
                key_fields=("encryptionConfiguration.kmsKeyId",),
                resource_type="AWS::StepFunctions::StateMachine",
                name_field="name",
                arn_field="stateMachineArn",
            ),
        ),
    ),
    TableFinder(
        name="athena-workgroups",
        service="athena",
        notes="query result and customer content encryption",
        step=Step(
            "ListWorkGroups",
            items="WorkGroups",
            pagination=_token_pagination("WorkGroups"),
            page_size=50,
            then=Step(
                "GetWorkGroup",
                args={"WorkGroup": "Name"},
                paginated=False,
                items="WorkGroup",
                key_fields=(
                    "Configuration.ResultConfiguration.EncryptionConfiguration.KmsKey",
                    "Configuration.CustomerContentEncryptionConfiguration.KmsKey",
                ),
                resource_type="AWS::Athena::WorkGroup",
                config=ConfigRecord(
                    "AWS::Athena::WorkGroup",
                    (
                        "configuration.WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration.KmsKey",
                    ),
                    missing="CustomerContentEncryptionConfiguration.KmsKey",
                ),
                name_field="Name",
                arn_format="arn:aws:athena:{region}:{account}:workgroup/{id}",
            ),
        ),
    ),
    TableFinder(
        name="glue-data-catalog",
        service="glue",
        notes="metadata encryption and connection password encryption",
        step=Step(
            "GetDataCatalogEncryptionSettings",
            items="DataCatalogEncryptionSettings",
            paginated=False,
            key_fields=("EncryptionAtRest.SseAwsKmsKeyId", "ConnectionPasswordEncryption.AwsKmsKeyId"),
            resource_type="AWS::Glue::DataCatalogEncryptionSettings",
            name_field="'Data Catalog'",
            arn_format="arn:aws:glue:{region}:{account}:catalog",
        ),
    ),
    TableFinder(
        name="glue-security-configurations",
        service="glue",
        step=Step(
            "GetSecurityConfigurations",
            items="SecurityConfigurations",
            page_size=1000,
            key_fields=(
                "EncryptionConfiguration.S3Encryption[].KmsKeyArn",
                "EncryptionConfiguration.CloudWatchEncryption.KmsKeyArn",
                "EncryptionConfiguration.JobBookmarksEncryption.KmsKeyArn",
            ),
            resource_type="AWS::Glue::SecurityConfiguration",
            name_field="Name",
        ),
    ),
    TableFinder(
        name="emr-security-configurations",
        service="emr",
        step=Step(
            "ListSecurityConfigurations",
            items="SecurityConfigurations",
            then=Step(
                "DescribeSecurityConfiguration",
                args={"Name": "Name"},
                paginated=False,
                decode=json_fields("SecurityConfiguration"),
                key_fields=(
                    "SecurityConfiguration.EncryptionConfiguration.AtRestEncryptionConfiguration."
                    "LocalDiskEncryptionConfiguration.AwsKmsKey",
                    "SecurityConfiguration.EncryptionConfiguration.AtRestEncryptionConfiguration."
                    "S3EncryptionConfiguration.AwsKmsKey",
                ),
                resource_type="AWS::EMR::SecurityConfiguration",
                name_field="Name",
            ),
        ),
    ),
    TableFinder(
        name="sagemaker-notebook-instances",
        service="sagemaker",
        step=Step(
            "ListNotebookInstances",
            items="NotebookInstances",
            page_size=100,
            then=Step(
                "DescribeNotebookInstance",
                args={"NotebookInstanceName": "NotebookInstanceName"},
                paginated=False,
                key_fields=("KmsKeyId",),
                resource_type="AWS::SageMaker::NotebookInstance",
                config=ConfigRecord("AWS::SageMaker::NotebookInstance", ("configuration.KmsKeyId",)),
                name_field="NotebookInstanceName",
                arn_field="NotebookInstanceArn",
            ),
        ),
    ),
    TableFinder(
        name="dms-replication-instances",
        service="dms",
        step=Step(
            "DescribeReplicationInstances",
            items="ReplicationInstances",
            page_size=100,
            key_fields=("KmsKeyId",),
            resource_type="AWS::DMS::ReplicationInstance",
            config=ConfigRecord("AWS::DMS::ReplicationInstance", ("configuration.KmsKeyId",)),
            name_field="ReplicationInstanceIdentifier",
            arn_field="ReplicationInstanceArn",
        ),
    ),
    TableFinder(
        name="route53-dnssec-signing-keys",
        service="route53",
        regions=("us-east-1",),
        notes="DNSSEC key-signing keys (their KMS keys live in us-east-1)",
        step=Step(
            "ListHostedZones",
            items="HostedZones",
            item_filter=lambda zone: not (zone.get("Config") or {}).get("PrivateZone"),
            then=Step(
                "GetDNSSEC",
                args={"HostedZoneId": "Id"},
                paginated=False,
                items="KeySigningKeys",
                key_fields=("KmsArn",),
                resource_type="AWS::Route53::KeySigningKey",
                name_field="parent.Name",
            ),
        ),
    ),
)

TABLE: tuple[TableFinder, ...] = (
    _S3,
    *_EC2,
    *_RDS,
    *_DYNAMODB,
    *_SECRETS_AND_CONFIG,
    *_DATA_STORES,
    *_FILE_SYSTEMS,
    *_STREAMS_AND_MESSAGING,
    *_BACKUP_AND_AUDIT,
    *_BUILD_AND_ANALYTICS,
)
