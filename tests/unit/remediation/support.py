"""Helpers shared by the remediation and lifecycle tests: a moto world wired to a real responder."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3

from keyguard_cli.demo.world import World
from shared.approval_check import ApprovalChecker
from shared.aws import ClientFactory
from shared.config import Settings
from shared.document import DependenciesSection, DependencyItem
from shared.history import CallLookup, TrailCall
from shared.journal import DynamoJournal, Journal, MemoryJournal
from shared.keyref import KeyIdentity
from shared.models import CloudTrailRecord
from shared.policy import Transition
from shared.remediation import Remediator
from shared.responder import Responder

TABLE = "kms-keyguard-idempotency"
OWN_ROLE = "arn:aws:iam::123456789012:role/kms-keyguard-KeyEventsRole-1A2B3C"


def dependency(name: str, evidence: str = "KmsKeyId names the key") -> DependencyItem:
    return DependencyItem(
        service="secretsmanager",
        resource_type="AWS::SecretsManager::Secret",
        arn=f"arn:aws:secretsmanager:us-east-1:123456789012:secret:{name}",
        name=name,
        region="us-east-1",
        evidence=evidence,
    )


@dataclass
class FakeDiscoverer:
    """Discovery without the finders: ``total`` items while the key has aliases, ``after`` without."""

    total: int = 0
    complete: bool = True
    after_deletion: int = 0
    calls: list[KeyIdentity] = field(default_factory=list)

    def __call__(
        self, identity: KeyIdentity, clients: ClientFactory, *, deadline: float, max_workers: int = 16
    ) -> DependenciesSection:
        self.calls.append(identity)
        count = self.total if identity.aliases else self.after_deletion
        items = [dependency(f"app-{i}") for i in range(count)]
        return DependenciesSection(
            complete=self.complete,
            total=count,
            counts={"AWS::SecretsManager::Secret": count} if count else {},
            items=items,
        )


@dataclass
class FakeHistory:
    """CloudTrail history stand-in (moto does not implement LookupEvents)."""

    transitions_: list[Transition] = field(default_factory=list)
    unavailable: str | None = None

    def transitions(
        self, key_arn: str, region: str, before: datetime, deadline: float | None = None
    ) -> tuple[list[Transition], str | None]:
        return list(self.transitions_), self.unavailable


@dataclass
class FakeCalls:
    """CloudTrail call lookup stand-in (moto does not implement LookupEvents): answers from
    ``records``, newest first, as ``history.CloudTrailCalls`` does; ``asked`` lists the names."""

    records: list[CloudTrailRecord] = field(default_factory=list)
    problem: str = "none among 0 records (no CloudTrail in this test)"
    asked: list[str] = field(default_factory=list)

    def newest(
        self,
        name: str,
        key_arn: str,
        region: str,
        since: datetime,
        deadline: float,
        wanted: Callable[[CloudTrailRecord], bool] = lambda record: True,
    ) -> tuple[TrailCall | None, str]:
        self.asked.append(name)
        dated = [r for r in self.records if r.event_time is not None]
        for record in sorted(dated, key=lambda r: r.event_time or since, reverse=True):
            if record.event_name == name and wanted(record) and (record.event_time or since) >= since:
                return TrailCall(name, record.event_time or since, record), "found"
        return None, self.problem


def valid_until(days: int = 10) -> str:
    """An approval expiry ``days`` from today (UTC), within the default ApprovalMaxDays."""
    return (datetime.now(UTC).date() + timedelta(days=days)).isoformat()


def tagged_record(world: World, sample: str, value: str, at: datetime) -> CloudTrailRecord:
    """The sample's TagResource of the approval tag (``events/<sample>.json``) on this world's key,
    setting ``value`` at ``at``."""
    detail = world.event(sample)["detail"]
    detail["requestParameters"]["tags"][0]["tagValue"] = value
    detail["eventTime"] = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return CloudTrailRecord.model_validate(detail)


def at(event: dict[str, Any], when: datetime) -> dict[str, Any]:
    """The same event, made at ``when``."""
    changed = copy.deepcopy(event)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    changed["time"] = changed["detail"]["eventTime"] = stamp
    return changed


def today() -> date:
    return datetime.now(UTC).date()


def create_table(region: str = "us-east-1", name: str = TABLE) -> str:
    ddb = boto3.client("dynamodb", region_name=region)
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"}
    )
    return name


def make_responder(
    world: World,
    *,
    discoverer: Any = None,
    history: Any = None,
    journal: Journal | None = None,
    publisher: Any = None,
    now: Callable[[], datetime] | None = None,
    calls: CallLookup | None = None,
    **settings: Any,
) -> Responder:
    config = Settings(alert_topic_arn=world.topic_arn, **settings)
    clients = ClientFactory()
    approvals = ApprovalChecker(config, clients, calls=calls or FakeCalls(), now=now)
    if journal is None:
        table = config.idempotency_table_name
        journal = DynamoJournal(clients, table) if table else MemoryJournal()
    remediator = None
    if config.remediation_mode.value != "off":
        history = history or FakeHistory()
        remediator = Remediator(
            config, clients, journal=journal, history=history, now=now, approvals=approvals
        )
    return Responder(
        config,
        clients,
        discoverer=discoverer or FakeDiscoverer(),
        remediator=remediator,
        journal=journal,
        publisher=publisher,
        now=now,
        approvals=approvals,
    )


def documents(world: World) -> list[dict[str, Any]]:
    """Every alert document waiting in the subscriber queue (the SQS protocol's JSON document)."""
    return [json.loads(envelope["Message"]) for envelope in world.read_alerts()]


def key_state(world: World) -> str:
    kms = boto3.client("kms", region_name=world.region)
    return str(kms.describe_key(KeyId=world.key_id)["KeyMetadata"]["KeyState"])


def tag_key(world: World, tags: dict[str, str]) -> None:
    if tags:
        boto3.client("kms", region_name=world.region).tag_resource(
            KeyId=world.key_id, Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()]
        )


def untag_protect(world: World) -> None:
    boto3.client("kms", region_name=world.region).untag_resource(
        KeyId=world.key_id, TagKeys=["keyguard:protect"]
    )


def by_own_role(event: dict[str, Any], role_arn: str = OWN_ROLE) -> dict[str, Any]:
    """The same event, as if the function's own role had made the call."""
    changed = copy.deepcopy(event)
    name = role_arn.rsplit("/", 1)[-1]
    identity = changed["detail"]["userIdentity"]
    identity["arn"] = f"arn:aws:sts::123456789012:assumed-role/{name}/kms-keyguard"
    identity["sessionContext"]["sessionIssuer"].update({"arn": role_arn, "userName": name})
    return changed


def with_event_id(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed["detail"]["eventID"] = event_id
    changed["id"] = f"envelope-{event_id}"
    return changed


def count_calls(responder: Responder, region: str, operation: str) -> list[str]:
    """Record each call of a KMS operation made through the responder's clients."""
    calls: list[str] = []
    client = responder.clients.client("kms", region)
    client.meta.events.register(f"before-call.kms.{operation}", lambda **kwargs: calls.append(operation))
    return calls
