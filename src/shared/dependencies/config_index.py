"""AWS Config as the index: one advanced query per recorded key field instead of a call per resource.

When the account's configuration recorder records a catalogued resource type continuously, the
resources of that type that name the key are found with ``SelectResourceConfig``: one query per
(resource type, key field), ``IN`` over every form of the key, all pages. The registry's rows
declare how Config records their type (``Step.config``), so the query set is generated from the
registry, like the IAM grants and the documentation table.

What the index does not answer runs through the type's own API finder, as before:

* types the recorder does not record in this Region, or records only daily;
* types whose Config item lacks one of the key references the finder reads (``ConfigRecord.missing``);
* everything, when the recorder is absent, stopped, failing, or cannot be read (denied);
* the types of a query that fails.

An organization aggregator, when the account can query one, adds resources of *other* accounts that
name the key by ARN (``SelectAggregateResourceConfig``); the account's own resources always come
from its own recorder or its own APIs.

Config records a change within minutes (continuous recording), so a resource created or re-keyed in
the last minutes may not be in the index yet: an index answer is a finding, not proof of absence,
and the alert says how old the index may be.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.dependencies.base import FinderContext, Work, describe_failure
from shared.dependencies.table import ConfigRecord, TableFinder, flatten, key_forms, search
from shared.document import DependencyItem

MAX_EXPRESSION = 4096  # SelectResourceConfig: "Length Constraints: Maximum length of 4096."
PAGE_SIZE = 100  # SelectResourceConfig / SelectAggregateResourceConfig: "Limit ... Maximum value of 100"
SELECTED = (
    "resourceId",
    "resourceName",
    "resourceType",
    "arn",
    "awsRegion",
    "accountId",
    "configurationItemCaptureTime",
    "configurationItemStatus",
    "tags",  # the Name tag, shown beside ids that mean nothing to a person
)
# Items of resources that no longer exist, or that were discovered but are not recorded.
GONE_STATUSES = frozenset({"ResourceDeleted", "ResourceDeletedNotRecorded", "ResourceNotRecorded"})
ALL_SUPPORTED = "ALL_SUPPORTED_RESOURCE_TYPES"
INCLUSION = "INCLUSION_BY_RESOURCE_TYPES"
EXCLUSION = "EXCLUSION_BY_RESOURCE_TYPES"

INDEX_ACTIONS = (
    "config:DescribeConfigurationRecorders",
    "config:DescribeConfigurationRecorderStatus",
    "config:DescribeConfigurationAggregators",
    "config:SelectResourceConfig",
    "config:SelectAggregateResourceConfig",
)


# -- what the recorder records -------------------------------------------------------------------


@dataclass(frozen=True)
class RecordingScope:
    """The customer managed configuration recorder of one Region, as far as the index relies on it."""

    problem: str | None = None  # set: nothing is trusted, and why
    all_supported: bool = False
    included: frozenset[str] = frozenset()
    excluded: frozenset[str] = frozenset()
    frequency: str = "CONTINUOUS"
    overrides: Mapping[str, str] = field(default_factory=dict)  # resource type -> frequency

    @classmethod
    def from_api(
        cls, recorders: Sequence[Mapping[str, Any]], statuses: Sequence[Mapping[str, Any]]
    ) -> RecordingScope:
        """From ``DescribeConfigurationRecorders`` and ``DescribeConfigurationRecorderStatus``.

        Service-linked recorders (they name a ``servicePrincipal``) record for that service only and
        are ignored. The recording group may name all supported types, an inclusion list or an
        exclusion list; the recording mode may override the frequency for some types.
        """
        own = [r for r in recorders if not r.get("servicePrincipal")]
        if not own:
            return cls(problem="AWS Config has no configuration recorder in this Region")
        recorder = own[0]
        status = next((s for s in statuses if s.get("name") == recorder.get("name")), None)
        if status is None or not status.get("recording"):
            return cls(problem="the AWS Config recorder is not recording in this Region")
        if str(status.get("lastStatus", "")).upper() == "FAILURE":
            code = status.get("lastErrorCode") or "unknown error"
            return cls(problem=f"the AWS Config recorder's last recording failed ({code})")
        group = recorder.get("recordingGroup") or {}
        strategy = (group.get("recordingStrategy") or {}).get("useOnly")
        if strategy is None:
            strategy = ALL_SUPPORTED if group.get("allSupported", True) else INCLUSION
        mode = recorder.get("recordingMode") or {}
        overrides: dict[str, str] = {}
        for override in mode.get("recordingModeOverrides") or []:
            for rtype in override.get("resourceTypes") or []:
                overrides[str(rtype)] = str(override.get("recordingFrequency", "CONTINUOUS")).upper()
        return cls(
            all_supported=strategy in (ALL_SUPPORTED, EXCLUSION),
            included=frozenset(group.get("resourceTypes") or []),
            excluded=frozenset((group.get("exclusionByResourceTypes") or {}).get("resourceTypes") or [])
            if strategy == EXCLUSION
            else frozenset(),
            frequency=str(mode.get("recordingFrequency") or "CONTINUOUS").upper(),
            overrides=overrides,
        )

    def frequency_of(self, config_type: str) -> str:
        return self.overrides.get(config_type, self.frequency)

    def refusal(self, config_type: str) -> str | None:
        """Why the index cannot answer for ``config_type`` here; ``None`` when it can."""
        if self.problem:
            return self.problem
        recorded = (self.all_supported and config_type not in self.excluded) or config_type in self.included
        if not recorded:
            return f"AWS Config does not record {config_type} in this Region"
        if self.frequency_of(config_type) != "CONTINUOUS":
            return f"AWS Config records {config_type} daily: its items may be a day old"
        return None


# -- queries -------------------------------------------------------------------------------------


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class Query:
    """One advanced query: resources of one type whose key field is one of the key's forms."""

    finder: str  # the finder it stands in for
    resource_type: str  # as the registry reports it
    record: ConfigRecord
    field: str  # advanced-query property holding the key reference
    expression: str
    aggregator: str | None = None

    @property
    def label(self) -> str:
        parts = [p for p in self.field.split(".") if p not in ("configuration", "supplementaryConfiguration")]
        return ".".join(parts[-2:])


