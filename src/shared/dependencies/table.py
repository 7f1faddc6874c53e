"""Declarative finders: "list these, (describe each,) read this field".

Adding a resource type is one ``TableFinder`` row (and its test). A row is a chain of ``Step``s:

* the first step is the listing: a paginated call (``paginated=True``, the default), a call botocore
  does not paginate but that takes a ``NextToken`` (``pagination=`` a botocore pagination config),
  or a single call (``paginated=False``, with ``truncated=`` naming the field that says "there is
  more", which then marks the finder unchecked rather than silently incomplete);
* each following step runs once per item of the previous one (``args`` maps its parameters to
  JMESPath expressions on that item), or once per ``batch`` items for batch APIs. Those calls are
  handed to the engine as ``Work`` units, so they run on the shared pool while the listing pages on.

Any step that names ``key_fields`` (JMESPath expressions; lists are flattened) reports the items
whose fields reference the key, as ``resource_type``. IAM actions are derived from the operation
names and the service's IAM prefix, with overrides where IAM names differ from operation names;
the template's ``DependencyDiscovery`` statement is synced from them.

A step may also declare the documented ``rate_limit`` of its operation (calls are then scheduled
within it), ``key_params`` (request parameters built from the key's reference forms, for APIs that
filter on the key server-side) and ``config``: how AWS Config records the resource type, from which
the index queries are generated (``config_index``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jmespath
from botocore import xform_name
from botocore.exceptions import ClientError

from shared.dependencies.base import FinderContext, RateLimit, Work
from shared.document import DependencyItem
from shared.keyref import KeyIdentity

# IAM service prefixes that differ from the botocore service name.
IAM_PREFIX = {
    "efs": "elasticfilesystem",
    "opensearch": "es",
    "stepfunctions": "states",
    "timestream-write": "timestream",
    "keyspaces": "cassandra",
    "opensearchserverless": "aoss",
    "emr": "elasticmapreduce",
}

# Errors that mean "this resource went away between the listing and the describe": skip it.
GONE_CODES = frozenset(
    {
        "ResourceNotFoundException",
        "ResourceNotFound",
        "NotFoundException",
        "NotFound",
        "NoSuchBucket",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "TableNotFoundException",
        "BackupNotFoundException",
        "NoSuchHostedZone",
        "StateMachineDoesNotExist",
    }
)


def search(expression: str, data: Any) -> Any:
    """A JMESPath search; ``@`` is the item itself."""
    return jmespath.search(expression, data)


def flatten(value: Any) -> Iterator[str]:
    if value is None:
        return
    if isinstance(value, list):
        for part in value:
            yield from flatten(part)
    elif isinstance(value, str | int):
        yield str(value)


def json_fields(*names: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A ``decode`` hook for APIs that return JSON documents as strings."""

    def decode(item: dict[str, Any]) -> dict[str, Any]:
        out = dict(item)
        for name in names:
            if isinstance(out.get(name), str):
                try:
                    out[name] = json.loads(out[name])
                except ValueError:
                    out[name] = None
        return out

    return decode


