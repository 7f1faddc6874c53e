"""Evidence that the key is in use, beyond resource configuration: grants, last usage, CloudTrail.

These are finders like the others (they run on the same pool, under the same deadline, and are
reported unchecked the same way), but they yield grants and usage records instead of resources.
``summarise_usage`` turns the records into the alert's ``UsageEvidence``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from shared.dependencies.base import DeadlineExceeded, FinderContext
from shared.dependencies.limits import CLOUDTRAIL_LOOKUP_EVENTS
from shared.document import GrantItem, UsageEvidence, UsagePrincipal

# Encryption-context keys that name the resource a service grant is for, most specific first.
RESOURCE_CONTEXT_KEYS = (
    "aws:ebs:id",
    "aws:rds:db-id",
    "aws:rds:dbc-id",
    "aws:secretsmanager:arn",
    "aws:lambda:FunctionArn",
    "aws:dynamodb:tableName",
    "aws:s3:arn",
    "aws:logs:arn",
    "aws:sqs:arn",
    "aws:sns:topicArn",
    "aws:kinesis:arn",
    "aws:elasticfilesystem:id",
    "aws:fsx:fs-id",
    "aws:redshift:arn",
    "aws:backup:backup-vault",
    "aws:workspaces:arn",
    "aws:es:id",
)
_CONTEXT_NOISE = frozenset({"subscriberid", "accountid", "account-id"})
_SERVICE_PRINCIPAL = re.compile(r"(?:^|/)(?P<svc>[a-z0-9-]+)(?:\.[a-z0-9-]+)?\.amazonaws\.com(?:$|/)")

CRYPTO_OPERATIONS = frozenset(
    {
        "Encrypt",
        "Decrypt",
        "ReEncrypt",
        "ReEncryptFrom",
        "ReEncryptTo",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
    }
)
MAX_CONTEXTS_PER_PRINCIPAL = 10

LIST_GRANTS_LIMIT = 100


def _keys_in(ctx: FinderContext) -> list[str]:
    return [arn for arn in sorted(ctx.identity.all_key_arns) if arn.split(":")[3] == ctx.region]


# -- grants --------------------------------------------------------------------------------------


def service_from_principal(principal: str | None) -> str | None:
    """``rds.eu-west-1.amazonaws.com`` or ``.../aws-service-role/rds.amazonaws.com/...`` → ``rds``."""
    if not principal:
        return None
    match = _SERVICE_PRINCIPAL.search(principal)
    return match["svc"] if match else None


def grant_item(grant: dict[str, Any]) -> GrantItem:
    constraints = grant.get("Constraints") or {}
    context = {
        **(constraints.get("EncryptionContextSubset") or {}),
        **(constraints.get("EncryptionContextEquals") or {}),
    }
    service, resource = None, None
    aws_keys = [k for k in context if k.startswith("aws:") and k.count(":") >= 2]
    preferred = [k for k in RESOURCE_CONTEXT_KEYS if k in context]
    fallback = sorted(k for k in aws_keys if k.rsplit(":", 1)[-1].lower() not in _CONTEXT_NOISE)
    chosen = (preferred or fallback or sorted(aws_keys) or [None])[0]
    if chosen:
        service = chosen.split(":")[1]
        resource = str(context[chosen])
    grantee = grant.get("GranteePrincipal")
    retiring = grant.get("RetiringPrincipal")
    service = service or service_from_principal(grantee) or service_from_principal(retiring)
    return GrantItem(
        grant_id=str(grant.get("GrantId")),
        grantee_principal=grantee,
        retiring_principal=retiring,
        operations=sorted(grant.get("Operations") or []),
        service=service,
        resource=resource,
        name=grant.get("Name") or None,
    )


@dataclass(frozen=True)
class GrantsFinder:
    """Grants on the key (and on each multi-Region replica, in its own region)."""

    name: str = "kms-grants"
    service: str = "kms"
    actions: tuple[str, ...] = ("kms:ListGrants",)
    resource_types: tuple[str, ...] = ()

    def applies_to(self, region: str) -> bool:
        return True

    def find(self, ctx: FinderContext) -> Iterator[GrantItem]:
        for arn in _keys_in(ctx):
            # ListGrants takes Limit 1-100 (API_ListGrants.html, "Limit ... Valid Range: Minimum
            # value of 1. Maximum value of 100"); a larger page size is rejected by KMS.
            for page in ctx.paginate("kms", "list_grants", page_size=LIST_GRANTS_LIMIT, KeyId=arn):
                for grant in page.get("Grants") or []:
                    yield grant_item(grant)


# -- last usage ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LastUsage:
    key_arn: str
    timestamp: datetime | None
    operation: str | None
    tracking_start: datetime | None
    key_created: datetime | None


@dataclass(frozen=True)
class LastUsageFinder:
    """KMS ``GetKeyLastUsage``: the last successful cryptographic operation, per key."""

    name: str = "kms-last-usage"
    evidence_only: ClassVar[bool] = True  # when it last worked, not what uses the key
    service: str = "kms"
    actions: tuple[str, ...] = ("kms:GetKeyLastUsage",)
    resource_types: tuple[str, ...] = ()

    def applies_to(self, region: str) -> bool:
        return True

    def find(self, ctx: FinderContext) -> Iterator[LastUsage]:
        for arn in _keys_in(ctx):
            ctx.check_deadline()
            answer = ctx.client("kms").get_key_last_usage(KeyId=arn)
            last = answer.get("KeyLastUsage") or {}
            yield LastUsage(
                arn,
                last.get("Timestamp"),
                last.get("Operation"),
                answer.get("TrackingStartDate"),
                answer.get("KeyCreationDate"),
            )


# -- CloudTrail ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrailEvent:
    principal: str
    operation: str
    time: datetime | None
    invoked_by: str | None = None
    context: tuple[str, ...] = ()
    error_code: str | None = None


@dataclass(frozen=True)
class EventsExamined:
    """How many CloudTrail events one page held (cryptographic or not)."""

    count: int


@dataclass(frozen=True)
class EventsTruncated:
    """The CloudTrail lookup stopped at ``max_events``: the principals are a sample."""

    region: str
    limit: int


@dataclass(frozen=True)
class EventsCutShort:
    """The CloudTrail lookup ran out of its time: what it read is kept, the principals are a sample."""

    region: str
    seconds: float
    examined: int


def trail_event(event: dict[str, Any]) -> TrailEvent | None:
    """One LookupEvents record → a ``TrailEvent``; ``None`` for non-cryptographic calls."""
    name = event.get("EventName")
    if name not in CRYPTO_OPERATIONS:
        return None
    try:
        record = json.loads(event.get("CloudTrailEvent") or "{}")
    except ValueError:
        record = {}
    identity = record.get("userIdentity") or {}
    issuer = ((identity.get("sessionContext") or {}).get("sessionIssuer") or {}).get("arn")
    invoked_by = identity.get("invokedBy")
    principal = (
        issuer
        or identity.get("arn")
        or invoked_by
        or identity.get("principalId")
        or event.get("Username")
        or identity.get("type")
        or "unknown"
    )
    request = record.get("requestParameters") or {}
    context = request.get("encryptionContext") or {}
    pairs = tuple(sorted(f"{k}={v}" for k, v in context.items())) if isinstance(context, dict) else ()
    return TrailEvent(
        principal=str(principal),
        operation=str(name),
        time=event.get("EventTime"),
        invoked_by=invoked_by,
        context=pairs,
        error_code=record.get("errorCode"),
    )


@dataclass(frozen=True)
class CloudTrailUsageFinder:
    """CloudTrail ``LookupEvents`` for the key over the last ``lookback_days``.

    Usage evidence is not on the critical path: the lookup has its own small budget
    (``budget_seconds``, within the discovery deadline), its pages are paced within LookupEvents'
    documented 2 calls a second, and when its time runs out it stops and keeps what it read (each
    page's events are handed to the engine as they arrive). A busy key's history is therefore a
    sample, and the alert says so; the resource search never waits for it.
    """

    lookback_days: int = 7
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    max_events: int = 5000
    budget_seconds: float | None = 5.0
    name: str = "cloudtrail-key-usage"
    evidence_only: ClassVar[bool] = True  # who called it lately, not what uses the key
    service: str = "cloudtrail"
    actions: tuple[str, ...] = ("cloudtrail:LookupEvents",)
    resource_types: tuple[str, ...] = ()

    def applies_to(self, region: str) -> bool:
        return True

    def find(
        self, ctx: FinderContext
    ) -> Iterator[TrailEvent | EventsExamined | EventsTruncated | EventsCutShort]:
        began = ctx.clock()
        own = ctx.with_deadline(began + self.budget_seconds) if self.budget_seconds else ctx
        end = self.now()
        start = end - timedelta(days=self.lookback_days)
        examined = 0
        try:
            for arn in _keys_in(ctx):
                read = 0
                pages = own.paginate(
                    "cloudtrail",
                    "lookup_events",
                    page_size=50,
                    limit=CLOUDTRAIL_LOOKUP_EVENTS,
                    StartTime=start,
                    EndTime=end,
                    LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": arn}],
                )
                for page in pages:
                    events = page.get("Events") or []
                    read += len(events)
                    examined += len(events)
                    yield EventsExamined(len(events))
                    for event in events:
                        parsed = trail_event(event)
                        if parsed is not None:
                            yield parsed
                    if read >= self.max_events:
                        yield EventsTruncated(ctx.region, self.max_events)
                        break
        except DeadlineExceeded:
            yield EventsCutShort(ctx.region, round(own.deadline - began, 1), examined)


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _last_usage_note(records: list[LastUsage], used: LastUsage | None) -> str:
    lag = "KMS records last use with a delay of up to an hour"
    if used is not None:
        return f"{lag}; keys of a multi-Region set are tracked separately" if len(records) > 1 else lag
    starts = [r.tracking_start for r in records if r.tracking_start]
    start = _iso(min(starts)) if starts else None
    created_after = all(
        r.key_created and r.tracking_start and r.key_created >= r.tracking_start for r in records
    )
    if created_after:
        return (
            f"no successful cryptographic use recorded since the key was created; {lag}, and an empty "
            "answer does not prove the key unused"
        )
    since = f" since tracking began on {start}" if start else " since tracking began (April 2026)"
    return (
        f"no successful cryptographic use recorded{since}; the key may have been used before then, "
        f"{lag}: an empty answer does not prove the key unused, check CloudTrail"
    )


def summarise_usage(
    results: Iterable[Any], lookback_days: int | None, *, max_principals: int = 50
) -> UsageEvidence | None:
    """Fold last-usage and CloudTrail records into one ``UsageEvidence`` (``None`` if nothing ran)."""
    last: list[LastUsage] = []
    examined = 0
    truncated: list[EventsTruncated] = []
    cut: list[EventsCutShort] = []
    by_principal: dict[str, dict[str, Any]] = {}
    seen_any = False
    for result in results:
        if isinstance(result, LastUsage):
            last.append(result)
        elif isinstance(result, EventsTruncated):
            truncated.append(result)
        elif isinstance(result, EventsCutShort):
            seen_any = True
            cut.append(result)
        elif isinstance(result, EventsExamined):
            seen_any = True
            examined += result.count
        elif isinstance(result, TrailEvent):
            entry = by_principal.setdefault(
                result.principal,
                {"calls": 0, "operations": set(), "invoked_by": set(), "contexts": [], "last": None},
            )
            entry["calls"] += 1
            entry["operations"].add(result.operation)
            if result.invoked_by:
                entry["invoked_by"].add(result.invoked_by)
            for pair in result.context:
                if pair not in entry["contexts"] and len(entry["contexts"]) < MAX_CONTEXTS_PER_PRINCIPAL:
                    entry["contexts"].append(pair)
            if result.time is not None and (entry["last"] is None or result.time > entry["last"]):
                entry["last"] = result.time
    if not last and not seen_any:
        return None
    dated = [r for r in last if r.timestamp is not None]
    used = max(dated, key=lambda r: _iso(r.timestamp) or "", default=None)
    notes = [_last_usage_note(last, used)] if last else []
    for short in truncated:
        notes.append(f"CloudTrail in {short.region}: only the latest {short.limit} events were examined")
    for stop in cut:
        notes.append(
            f"CloudTrail in {stop.region}: {stop.examined} events read in the {stop.seconds:g} s allowed "
            f"for usage evidence (LookupEvents allows 2 calls a second); the principals are from those"
        )
    principals = [
        UsagePrincipal(
            principal=name,
            calls=e["calls"],
            operations=sorted(e["operations"]),
            invoked_by=sorted(e["invoked_by"]),
            encryption_context=e["contexts"],
            last_seen=_iso(e["last"]),
        )
        for name, e in by_principal.items()
    ]
    principals.sort(key=lambda p: (-p.calls, p.principal))
    return UsageEvidence(
        last_usage=_iso(used.timestamp) if used else None,
        last_usage_operation=used.operation if used else None,
        last_usage_note="; ".join(notes) or None,
        lookback_days=lookback_days if seen_any else None,
        events_examined=examined,
        principals=principals[:max_principals],
    )