def build_queries(
    finders: Iterable[TableFinder],
    forms: Sequence[str],
    *,
    aggregator: str | None = None,
    region: str | None = None,
    exclude_account: str | None = None,
) -> list[Query]:
    """The queries that stand in for ``finders``: one per (resource type, key field), ``IN`` over
    ``forms``, each expression within Config's 4,096 characters (the forms are split over several
    queries when they do not fit). Separate queries per type keep each query's chain of pages
    short; they run in parallel.

    With ``aggregator``, the queries are for ``SelectAggregateResourceConfig`` and are restricted to
    ``region`` and to accounts other than ``exclude_account``.
    """
    select = "SELECT " + ", ".join(SELECTED)
    queries: list[Query] = []
    for finder in finders:
        for rtype, record in finder.config_records.items():
            for key_field in record.fields:
                scope = f" WHERE resourceType = {_quote(record.resource_type)}"
                if aggregator and region:
                    scope += f" AND awsRegion = {_quote(region)}"
                if aggregator and exclude_account:
                    scope += f" AND NOT accountId = {_quote(exclude_account)}"
                head = f"{select}, {key_field}{scope} AND {key_field} IN ("
                chunk: list[str] = []
                for form in forms:
                    candidate = [*chunk, _quote(form)]
                    if chunk and len(head) + len(", ".join(candidate)) + 1 > MAX_EXPRESSION:
                        queries.append(
                            Query(
                                finder.name,
                                rtype,
                                record,
                                key_field,
                                f"{head}{', '.join(chunk)})",
                                aggregator,
                            )
                        )
                        candidate = [_quote(form)]
                    chunk = candidate
                if chunk:
                    expression = f"{head}{', '.join(chunk)})"
                    if len(expression) > MAX_EXPRESSION:
                        raise ValueError(f"a single key form does not fit a query for {rtype}")
                    queries.append(Query(finder.name, rtype, record, key_field, expression, aggregator))
    return queries