@dataclass(frozen=True)
class ConfigRecord:
    """How AWS Config records a catalogued resource type, for the index (advanced query).

    ``fields`` are the advanced-query properties that hold a key reference (from the type's schema
    in awslabs/aws-config-resource-schema). ``missing`` names key references the finder reads that
    Config does not record: such a type is still searched through its API. ``name`` is a JMESPath
    on the result row giving the name the API finder reports (``name_split`` as for ``Step``).
    """

    resource_type: str  # Config's name for the type, e.g. "AWS::OpenSearch::Domain"
    fields: tuple[str, ...]
    missing: str = ""
    name: str = "resourceName || resourceId"
    name_split: str | None = None

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class Step:
    operation: str  # the API operation, as IAM and CloudTrail spell it: "DescribeDBInstances"
    items: str = "@"  # JMESPath to the items in each page or response ("@": the response itself)
    params: Mapping[str, Any] = field(default_factory=dict)  # constant parameters; "{region}" filled
    args: Mapping[str, str] = field(default_factory=dict)  # parameter -> JMESPath on the parent item
    paginated: bool = True
    pagination: Mapping[str, Any] | None = None  # botocore pagination config where botocore has none
    page_size: int | None = None  # the API's maximum page size: fewer calls
    batch: int = 0  # > 0: one call per this many parent items, ``args`` values become lists
    truncated: str | None = None  # single calls: JMESPath that is truthy when the answer is partial
    actions: tuple[str, ...] | None = None  # IAM actions, when they differ from the operation name
    ignore_errors: frozenset[str] = GONE_CODES
    item_filter: Callable[[Any], bool] | None = None
    decode: Callable[[Any], Any] | None = None
    # Reporting: a step with key_fields reports its own items.
    key_fields: tuple[str, ...] = ()
    resource_type: str | None = None
    rate_limit: RateLimit | None = None  # the operation's documented rate, per account and Region
    key_params: Callable[[Sequence[str]], Mapping[str, Any]] | None = None  # from the key's forms
    config: ConfigRecord | None = None  # how AWS Config records ``resource_type``
    name_field: str = "@"  # JMESPath on the item; "parent.X" reads the parent item
    name_split: str | None = None  # keep what follows the last separator (a queue URL → its name)
    # The name people know an id-named resource by (its Name tag), from the same response: shown
    # beside the id, "vol-0abc (orders-db-data)". No extra call.
    label_field: str | None = None
    arn_field: str | None = None
    arn_format: str | None = None  # e.g. "arn:aws:ec2:{region}:{account}:volume/{id}"
    id_field: str | None = None  # fills {id} in arn_format; the name when not given
    then: Step | None = None

    @property
    def method(self) -> str:
        """The boto3 method: ``DescribeDBInstances`` → ``describe_db_instances``."""
        return xform_name(self.operation)


class TruncatedListing(ClientError):
    """A single-call listing said there is more than one answer holds."""

    def __init__(self, operation: str) -> None:
        super().__init__({"Error": {"Code": "IncompleteListing", "Message": operation}}, operation)


