"""Declarative finders: "paginate this call, read this field".

Adding a resource type is one ``TableFinder`` row (and its test). The row names the paginated list
operation, where the items are in each page, which field holds the key reference, and how to name
the resource. IAM actions are declared on the row, and the template's grants are checked against
them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from shared.alert import DependencyItem
from shared.dependencies.base import FinderContext


def dig(data: Any, path: str) -> Any:
    """Follow a dotted path through dicts; ``None`` as soon as a step is missing."""
    for part in path.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


@dataclass(frozen=True)
class TableFinder:
    name: str
    service: str
    resource_type: str
    operation: str  # paginated botocore operation (snake_case)
    items: str  # key of the item list in each page
    key_field: str  # dotted path to the key reference in an item
    name_field: str  # dotted path to the resource's name or id
    actions: tuple[str, ...]
    arn_field: str | None = None  # dotted path to the ARN, when the API returns one
    arn_format: str | None = None  # else "arn:aws:ec2:{region}:{account}:volume/{name}"
    params: dict[str, Any] = field(default_factory=dict)
    item_filter: Callable[[dict[str, Any]], bool] | None = None

    @property
    def resource_types(self) -> tuple[str, ...]:
        return (self.resource_type,)

    def find(self, ctx: FinderContext) -> Iterable[DependencyItem]:
        for page in ctx.paginate(self.service, self.operation, **self.params):
            for item in page.get(self.items) or []:
                if self.item_filter and not self.item_filter(item):
                    continue
                reference = dig(item, self.key_field)
                if not ctx.identity.matches(reference, ctx.region, ctx.identity.account):
                    continue
                yield self._item(ctx, item, str(reference))

    def _item(self, ctx: FinderContext, item: dict[str, Any], reference: str) -> DependencyItem:
        name = str(dig(item, self.name_field) or "?")
        arn = dig(item, self.arn_field) if self.arn_field else None
        if arn is None and self.arn_format:
            arn = self.arn_format.format(region=ctx.region, account=ctx.identity.account, name=name)
        return DependencyItem(
            service=self.service,
            resource_type=self.resource_type,
            arn=str(arn) if arn else None,
            name=name,
            region=ctx.region,
            evidence=f"{self.key_field} = {reference}",
        )


TABLE: tuple[TableFinder, ...] = (
    TableFinder(
        name="ebs-volumes",
        service="ec2",
        resource_type="AWS::EC2::Volume",
        operation="describe_volumes",
        params={"Filters": [{"Name": "encrypted", "Values": ["true"]}]},
        items="Volumes",
        key_field="KmsKeyId",
        name_field="VolumeId",
        arn_format="arn:aws:ec2:{region}:{account}:volume/{name}",
        actions=("ec2:DescribeVolumes",),
    ),
    TableFinder(
        name="secretsmanager-secrets",
        service="secretsmanager",
        resource_type="AWS::SecretsManager::Secret",
        operation="list_secrets",
        items="SecretList",
        key_field="KmsKeyId",
        name_field="Name",
        arn_field="ARN",
        actions=("secretsmanager:ListSecrets",),
    ),
)