def _values(row: Mapping[str, Any], path: str) -> list[str]:
    """The strings at a dotted advanced-query property of a result row (lists are flattened)."""
    current: list[Any] = [row]
    for part in path.split("."):
        following: list[Any] = []
        for value in current:
            if isinstance(value, list):
                following += [v.get(part) for v in value if isinstance(v, dict)]
            elif isinstance(value, dict):
                following.append(value.get(part))
        current = following
    return [v for v in flatten(current) if v]


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value) if value else None


def _name_tag(row: Mapping[str, Any]) -> str | None:
    """The ``Name`` tag from a Config row's ``tags`` (a list of ``{"key", "value"}``)."""
    tags = row.get("tags")
    if not isinstance(tags, list):
        return None
    for tag in tags:
        if isinstance(tag, Mapping) and tag.get("key") == "Name" and isinstance(tag.get("value"), str):
            return str(tag["value"])
    return None


def row_item(query: Query, row: Mapping[str, Any], ctx: FinderContext, service: str) -> DependencyItem | None:
    """A result row → the dependency it proves, or ``None`` (gone, or the reference is not ours)."""
    if row.get("configurationItemStatus") in GONE_STATUSES:
        return None
    region = str(row.get("awsRegion") or ctx.region)
    account = str(row.get("accountId") or ctx.identity.account)
    matched = [v for v in _values(row, query.field) if ctx.identity.matches(v, region, account)]
    if not matched:
        return None
    name = search(query.record.name, row) or row.get("resourceName") or row.get("resourceId")
    if query.record.name_split and isinstance(name, str):
        name = name.rsplit(query.record.name_split, 1)[-1]
    label = _name_tag(row)
    if label and label != name:
        name = f"{name} ({label})"
    captured = _iso(row.get("configurationItemCaptureTime"))
    where = "AWS Config" if account == ctx.identity.account else f"AWS Config aggregator, account {account}"
    evidence = "; ".join(f"{query.label} = {value}" for value in dict.fromkeys(matched))
    return DependencyItem(
        service=service,
        resource_type=query.resource_type,
        arn=str(row["arn"]) if row.get("arn") else None,
        name=str(name or "?"),
        region=region,
        evidence=f"{evidence} ({where})",
        via="config",
        captured_at=captured,
    )


# -- records for the alert -----------------------------------------------------------------------


@dataclass(frozen=True)
class IndexReport:
    """What the index decided in one Region (one record per Region, plus one per failed query)."""

    region: str
    indexed: tuple[str, ...] = ()  # resource types answered from the index
    fallback: tuple[tuple[str, str], ...] = ()  # (resource type, reason) searched through the API
    frequency: str | None = None
    aggregator: str | None = None
    queries: int = 0
    notes: tuple[str, ...] = ()


# -- the planner ---------------------------------------------------------------------------------