@dataclass(frozen=True)
class TableFinder:
    name: str
    service: str
    step: Step
    tier: int = 4  # 0 databases, 1 volumes, 2 secrets and configuration, 3 buckets, 4 the rest
    regions: tuple[str, ...] | None = None  # global services: the only region they are read in
    service_of: Callable[[dict[str, Any]], str] | None = None  # e.g. rds → docdb / neptune by engine
    notes: str = ""

    @property
    def steps(self) -> list[Step]:
        out: list[Step] = []
        step: Step | None = self.step
        while step is not None:
            out.append(step)
            step = step.then
        return out

    @property
    def resource_types(self) -> tuple[str, ...]:
        return tuple(s.resource_type for s in self.steps if s.resource_type)

    @property
    def config_records(self) -> dict[str, ConfigRecord]:
        """Catalogued resource type -> how Config records it (types Config does not record absent)."""
        return {s.resource_type: s.config for s in self.steps if s.resource_type and s.config}

    @property
    def indexable(self) -> bool:
        """Whether AWS Config records every key reference of every type this finder reports."""
        records = self.config_records
        return (
            bool(records)
            and set(records) == set(self.resource_types)
            and all(r.complete for r in records.values())
        )

    @property
    def operations(self) -> tuple[str, ...]:
        return tuple(s.operation for s in self.steps)

    @property
    def actions(self) -> tuple[str, ...]:
        prefix = IAM_PREFIX.get(self.service, self.service)
        out: list[str] = []
        for step in self.steps:
            for action in step.actions or (f"{prefix}:{step.operation}",):
                if action not in out:
                    out.append(action)
        return tuple(out)

    def applies_to(self, region: str) -> bool:
        return self.regions is None or region in self.regions

    def find(self, ctx: FinderContext) -> Iterable[Any]:
        params = dict(self.step.params)
        if self.step.key_params is not None:
            params.update(self.step.key_params(key_forms(ctx.identity, ctx.region)))
        return self._run_step(ctx, self.step, params, None)

    # -- execution ---------------------------------------------------------------------------

    def _pages(
        self, ctx: FinderContext, step: Step, params: dict[str, Any], slot_reserved: bool
    ) -> Iterator[Any]:
        """Pages (or the single answer) of ``step``. ``slot_reserved``: the engine already gave the
        first call its rate-limit slot (a follow-up unit); later pages are paced here."""
        params = {k: v.format(region=ctx.region) if isinstance(v, str) else v for k, v in params.items()}
        if step.paginated:
            config = dict(step.pagination) if step.pagination else None
            yield from ctx.paginate(
                self.service,
                step.method,
                page_size=step.page_size,
                config=config,
                limit=step.rate_limit,
                first_slot_reserved=slot_reserved,
                **params,
            )
            return
        ctx.check_deadline()
        if not slot_reserved:
            ctx.pace(step.rate_limit)
        response = getattr(ctx.client(self.service), step.method)(**params)
        if step.truncated and search(step.truncated, response):
            raise TruncatedListing(step.operation)
        yield response

    def _run_step(
        self, ctx: FinderContext, step: Step, params: dict[str, Any], parent: Any, slot_reserved: bool = False
    ) -> Iterator[Any]:
        pending: list[Any] = []
        try:
            for page in self._pages(ctx, step, params, slot_reserved):
                for item in flatten_items(search(step.items, page)):
                    if step.decode:
                        item = step.decode(item)
                    if step.item_filter and not step.item_filter(item):
                        continue
                    if step.key_fields:
                        found = self._match(ctx, step, item, parent)
                        if found:
                            yield found
                    if step.then is not None:
                        pending.append(item)
                        if len(pending) >= max(step.then.batch, 1):
                            yield self._follow(ctx, step.then, pending)
                            pending = []
        except ClientError as exc:
            if parent is None or exc.response.get("Error", {}).get("Code") not in step.ignore_errors:
                raise
        if pending and step.then is not None:
            yield self._follow(ctx, step.then, pending)

    def _follow(self, ctx: FinderContext, step: Step, parents: list[Any]) -> Work:
        if step.batch:
            params = {**step.params, **{k: [search(e, p) for p in parents] for k, e in step.args.items()}}
            parent = None if len(parents) > 1 else parents[0]
        else:
            (parent,) = parents
            params = {**step.params, **{k: search(e, parent) for k, e in step.args.items()}}
        return Work(
            lambda: self._run_step(ctx, step, params, parent if parent is not None else {}, True),
            limit=step.rate_limit,
            size=len(parents),
        )

    def _match(self, ctx: FinderContext, step: Step, item: Any, parent: Any) -> DependencyItem | None:
        evidence = []
        for expression in step.key_fields:
            for reference in flatten(search(expression, item)):
                if ctx.identity.matches(reference, ctx.region, ctx.identity.account):
                    evidence.append(f"{field_label(expression)} = {reference}")
        if not evidence:
            return None
        name = self._field(step.name_field, item, parent)
        if step.name_split and isinstance(name, str):
            name = name.rsplit(step.name_split, 1)[-1]
        arn = self._field(step.arn_field, item, parent) if step.arn_field else None
        if arn is None and step.arn_format:
            ident = self._field(step.id_field, item, parent) if step.id_field else name
            arn = step.arn_format.format(region=ctx.region, account=ctx.identity.account, id=ident)
        label = self._field(step.label_field, item, parent) if step.label_field else None
        if label and isinstance(label, str) and label != name:
            name = f"{name} ({label})"
        return DependencyItem(
            service=self.service_of(item) if self.service_of else self.service,
            resource_type=step.resource_type or "?",
            arn=str(arn) if arn else None,
            name=str(name or "?"),
            region=ctx.region,
            evidence="; ".join(evidence),
            via="api",
        )

    @staticmethod
    def _field(expression: str, item: Any, parent: Any) -> Any:
        if expression.startswith("parent."):
            return search(expression[len("parent.") :], parent or {})
        return search(expression, item)


def key_forms(identity: KeyIdentity, region: str) -> list[str]:
    """Every string a resource in ``region`` may store to name the key: the key ARNs (of every
    multi-Region replica), the bare key id where it resolves to one of them, and, in the key's own
    Region, its alias names and alias ARNs (aliases are regional)."""
    forms: set[str] = set()
    for arn in identity.all_key_arns:
        forms.add(arn)
        if arn.split(":")[3] == region:
            forms.add(arn.rsplit("/", 1)[-1])
    if region == identity.region:
        prefix = identity.key_arn.split(":key/", 1)[0]
        for alias in identity.aliases:
            forms.add(alias)
            forms.add(f"{prefix}:{alias}")
    return sorted(forms)


def field_label(expression: str) -> str:
    """``encryptionConfig[].provider.keyArn`` → ``provider.keyArn``: short names for the evidence."""
    return ".".join(expression.replace("[]", "").split(".")[-2:])


def flatten_items(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
