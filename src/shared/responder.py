"""The responder: event -> parse -> resolve key -> enrich -> find dependencies -> decide -> act -> notify.

Each step is delegated to one collaborator, injected in the constructor so tests (and the CLI) can
swap any of them. Only a failed delivery propagates: everything else degrades the alert.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from shared.approval import approval_note, parse_approval
from shared.aws import ClientFactory, error_code
from shared.config import RemediationMode, Settings
from shared.dependencies import discover
from shared.document import (
    ActorSection,
    AlertDocument,
    DependenciesSection,
    DependencyItem,
    EventSection,
    KeySection,
    RemediationSection,
    Severity,
    UncheckedFinder,
)
from shared.idempotency import IdempotentRunner
from shared.journal import DynamoJournal, Journal, MemoryJournal
from shared.key_inventory import KeyInventory, KeySnapshot
from shared.keyref import KeyIdentity, parse_key_reference
from shared.lockout import PolicyVerdict, cancel_access
from shared.models import (
    CLOUDTRAIL_DETAIL_TYPE,
    KEY_DELETION_DETAIL_TYPE,
    CloudTrailRecord,
    EventBridgeEvent,
    KeyDeletionDetail,
    event_window,
)
from shared.observability import logger, metrics
from shared.policy import (
    KEY_DELETED,
    PENDING_STATES,
    RESTORING_EVENTS,
    UNUSABLE_STATES,
    SeverityFacts,
    Transition,
    is_tripwire,
    severity_for,
    transition_state,
)
from shared.remediation import Remediator, danger_averted

HANDLED_EVENTS = frozenset({"DisableKey", "ScheduleKeyDeletion"})
LIFECYCLE_EVENTS = frozenset({"CancelKeyDeletion", "EnableKey", "DeleteImportedKeyMaterial", "PutKeyPolicy"})
TRIPWIRE_WINDOW_SECONDS = 3600  # at most one tripwire alert per key per hour


class UnprocessableEvent(ValueError):
    """The event is not one the responder understands; it is reported, not crashed on."""


class Publisher(Protocol):
    def publish(self, doc: AlertDocument) -> str: ...


class Discoverer(Protocol):
    def __call__(
        self, identity: KeyIdentity, clients: ClientFactory, *, deadline: float, max_workers: int = ...
    ) -> DependenciesSection: ...


class RemediatorProtocol(Protocol):
    def remediate(
        self, record: CloudTrailRecord, snapshot: KeySnapshot, dependencies: DependenciesSection
    ) -> RemediationSection: ...


class NoRemediation:
    """Remediation switched off: say so in the alert."""

    def __init__(self, mode: str = "off") -> None:
        self._mode = mode

    def remediate(
        self, record: CloudTrailRecord, snapshot: KeySnapshot, dependencies: DependenciesSection
    ) -> RemediationSection:
        return RemediationSection(
            mode="off", action="none", outcome="remediation is off", resulting_state=snapshot.state
        )


@dataclass(frozen=True)
class Evaluation:
    """An assessed event: the document, and whether (and why not) it is published."""

    doc: AlertDocument
    publish: bool = True
    skip_reason: str | None = None
    marker: str | None = None  # a claimed coalescing marker, released if publishing fails


@dataclass(frozen=True)
class Receipt:
    """What the handler returns: small, and enough to correlate with logs and the alert."""

    alert_id: str
    kind: str
    severity: str
    key_arn: str | None
    message_id: str | None
    dependencies: int
    remediation: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_record(event: Mapping[str, Any]) -> CloudTrailRecord:
    """The CloudTrail record inside an EventBridge envelope (or a bare record, as replays send)."""
    if not isinstance(event, Mapping):
        raise UnprocessableEvent(f"event is a {type(event).__name__}, not an object")
    try:
        if "detail" not in event and "eventName" in event:
            return CloudTrailRecord.model_validate(event)
        envelope = EventBridgeEvent.model_validate(event)
        if envelope.detail_type != CLOUDTRAIL_DETAIL_TYPE:
            raise UnprocessableEvent(f"unsupported detail-type {envelope.detail_type!r}")
        record = CloudTrailRecord.model_validate(envelope.detail)
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in err["loc"]) or "event" for err in exc.errors()[:5])
        raise UnprocessableEvent(f"malformed event: invalid or missing {fields}") from None
    if record.event_source not in (None, "kms.amazonaws.com"):
        raise UnprocessableEvent(f"not a KMS event (eventSource {record.event_source!r})")
    if record.aws_region is None and isinstance(event.get("region"), str):
        record = record.model_copy(update={"aws_region": event["region"]})
    return record


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _principal(record: CloudTrailRecord) -> str | None:
    ident = record.user_identity
    issuer = ident.session_context.session_issuer if ident.session_context else None
    if ident.type == "AssumedRole":
        name = (issuer.user_name if issuer else None) or (ident.arn or "").split("/")[1:2]
        return f"role/{name[0] if isinstance(name, list) and name else name}" if name else None
    if ident.type == "IAMUser":
        return f"user/{ident.user_name or (ident.arn or '').rsplit('/', 1)[-1]}"
    if ident.type == "Root":
        return "root"
    if ident.type == "FederatedUser":
        return f"federated-user/{ident.session_name or ident.principal_id}"
    if ident.type == "AWSService":
        return ident.invoked_by
    if ident.type == "AWSAccount":
        return f"account/{ident.account_id}"
    return ident.arn or ident.principal_id


def actor_section(record: CloudTrailRecord, key_account: str | None) -> ActorSection:
    ident = record.user_identity
    attributes = ident.session_context.attributes if ident.session_context else None
    account = ident.account_id
    return ActorSection(
        type=ident.type,
        arn=ident.arn,
        account=account,
        principal=_principal(record),
        session_name=ident.session_name,
        invoked_by=ident.invoked_by,
        source_ip=record.source_ip_address,
        user_agent=record.user_agent,
        via_console=record.via_console,
        mfa=attributes.mfa_authenticated if attributes else None,
        is_root=ident.type == "Root",
        cross_account=bool(account and key_account and account != key_account),
    )


def next_steps(
    event_name: str, failed: bool, key_id: str | None, region: str | None, state: str | None
) -> list[str]:
    """Exact commands for this key and region, in the order an engineer runs them."""
    target = f"--key-id {key_id} --region {region}" if key_id and region else None
    steps: list[str] = []
    if failed:
        steps.append("No change was made. Check whether the caller should hold this permission.")
        return steps
    if (target and state in ("PendingDeletion", "PendingReplicaDeletion")) or (
        target and event_name == "ScheduleKeyDeletion" and state is None
    ):
        steps.append(f"To keep the key: aws kms cancel-key-deletion {target}")
        steps.append(f"Then re-enable it (cancelling leaves it Disabled): aws kms enable-key {target}")
    elif target and state == "Disabled":
        steps.append(f"To restore the key: aws kms enable-key {target}")
    steps.append(
        "Check the dependencies listed before approving the change; an approved deletion "
        "is recorded by tagging the key keyguard:allow-deletion=<change reference>."
    )
    return steps


class Responder:
    """Orchestrates one event into one alert; returns a ``Receipt``."""

    def __init__(
        self,
        settings: Settings,
        clients: ClientFactory | None = None,
        *,
        inventory: KeyInventory | None = None,
        publisher: Publisher | None = None,
        discoverer: Discoverer | None = None,
        remediator: RemediatorProtocol | None = None,
        now: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        journal: Journal | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients or ClientFactory()
        self._now = now or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self.inventory = inventory or KeyInventory(self.clients, clock=self._now)
        self._publisher = publisher
        self._idempotency: IdempotentRunner | None = None
        self.discoverer: Discoverer = discoverer or discover
        if journal is None:
            table = settings.idempotency_table_name
            journal = DynamoJournal(self.clients, table) if table else MemoryJournal()
        self.journal: Journal = journal
        if remediator is None:
            remediator = (
                NoRemediation()
                if settings.remediation_mode is RemediationMode.OFF
                else Remediator(settings, self.clients, journal=self.journal, now=self._now)
            )
        self.remediator: RemediatorProtocol = remediator

    @property
    def idempotency(self) -> IdempotentRunner | None:
        """Exactly-once runner keyed on the event id; ``None`` when no table is configured."""
        table = self.settings.idempotency_table_name
        if table is None:
            return None
        if self._idempotency is None:
            self._idempotency = IdempotentRunner(table, self.clients.client("dynamodb"))
        return self._idempotency

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            from shared.alerting import SnsPublisher

            self._publisher = SnsPublisher.for_topic(self.clients, self.settings.alert_topic_arn)
        return self._publisher

    # ----- entry points --------------------------------------------------------------------
    def handle(self, event: Mapping[str, Any], remaining_seconds: float | None = None) -> Receipt:
        """Assess and publish. Raises ``AlertDeliveryError`` only when publishing fails."""
        evaluation = self._evaluate(event, remaining_seconds, claim=True)
        doc = evaluation.doc
        if not evaluation.publish:
            metrics.add_metric(name="AlertSuppressed", unit="Count", value=1)
            logger.info(
                "alert not published",
                alert_id=doc.alert_id,
                kind=doc.kind,
                reason=evaluation.skip_reason,
                key_arn=doc.key.arn,
            )
            return self._receipt(doc, None)
        try:
            message_id = self.publisher.publish(doc)
        except Exception:
            # Not recorded as sent: the retry must find the coalescing marker free again.
            if evaluation.marker:
                self.journal.release(evaluation.marker)
            raise
        metrics.add_metric(name=f"Alert{doc.severity.value.capitalize()}", unit="Count", value=1)
        logger.info(
            "alert published",
            alert_id=doc.alert_id,
            severity=doc.severity.value,
            kind=doc.kind,
            message_id=message_id,
            key_arn=doc.key.arn,
        )
        return self._receipt(doc, message_id)

    @staticmethod
    def _receipt(doc: AlertDocument, message_id: str | None) -> Receipt:
        return Receipt(
            alert_id=doc.alert_id,
            kind=doc.kind,
            severity=doc.severity.value,
            key_arn=doc.key.arn,
            message_id=message_id,
            dependencies=doc.dependencies.total,
            remediation=doc.remediation.outcome,
        )

    def assess(self, event: Mapping[str, Any], remaining_seconds: float | None = None) -> AlertDocument:
        """Build the alert document for an event without publishing it."""
        return self._evaluate(event, remaining_seconds, claim=False).doc

    def _evaluate(
        self, event: Mapping[str, Any], remaining_seconds: float | None, *, claim: bool
    ) -> Evaluation:
        started = self._monotonic()
        if isinstance(event, Mapping) and event.get("detail-type") == KEY_DELETION_DETAIL_TYPE:
            try:
                return Evaluation(self._deleted_alert(event, started, remaining_seconds))
            except UnprocessableEvent as exc:
                logger.error("unprocessable event", reason=str(exc))
                metrics.add_metric(name="UnprocessableEvent", unit="Count", value=1)
                return Evaluation(self._invalid_event_alert(event, str(exc)))
        try:
            record = parse_record(event)
        except UnprocessableEvent as exc:
            logger.error("unprocessable event", reason=str(exc))
            metrics.add_metric(name="UnprocessableEvent", unit="Count", value=1)
            return Evaluation(self._invalid_event_alert(event, str(exc)))
        return self._assess_record(record, started, remaining_seconds, claim=claim)

    # ----- the main path -------------------------------------------------------------------
    def _assess_record(
        self,
        record: CloudTrailRecord,
        started: float,
        remaining_seconds: float | None,
        *,
        claim: bool = False,
    ) -> Evaluation:
        now = self._now()
        region = record.aws_region or self.clients.default_region or "us-east-1"
        key_ref, origin, _ = record.resolve_key_arn()
        notes: list[str] = []
        name = record.event_name
        if name not in HANDLED_EVENTS and name not in LIFECYCLE_EVENTS and not record.failed:
            notes.append(f"{name} is not an event this responder acts on; reported as seen.")
        if key_ref is None:
            notes.append("The event names no key that could be resolved.")
            snapshot = KeySnapshot(reference=record.requested_key or "", region=region)
        else:
            region = key_ref.split(":")[3] or region
            snapshot = self.inventory.read(key_ref, region)
        notes.extend(snapshot.notes())
        key_arn = snapshot.arn or key_ref
        self._journal_transition(record, key_arn)

        tripwire = snapshot.readable and is_tripwire(name, record.error_code, snapshot.state)
        resolved = name in RESTORING_EVENTS and not record.failed
        publish, skip_reason, marker = True, None, None
        if record.error_code == "KMSInvalidStateException" and name not in HANDLED_EVENTS and not tripwire:
            publish, skip_reason = (
                False,
                f"invalid-state failure, but the key is {snapshot.state or 'unreadable'}",
            )
        coalesced = False
        if tripwire and claim and key_arn:
            marker = f"tripwire#{key_arn}"
            if not self.journal.claim(marker, TRIPWIRE_WINDOW_SECONDS, now):
                coalesced, marker = True, None
                publish, skip_reason = False, "tripwire coalesced: one alert per key per hour"
                metrics.add_metric(name="TripwireCoalesced", unit="Count", value=1)
                logger.info("tripwire coalesced", key_arn=key_arn, event_name=name, event_id=record.event_id)

        policy_verdict: PolicyVerdict | None = None
        if name == "PutKeyPolicy" and not record.failed and snapshot.readable:
            if snapshot.state in UNUSABLE_STATES:
                policy_verdict = self._policy_verdict(record, snapshot)
                notes.append(f"Key policy check: {policy_verdict.reason}.")
            else:
                publish, skip_reason = False, f"key policy changed on a {snapshot.state} key"

        if resolved or coalesced or not publish:
            reason = "a follow-up notice" if resolved else "the alert is not published"
            dependencies = DependenciesSection(
                complete=False,
                total=0,
                unchecked=[UncheckedFinder(finder="all", reason=f"not searched: {reason}")],
            )
        else:
            dependencies = self._dependencies(snapshot, started, remaining_seconds)
            if (
                snapshot.readable
                and snapshot.arn
                and snapshot.is_customer_managed
                and dependencies.unchecked
                != [
                    UncheckedFinder(
                        finder="all", reason="not searched: no time left before the Lambda timeout"
                    )
                ]
            ):
                self.journal.record_dependencies(
                    snapshot.arn, dependencies.items, dependencies.complete, dependencies.total, now
                )
        if record.failed and not tripwire:
            remediation = RemediationSection(
                mode=self.settings.remediation_mode.value,
                action="none",
                outcome="not needed: the call failed",
                resulting_state=snapshot.state,
            )
        elif resolved or coalesced or not publish:
            remediation = RemediationSection(
                mode=self.settings.remediation_mode.value,
                action="none",
                outcome="not needed: follow-up event"
                if resolved
                else "not attempted: the alert is not published",
                resulting_state=snapshot.state,
            )
        else:
            remediation = self.remediator.remediate(record, snapshot, dependencies)
        if (
            remediation.resulting_state
            and snapshot.readable
            and remediation.resulting_state != snapshot.state
        ):
            notes.append(
                f"After remediation the key is {remediation.resulting_state} (it was {snapshot.state})."
            )

        approval = parse_approval((snapshot.tags or {}).get(self.settings.allow_deletion_tag_key), now.date())
        approval_text = approval_note(approval, self.settings.allow_deletion_tag_key)
        if approval_text:
            notes.append(approval_text)
        if tripwire:
            notes.extend(self._tripwire_notes(record, snapshot))

        window, window_is_default = event_window(record)
        scheduled = name == "ScheduleKeyDeletion" and not record.failed
        short = scheduled and window < self.settings.short_window_days
        key_account = key_arn.split(":")[4] if key_arn else record.account
        actor = actor_section(record, key_account)
        current_state = remediation.resulting_state or snapshot.state
        days_left = snapshot.days_until_deletion(now) if current_state in PENDING_STATES else None

        if not snapshot.readable:
            notes.append("The key could not be read; this alert is built from the event alone.")
            if record.event_deletion_date and scheduled:
                notes.append(f"The event reports deletion on '{record.event_deletion_date}' (unverified).")
        if snapshot.state == "PendingReplicaDeletion":
            notes.append(
                "This multi-Region primary key waits for its replicas to be deleted: it has no "
                "deletion date until the last replica is gone, then its own window starts."
            )
        if short:
            notes.append(
                f"Short pending window: {window} days (threshold {self.settings.short_window_days})."
            )

        severity, reasons = severity_for(
            SeverityFacts(
                event_name=name,
                failed=record.failed,
                customer_managed=snapshot.is_customer_managed if snapshot.readable else None,
                dependencies=dependencies.total,
                discovery_complete=dependencies.complete,
                days_until_deletion=days_left,
                short_window=short,
                actor_is_root=actor.is_root,
                cross_account=actor.cross_account,
                danger_averted=danger_averted(remediation),
                approved=approval.approved,
                key_state=snapshot.state,
                tripwire=tripwire,
                lockout=bool(policy_verdict and policy_verdict.lockout and snapshot.state in PENDING_STATES),
            )
        )
        notes.append("Severity: " + "; ".join(reasons) + ".")

        key = KeySection(
            arn=key_arn,
            id=snapshot.key_id,
            readable=snapshot.readable,
            aliases=snapshot.aliases or [],
            tags=snapshot.tags or {},
            state=current_state,
            deletion_date=_iso(snapshot.deletion_date) if current_state in PENDING_STATES else None,
            days_until_deletion=days_left,
            pending_window_days=snapshot.pending_window_days,
            manager=snapshot.manager,
            origin=snapshot.origin,
            spec=snapshot.spec,
            usage=snapshot.usage,
            multi_region=snapshot.multi_region,
            multi_region_role=snapshot.multi_region_role,
            primary_arn=snapshot.primary_arn,
            replica_arns=snapshot.replica_arns,
            creation_date=_iso(snapshot.creation_date),
            description=snapshot.description,
            rotation_enabled=snapshot.rotation_enabled,
        )
        event_section = EventSection(
            name=name,
            id=record.event_id,
            time=_iso(record.event_time),
            region=record.aws_region,
            account=record.account,
            error_code=record.error_code,
            error_message=record.error_message,
            pending_window_days=window if name == "ScheduleKeyDeletion" else None,
            pending_window_is_default=window_is_default if name == "ScheduleKeyDeletion" else None,
            short_window=short,
            requested_key=record.requested_key,
            key_resolved_from=origin,
            event_deletion_date=record.event_deletion_date,
            event_key_state=record.event_key_state,
            event_version=record.event_version,
        )
        if tripwire:
            kind = "tripwire"
        elif resolved:
            kind = "resolved"
        elif record.failed:
            kind = "attempt"
        else:
            kind = "alert"
        title, summary = self._headline(severity, record, key, actor, dependencies, kind)
        doc = AlertDocument(
            alert_id=record.event_id or self._fingerprint(record.model_dump(mode="json", by_alias=True)),
            kind=kind,
            severity=severity,
            title=title,
            summary=summary,
            event=event_section,
            actor=actor,
            key=key,
            dependencies=dependencies,
            remediation=remediation,
            next_steps=next_steps(
                name,
                record.failed and not tripwire,
                snapshot.key_id,
                snapshot.region,
                current_state if snapshot.readable else None,
            ),
            notes=notes,
            generated_at=_iso(now) or "",
        )
        return Evaluation(doc, publish=publish, skip_reason=skip_reason, marker=marker)

    def _journal_transition(self, record: CloudTrailRecord, key_arn: str | None) -> None:
        state = transition_state(record.event_name)
        if state is None or record.failed or not key_arn or record.event_time is None:
            return
        if parse_key_reference(key_arn) is None or "alias/" in key_arn:
            return
        self.journal.record_transition(
            key_arn,
            Transition(record.event_time, state, record.event_name, "keyguard journal", record.event_id),
        )

    def _policy_verdict(self, record: CloudTrailRecord, snapshot: KeySnapshot) -> PolicyVerdict:
        """Parse the new policy from the event, or read it back when CloudTrail left it out."""
        account = (snapshot.arn or "").split(":")[4] if snapshot.arn else record.account or ""
        policy = (record.request_parameters or {}).get("policy")
        if isinstance(policy, str) and policy.strip():
            return cancel_access(policy, account)
        try:
            text = self.clients.client("kms", snapshot.region).get_key_policy(
                KeyId=snapshot.key_id, PolicyName="default"
            )["Policy"]
        except (ClientError, BotoCoreError) as exc:
            return PolicyVerdict(None, f"the key policy could not be read: {error_code(exc)}")
        return cancel_access(text, account)

    @staticmethod
    def _tripwire_notes(record: CloudTrailRecord, snapshot: KeySnapshot) -> list[str]:
        ident = record.user_identity
        caller = ident.arn or ident.invoked_by or ident.principal_id or "an unknown caller"
        notes = [
            f"Tripwire: {record.event_name} by {caller} failed with {record.error_code} because the key "
            f"is {snapshot.state}: something still depends on this key."
        ]
        context = (record.request_parameters or {}).get("encryptionContext")
        if isinstance(context, Mapping) and context:
            pairs = ", ".join(f"{k}={v}" for k, v in sorted(context.items()))
            notes.append(f"Encryption context of the failed call: {pairs}.")
        if ident.invoked_by:
            notes.append(f"The call was made through {ident.invoked_by}.")
        return notes

    def _deleted_alert(
        self, event: Mapping[str, Any], started: float, remaining_seconds: float | None
    ) -> AlertDocument:
        """The final notice: the key is gone. Dependencies: re-discovered by key id/ARN, plus the
        last list discovered while the key existed (resources that named it by alias included)."""
        try:
            envelope = EventBridgeEvent.model_validate(event)
            detail = KeyDeletionDetail.model_validate(envelope.detail)
        except ValidationError:
            raise UnprocessableEvent(
                "malformed KMS CMK Deletion event: invalid or missing detail.key-id"
            ) from None
        now = self._now()
        region = envelope.region or self.clients.default_region or "us-east-1"
        ref = parse_key_reference(detail.key_id)
        key_arn = next(
            (r for r in envelope.resources or [] if isinstance(r, str) and ":key/" in r),
            ref.arn(envelope.account, region) if ref else None,
        )
        if key_arn is None:
            raise UnprocessableEvent("KMS CMK Deletion event names no key that could be resolved")
        key_id = key_arn.rsplit("/", 1)[-1]
        deadline_budget = self.settings.discovery_max_seconds
        if remaining_seconds is not None:
            deadline_budget = min(
                deadline_budget,
                remaining_seconds - (self._monotonic() - started) - self.settings.publish_reserve_seconds,
            )
        if deadline_budget > 0:
            current = self.discoverer(
                KeyIdentity(key_arn=key_arn),
                self.clients,
                deadline=self._monotonic() + deadline_budget,
                max_workers=self.settings.discovery_max_workers,
            )
        else:
            current = DependenciesSection(
                complete=False,
                total=0,
                unchecked=[UncheckedFinder(finder="all", reason="not searched: no time left")],
            )
        notes = [
            "Dependencies were searched again by key id and ARN (the key's aliases were deleted with it).",
        ]
        remembered = self.journal.last_dependencies(key_arn)
        items = list(current.items)
        seen = {(i.service, i.resource_type, i.arn or i.name, i.region) for i in items}
        if remembered is not None:
            notes.append(
                f"Last dependency list recorded while the key existed: {remembered.total} resources "
                f"on {remembered.recorded_at}."
            )
            for item in remembered.items:
                ident = (item.service, item.resource_type, item.arn or item.name, item.region)
                if ident not in seen:
                    seen.add(ident)
                    items.append(
                        DependencyItem(
                            service=item.service,
                            resource_type=item.resource_type,
                            arn=item.arn,
                            name=item.name,
                            region=item.region,
                            evidence=f"last known on {remembered.recorded_at}: {item.evidence}",
                        )
                    )
        else:
            notes.append("No dependency list was recorded for this key while it existed.")
        counts: dict[str, int] = {}
        for item in items:
            counts[item.resource_type] = counts.get(item.resource_type, 0) + 1
        dependencies = current.model_copy(update={"items": items, "total": len(items), "counts": counts})
        severity, reasons = severity_for(
            SeverityFacts(
                event_name=KEY_DELETED, dependencies=len(items), discovery_complete=current.complete
            )
        )
        notes.append("Severity: " + "; ".join(reasons) + ".")
        deps = f"{len(items)} resources referenced it" if items else "no dependent resources known"
        return AlertDocument(
            alert_id=envelope.id or self._fingerprint(dict(event)),
            kind="deleted",
            severity=severity,
            title=f"KMS key {key_id} deleted",
            summary=f"{severity.value.upper()}: key {key_id} was deleted by KMS at the end of its "
            f"pending window; {deps}",
            event=EventSection(
                name=KEY_DELETION_DETAIL_TYPE,
                id=envelope.id,
                time=_iso(envelope.time),
                region=envelope.region,
                account=envelope.account,
            ),
            actor=ActorSection(
                type="AWSService",
                arn=None,
                account=envelope.account,
                principal="kms.amazonaws.com",
                invoked_by="kms.amazonaws.com",
                source_ip=None,
                user_agent=None,
                via_console=False,
                mfa=None,
            ),
            key=KeySection(arn=key_arn, id=key_id, readable=False, state="Deleted"),
            dependencies=dependencies,
            remediation=RemediationSection(
                mode=self.settings.remediation_mode.value,
                action="none",
                outcome="not possible: the key is deleted",
                resulting_state="Deleted",
            ),
            next_steps=[
                "Data encrypted under this key cannot be decrypted any more. For each resource listed, "
                "restore from a copy encrypted under another key, or retire the resource.",
            ],
            notes=notes,
            generated_at=_iso(now) or "",
        )

    def _dependencies(
        self, snapshot: KeySnapshot, started: float, remaining_seconds: float | None
    ) -> DependenciesSection:
        identity = snapshot.identity()
        if not snapshot.readable or identity is None:
            return DependenciesSection(
                complete=False,
                total=0,
                unchecked=[UncheckedFinder(finder="all", reason="not searched: the key could not be read")],
            )
        if not snapshot.is_customer_managed:
            return DependenciesSection(
                complete=False,
                total=0,
                unchecked=[
                    UncheckedFinder(finder="all", reason="not searched: the key is not customer managed")
                ],
            )
        budget = self.settings.discovery_max_seconds
        if remaining_seconds is not None:
            elapsed = self._monotonic() - started
            budget = min(budget, remaining_seconds - elapsed - self.settings.publish_reserve_seconds)
        if budget <= 0:
            return DependenciesSection(
                complete=False,
                total=0,
                unchecked=[
                    UncheckedFinder(
                        finder="all", reason="not searched: no time left before the Lambda timeout"
                    )
                ],
            )
        return self.discoverer(
            identity,
            self.clients,
            deadline=self._monotonic() + budget,
            max_workers=self.settings.discovery_max_workers,
        )

    @staticmethod
    def _headline(
        severity: Severity,
        record: CloudTrailRecord,
        key: KeySection,
        actor: ActorSection,
        dependencies: DependenciesSection,
        kind: str = "alert",
    ) -> tuple[str, str]:
        requested = record.requested_key or ""
        named = requested[requested.find("alias/") :] if "alias/" in requested else None
        if named and named in key.aliases:
            label = named
        else:
            label = key.aliases[0] if key.aliases else (key.id or requested or "unknown key")
        who = actor.principal or actor.arn or "an unknown caller"
        if actor.session_name and actor.type == "AssumedRole":
            who = f"{who} ({actor.session_name})"
        now_state = f"; the key is now {key.state}" if key.state else ""
        if kind == "tripwire":
            title = f"KMS key {label} still in use: {record.event_name} failed ({key.state})"
            return (
                title,
                f"{severity.value.upper()}: {record.event_name} by {who} failed because key {label} "
                f"is {key.state}",
            )
        if kind == "resolved":
            verb = "deletion cancelled" if record.event_name == "CancelKeyDeletion" else "re-enabled"
            what = f"key {label} {verb}"
            return f"KMS {what}", f"{severity.value.upper()}: resolved: {what} by {who}{now_state}"
        if record.failed:
            what = f"failed {record.event_name} ({record.error_code}) on key {label}"
        elif record.event_name == "ScheduleKeyDeletion":
            days = key.days_until_deletion
            if days is not None:
                when = f"in {days} days"
            elif key.readable and key.state:
                when = f"(the key is now {key.state})"
            else:
                when = "(date unverified)"
            if key.state == "PendingReplicaDeletion":
                when = "once its replicas are deleted"
            what = f"key {label} scheduled for deletion {when}"
        elif record.event_name == "DisableKey":
            what = f"key {label} disabled"
        elif record.event_name == "DeleteImportedKeyMaterial":
            what = f"imported key material deleted from key {label}"
        elif record.event_name == "PutKeyPolicy":
            what = f"key policy of {label} changed while the key is {key.state}"
        else:
            what = f"{record.event_name} on key {label}"
        if not key.readable:
            deps = "dependencies unknown (the key could not be read)"
        elif dependencies.complete:
            deps = f"{dependencies.total} dependent resources"
        else:
            deps = f"at least {dependencies.total} dependent resources (search incomplete)"
        summary = f"{severity.value.upper()}: {what} by {who}; {deps}"
        return f"KMS {what}", summary

    def _invalid_event_alert(self, event: Any, reason: str) -> AlertDocument:
        raw = event if isinstance(event, Mapping) else {"value": repr(event)[:200]}
        event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
        now = self._now()
        return AlertDocument(
            alert_id=event_id or self._fingerprint(raw),
            kind="invalid-event",
            severity=Severity.MEDIUM,
            title="kms-keyguard received an event it could not process",
            summary=f"MEDIUM: unprocessable event reported instead of dropped: {reason}",
            event=EventSection(
                name=str(raw.get("detail-type") or "unknown"),
                id=event_id,
                time=None,
                region=raw.get("region") if isinstance(raw.get("region"), str) else None,
                account=raw.get("account") if isinstance(raw.get("account"), str) else None,
            ),
            actor=ActorSection.nobody(),
            key=KeySection(arn=None, id=None, readable=False),
            dependencies=DependenciesSection(
                complete=False,
                total=0,
                unchecked=[
                    UncheckedFinder(finder="all", reason="not searched: the event could not be parsed")
                ],
            ),
            remediation=RemediationSection(
                mode=self.settings.remediation_mode.value,
                action="none",
                outcome="not attempted: the event could not be parsed",
            ),
            next_steps=[
                "Check the EventBridge rule pattern and the event source; the raw event is in the "
                "function's log under this alert id."
            ],
            notes=[reason],
            generated_at=_iso(now) or "",
        )

    @staticmethod
    def _fingerprint(raw: Any) -> str:
        body = json.dumps(raw, sort_keys=True, default=str).encode()
        return "sha256-" + hashlib.sha256(body).hexdigest()[:32]
