"""Finders that need more than one call per resource."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from botocore.exceptions import ClientError

from shared.alert import DependencyItem
from shared.dependencies.base import FinderContext


@dataclass(frozen=True)
class S3BucketEncryptionFinder:
    """S3 bucket default encryption (``GetBucketEncryption`` per bucket in the region)."""

    name: str = "s3-bucket-encryption"
    service: str = "s3"
    actions: tuple[str, ...] = ("s3:ListAllMyBuckets", "s3:GetEncryptionConfiguration")
    resource_types: tuple[str, ...] = ("AWS::S3::Bucket",)

    def find(self, ctx: FinderContext) -> Iterable[DependencyItem]:
        s3 = ctx.client("s3")
        for page in ctx.paginate("s3", "list_buckets", BucketRegion=ctx.region):
            for bucket in page.get("Buckets") or []:
                region = bucket.get("BucketRegion")
                if region and region != ctx.region:
                    continue
                ctx.check_deadline()
                name = bucket["Name"]
                try:
                    config = s3.get_bucket_encryption(Bucket=name)
                except ClientError as exc:
                    if exc.response["Error"]["Code"] in (
                            "ServerSideEncryptionConfigurationNotFoundError", "NoSuchBucket"):
                        continue
                    raise
                rules = config.get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
                for rule in rules:
                    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
                    reference = default.get("KMSMasterKeyID")
                    if ctx.identity.matches(reference, ctx.region, ctx.identity.account):
                        yield DependencyItem(
                            service="s3", resource_type="AWS::S3::Bucket", arn=f"arn:aws:s3:::{name}",
                            name=name, region=ctx.region,
                            evidence=f"default encryption KMSMasterKeyID = {reference}")
                        break