class _Started:
    """Fallback finders already started in one Region (each runs at most once)."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, name: str) -> bool:
        with self._lock:
            if name in self._names:
                return False
            self._names.add(name)
            return True


@dataclass(frozen=True)
class ConfigIndexFinder:
    """Reads the recorder's scope, then queries the index for the types it records continuously
    and starts the API finders of the others. Runs first in each Region; finders Config cannot
    replace are not held back by it (they are started beside it)."""

    candidates: tuple[TableFinder, ...]
    aggregator: str = "auto"  # "auto": an organization aggregator if one covers the Region; "none"; a name
    name: str = "config-index"
    service: str = "config"
    actions: tuple[str, ...] = INDEX_ACTIONS
    resource_types: tuple[str, ...] = ()

    def applies_to(self, region: str) -> bool:
        return True

    def find(self, ctx: FinderContext) -> Iterator[Any]:
        started = _Started()
        client = ctx.client("config")
        try:
            ctx.check_deadline()
            recorders = client.describe_configuration_recorders().get("ConfigurationRecorders") or []
            ctx.check_deadline()
            statuses = (
                client.describe_configuration_recorder_status().get("ConfigurationRecordersStatus") or []
            )
        except (ClientError, BotoCoreError) as exc:
            reason = f"AWS Config not readable: {describe_failure(exc)}"
            here = [f for f in self.candidates if f.applies_to(ctx.region)]
            yield from self._fall_back(ctx, here, reason, started)
            return
        scope = RecordingScope.from_api(recorders, statuses)
        indexed: list[TableFinder] = []
        fallback: list[tuple[str, str]] = []
        for finder in self.candidates:
            if not finder.applies_to(ctx.region):
                continue
            refusals = [
                why
                for why in (scope.refusal(record.resource_type) for record in finder.config_records.values())
                if why
            ]
            if refusals:
                fallback += [(rtype, refusals[0]) for rtype in finder.resource_types]
                if started.claim(finder.name):
                    yield Work(partial(finder.find, ctx), owner=finder.name)
            else:
                indexed.append(finder)
        forms = key_forms(ctx.identity, ctx.region)
        queries = build_queries(indexed, forms)
        aggregator = self._aggregator(ctx, client) if indexed else None
        if aggregator:
            arns = sorted(ctx.identity.all_key_arns)
            queries += build_queries(
                indexed, arns, aggregator=aggregator, region=ctx.region, exclude_account=ctx.identity.account
            )
        yield IndexReport(
            region=ctx.region,
            indexed=tuple(t for f in indexed for t in f.resource_types),
            fallback=tuple(fallback),
            frequency=None if scope.problem else scope.frequency,
            aggregator=aggregator,
            queries=len(queries),
        )
        by_name = {finder.name: finder for finder in self.candidates}
        for query in queries:
            yield Work(partial(self._run, ctx, query, by_name[query.finder], started), owner=query.finder)

    def _aggregator(self, ctx: FinderContext, client: Any) -> str | None:
        if self.aggregator == "none":
            return None
        if self.aggregator != "auto":
            return self.aggregator
        try:
            ctx.check_deadline()
            found = client.describe_configuration_aggregators().get("ConfigurationAggregators") or []
        except (ClientError, BotoCoreError):
            return None  # no aggregator to use: the account's own resources are still indexed
        for aggregator in found:
            source = aggregator.get("OrganizationAggregationSource") or {}
            if source and (source.get("AllAwsRegions") or ctx.region in (source.get("AwsRegions") or [])):
                return str(aggregator["ConfigurationAggregatorName"])
        return None

    def _fall_back(
        self, ctx: FinderContext, finders: Iterable[TableFinder], reason: str, started: _Started
    ) -> Iterator[Any]:
        finders = list(finders)
        yield IndexReport(
            region=ctx.region, fallback=tuple((t, reason) for f in finders for t in f.resource_types)
        )
        for finder in finders:
            if started.claim(finder.name):
                yield Work(partial(finder.find, ctx), owner=finder.name)

    def _run(self, ctx: FinderContext, query: Query, finder: TableFinder, started: _Started) -> Iterator[Any]:
        """All pages of one query; if Config refuses it, the finder's API search takes over (the
        account's own resources only: an aggregator query that fails just adds nothing)."""
        operation = "select_aggregate_resource_config" if query.aggregator else "select_resource_config"
        params: dict[str, Any] = {"Expression": query.expression}
        if query.aggregator:
            params["ConfigurationAggregatorName"] = query.aggregator
        service = finder.service
        try:
            for page in ctx.paginate("config", operation, page_size=PAGE_SIZE, **params):
                for text in page.get("Results") or []:
                    try:
                        row = json.loads(text)
                    except ValueError:
                        continue
                    found = row_item(query, row, ctx, service)
                    if found is not None:
                        yield found
        except (ClientError, BotoCoreError) as exc:
            if query.aggregator:
                note = f"aggregator query for {query.resource_type} failed: {describe_failure(exc)}"
                yield IndexReport(region=ctx.region, notes=(note,))
                return
            reason = f"AWS Config query failed: {describe_failure(exc)}"
            yield from self._fall_back(ctx, [finder], reason, started)
