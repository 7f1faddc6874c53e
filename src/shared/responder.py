"""The responder orchestrates one event into one alert, in the order of the flow: parse → resolve
(re-read the key) → triage → enrich → discover → act (remediate, journal) → assemble → notify.

Each step is a collaborator injected in the constructor (tests and the CLI swap any of them) or a
pure function of its own module (``parse``, ``triage``, ``assemble``); nothing is decided here.
Only a failed delivery propagates: everything else degrades the alert.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from shared import assemble
from shared.accounts import (
    MemberAccounts,
    MemberRoleUnavailable,
    RoleUnavailableRemediation,
    UnreachableInventory,
)
from shared.approval import Approval
from shared.approval_check import ApprovalChecker
from shared.aws import ClientFactory
from shared.config import RemediationMode, RemediationScope, Settings
from shared.cross_account import CrossAccountSearch
from shared.discovery import DependencySearch, Discoverer
from shared.document import AlertDocument, DependenciesSection
from shared.events import IMPORTED_MATERIAL_EXPIRED, SeverityRule, kms_event, tamper_call
from shared.heartbeat import Canary, beat, canary
from shared.idempotency import IdempotentRunner
from shared.journal import DynamoJournal, Journal, MemoryJournal, remember
from shared.key_inventory import KeyInventory, KeySnapshot
from shared.lockout import policy_after
from shared.models import KEY_DELETION_DETAIL_TYPE, CloudTrailRecord
from shared.observability import logger, metrics
from shared.parse import (
    KMS_EVENT_SOURCE,
    UnprocessableEvent,
    parse_cloudtrail,
    parse_key_deletion,
    parse_native_key_event,
    parse_record,
)
from shared.policy import PENDING_STATES, Remediation
from shared.remediation import NoRemediation, Remediator, RemediatorProtocol
from shared.triage import COALESCED, Triage, TriageFacts, triage
from shared.tripwire import TripwireGate, coalesced_alert

__all__ = ["NoRemediation", "Receipt", "Responder", "UnprocessableEvent", "parse_record"]


class Publisher(Protocol):
    def publish(self, doc: AlertDocument) -> str: ...


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

    @classmethod
    def of(cls, doc: AlertDocument, message_id: str | None) -> Receipt:
        return cls(
            alert_id=doc.alert_id,
            kind=doc.kind,
            severity=doc.severity.value,
            key_arn=doc.key.arn,
            message_id=message_id,
            dependencies=doc.dependencies.total,
            remediation=doc.remediation.outcome,
        )

    @classmethod
    def heartbeat(cls, beat: Canary) -> Receipt:
        return cls(beat.event_id, "heartbeat", "low", None, None, 0, "not-attempted")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


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
        member_remediator: Callable[[ClientFactory], RemediatorProtocol] | None = None,
        approvals: ApprovalChecker | None = None,
        accounts: MemberAccounts | None = None,
        beyond: CrossAccountSearch | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients or ClientFactory()
        self._now = now or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self.inventory = inventory or KeyInventory(self.clients, clock=self._now)
        self.approvals = approvals or ApprovalChecker(
            settings, self.clients, now=self._now, monotonic=monotonic
        )
        self._publisher = publisher
        self._idempotency: IdempotentRunner | None = None
        # the hub's member roles (a member's responder shares them) and, in organization mode, the
        # search of the other accounts a key's policy or grants name
        self.accounts = accounts or MemberAccounts(self.clients, clock=self._now)
        beyond = beyond or CrossAccountSearch.for_settings(settings, self.clients, self.accounts, monotonic)
        self.search = DependencySearch(
            settings, self.clients, discoverer, monotonic, beyond=beyond, policy=self.inventory.key_policy
        )
        if journal is None:
            table = settings.idempotency_table_name
            journal = DynamoJournal(self.clients, table) if table else MemoryJournal()
        self.journal: Journal = journal
        self.tripwires = TripwireGate(journal)
        if remediator is None:
            remediator = (
                NoRemediation()
                if settings.remediation_mode is RemediationMode.OFF
                else Remediator(settings, self.clients, journal=self.journal, now=self._now)
            )
        self.remediator: RemediatorProtocol = remediator
        self._guard_remediator: RemediatorProtocol | None = None
        # Builds the remediator acting through a member's remediation role (its client factory).
        self._member_remediator = member_remediator or (
            lambda acting: Remediator(settings, acting, journal=self.journal, now=self._now)
        )
        self._members: dict[str, Responder] = {}

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
    def discoverer(self) -> Discoverer:
        return self.search.discoverer

    @property
    def publisher(self) -> Publisher:
        if self._publisher is None:
            from shared.alerting import SnsPublisher

            self._publisher = SnsPublisher.for_topic(self.clients, self.settings.alert_topic_arn)
        return self._publisher

    # ----- entry points --------------------------------------------------------------------
    def handle(
        self, event: Mapping[str, Any], remaining_seconds: float | None = None, notes: tuple[str, ...] = ()
    ) -> Receipt:
        """Assess and publish. Raises ``AlertDeliveryError`` only when publishing fails. ``notes``
        (from the handler: how the event was received) open the alert's notes."""
        heartbeat = canary(event)
        if heartbeat is not None:
            # The canary came through its rule to the function: record that, page nobody.
            beat(heartbeat)
            logger.info("heartbeat", rule=heartbeat.rule, stack=heartbeat.stack)
            return Receipt.heartbeat(heartbeat)
        evaluation = self._evaluate(event, remaining_seconds, claim=True)
        doc = evaluation.doc
        if notes:
            doc = doc.model_copy(update={"notes": [*notes, *doc.notes]})
        if not evaluation.publish:
            metrics.add_metric(name="AlertSuppressed", unit="Count", value=1)
            logger.info(
                "alert not published",
                alert_id=doc.alert_id,
                kind=doc.kind,
                reason=evaluation.skip_reason,
                key_arn=doc.key.arn,
            )
            return Receipt.of(doc, None)
        try:
            message_id = self._publisher_for(doc).publish(doc)
        except Exception:
            # Not recorded as sent: the retry must find the coalescing marker free again.
            if evaluation.marker:
                self.journal.release(evaluation.marker)
            raise
        metrics.add_metric(name=f"Alert{doc.severity.value.capitalize()}", unit="Count", value=1)
        state = doc.remediation.resulting_state or doc.key.state
        if doc.key.arn and doc.key.readable and state:
            # The reconciliation pass reports unusable keys with no alert on record in their state.
            self.journal.mark_alerted(doc.key.arn, state, self._now())
        logger.info(
            "alert published",
            alert_id=doc.alert_id,
            severity=doc.severity.value,
            kind=doc.kind,
            message_id=message_id,
            key_arn=doc.key.arn,
        )
        return Receipt.of(doc, message_id)

    def _publisher_for(self, doc: AlertDocument) -> Publisher:
        """A tamper alert goes to the health topic too, first and best effort: the alert path may be
        what was tampered with (``alerting.CopyingPublisher``)."""
        health = self.settings.health_topic_arn
        if doc.kind != "tamper" or not health or health == self.settings.alert_topic_arn:
            return self.publisher
        from shared.alerting import CopyingPublisher, SnsPublisher

        return CopyingPublisher(self.publisher, SnsPublisher.for_topic(self.clients, health))

    def assess(self, event: Mapping[str, Any], remaining_seconds: float | None = None) -> AlertDocument:
        """Build the alert document for an event without publishing it."""
        return self._evaluate(event, remaining_seconds, claim=False).doc

    def evaluate(self, event: Mapping[str, Any], remaining_seconds: float | None = None) -> Evaluation:
        """``assess``, and whether the alert would be published (and why not): for replays."""
        return self._evaluate(event, remaining_seconds, claim=False)

    def find_dependencies(self, snapshot: KeySnapshot, budget: float | None = None) -> DependenciesSection:
        """The discover step alone: what uses the key, within ``budget`` seconds (default: all)."""
        return self.search.for_key(
            snapshot, self.settings.discovery_max_seconds if budget is None else budget
        )[0]

    # ----- the steps -----------------------------------------------------------------------
    def _evaluate(
        self, event: Mapping[str, Any], remaining_seconds: float | None, *, claim: bool
    ) -> Evaluation:
        started = self._monotonic()
        try:
            if isinstance(event, Mapping) and event.get("detail-type") == KEY_DELETION_DETAIL_TYPE:
                return Evaluation(self._key_deleted(event, self.search.budget(started, remaining_seconds)))
            if isinstance(event, Mapping) and event.get("detail-type") == IMPORTED_MATERIAL_EXPIRED:
                native = parse_native_key_event(event, self.clients.default_region or "us-east-1")
                return self._record(native, started, remaining_seconds, claim=claim)
            record = parse_cloudtrail(event)
            if record.event_source not in (None, KMS_EVENT_SOURCE):
                return Evaluation(self._tamper(record))
        except UnprocessableEvent as exc:
            logger.error("unprocessable event", reason=str(exc))
            metrics.add_metric(name="UnprocessableEvent", unit="Count", value=1)
            mode = self.settings.remediation_mode.value
            return Evaluation(assemble.invalid_event_alert(event, str(exc), mode, self._now()))
        return self._for_account(record)._record(record, started, remaining_seconds, claim=claim)

    def _for_account(self, record: CloudTrailRecord) -> Responder:
        """This responder for the hub's own events; for a member account's, one acting there through
        its roles (organization mode), sharing this one's publisher and journal."""
        account, settings = record.account, self.settings
        own = (settings.function_role_arn or "").split(":")[4:5]
        if settings.organization_id is None or not account or [account] == own:
            return self
        member = self._members.get(account)
        if member is None:
            region = record.aws_region or self.clients.default_region or "us-east-1"
            member = self._member(account, region)
            self._members[account] = member
        return member

    def _member(self, account: str, region: str) -> Responder:
        s, inventory = self.settings, None
        remediator: RemediatorProtocol | None = None
        try:
            clients = self.accounts.factory(account, s.member_role_name, region)
        except MemberRoleUnavailable as exc:
            logger.warning("member role unavailable", account=account, role_arn=exc.role_arn, error=exc.code)
            clients, inventory = self.clients, UnreachableInventory(exc, self.clients)
        if s.remediation_mode is not RemediationMode.OFF:
            try:
                acting = self.accounts.factory(account, s.member_remediation_role_name, region)
                remediator = self._member_remediator(acting)
            except MemberRoleUnavailable as exc:
                remediator = RoleUnavailableRemediation(s.remediation_mode.value, exc)
        # The alert is published, and the journal kept, by the hub (never in the member account).
        return Responder(
            s, clients, inventory=inventory, publisher=self.publisher, journal=self.journal,
            remediator=remediator, discoverer=self.search.discoverer, now=self._now,
            monotonic=self._monotonic, accounts=self.accounts, beyond=self.search.beyond,
        )  # fmt: skip

    def _record(
        self, record: CloudTrailRecord, started: float, remaining_seconds: float | None, *, claim: bool
    ) -> Evaluation:
        now = self._now()
        # the tripwire gate: a flood for a key named by its ARN stops here, before any AWS call
        gate = self.tripwires.claim_early(record, now) if claim else None
        if gate is not None and gate.coalesced:
            doc = coalesced_alert(record, gate.key_arn, self.settings, now)
            return Evaluation(doc, publish=False, skip_reason=COALESCED)
        # resolve: the event only points at the key; its state is re-read
        key_ref, origin, _ = record.resolve_key_arn()
        region = record.aws_region or self.clients.default_region or "us-east-1"
        notes = []
        if key_ref is None:
            snapshot = KeySnapshot(reference=record.requested_key or "", region=region)
        else:
            snapshot = self.inventory.read(key_ref, key_ref.split(":")[3] or region)
        key_arn = snapshot.arn or key_ref
        # triage, and the coalescing gate for tripwire floods
        decision = triage(
            TriageFacts(record.event_name, record.error_code, snapshot.readable, snapshot.state)
        )
        notes += [decision.note] if decision.note else []
        about_store = kms_event(record.event_name).severity is SeverityRule.KEY_STORE_CHANGED
        notes += (
            ["The event names no key that could be resolved."] if key_ref is None and not about_store else []
        )
        notes += snapshot.notes()
        decision, marker = self.tripwires.settle(decision, record, key_arn, now, gate, claim=claim)
        # enrich: the new key policy, when it may lock the account out of cancelling
        lockout = policy_after(record, snapshot, self.inventory.key_policy) if decision.check_policy else None
        if lockout is not None and lockout.lockout and not decision.publish:
            # The key is still usable, but nobody in the account could put it back any more.
            decision = replace(decision, publish=True, skip_reason=None)
        notes += [f"Key policy check: {lockout.reason}."] if lockout else []
        # the approval, verified in CloudTrail before remediation may stand aside for it (reads only)
        deadline = self._deadline(started, remaining_seconds)
        approval = self.approvals.assess(record, snapshot, deadline)
        # act first, where the scope needs no discovery: cancelling is the first mutating call
        early = None
        if self._acts_first(record, snapshot, decision):
            acted_first = assemble.not_searched("acted first")
            early = self._act(record, snapshot, decision, acted_first, deadline, approval)
        # discover
        if decision.not_searched:
            dependencies, searched = assemble.not_searched(decision.not_searched), False
        else:
            budget = self.search.budget(started, remaining_seconds)
            dependencies, searched = self.search.for_key(snapshot, budget)
        # act
        remediation = early or self._act(record, snapshot, decision, dependencies, deadline, approval)
        remember(self.journal, record, key_arn, dependencies if searched else None, now)
        found = assemble.Findings(
            record=record,
            snapshot=snapshot,
            key_arn=key_arn,
            key_origin=origin,
            triage=decision,
            dependencies=dependencies,
            remediation=remediation,
            approval=approval,
            lockout=lockout,
            notes=tuple(notes),
        )
        doc = assemble.event_alert(found, self.settings, now)
        return Evaluation(doc, publish=decision.publish, skip_reason=decision.skip_reason, marker=marker)

    def _tamper(self, record: CloudTrailRecord) -> AlertDocument:
        """Another service's call, routed by a tamper rule: who did what to which of the guard's
        resources. Never a KMS key alert, never remediated."""
        call = tamper_call(record.event_source, record.event_name)
        if call is None:
            raise UnprocessableEvent(f"not a KMS event (eventSource {record.event_source!r})")
        metrics.add_metric(name="TamperDetected", unit="Count", value=1)
        logger.warning(
            "guard tampered with",
            event_name=record.event_name,
            event_source=record.event_source,
            actor=record.user_identity.arn,
        )
        return assemble.tamper_alert(record, call, self.settings.remediation_mode.value, self._now())

    def _act(
        self,
        record: CloudTrailRecord,
        snapshot: KeySnapshot,
        decision: Triage,
        dependencies: DependenciesSection,
        deadline: float | None = None,
        approval: Approval | None = None,
    ) -> Remediation:
        if decision.not_remediated is None:
            remediator = self._remediator_for(snapshot)
            return remediator.remediate(record, snapshot, dependencies, deadline, approval)
        outcome, detail = decision.not_remediated
        mode = self.settings.remediation_mode.value
        return Remediation(mode, outcome, detail=detail, resulting_state=snapshot.state)

    def _deadline(self, started: float, remaining_seconds: float | None) -> float:
        """When remediation's evidence lookups must stop: the function's time left, less what
        publishing needs (the discovery budget when the time left is unknown)."""
        if remaining_seconds is None:
            return started + self.settings.discovery_max_seconds
        return started + max(0.0, remaining_seconds - self.settings.publish_reserve_seconds)

    def _acts_first(self, record: CloudTrailRecord, snapshot: KeySnapshot, decision: Triage) -> bool:
        """Enforce mode with a scope that needs no discovery (``tagged``, ``all``), or a guard key:
        the deletion is cancelled right after the key is re-read, before discovery and before any
        CloudTrail lookup (section "Act first" of the threat model)."""
        if decision.not_remediated is not None or snapshot.state not in PENDING_STATES:
            return False
        if self.settings.is_guard_key(snapshot.arn):
            return True
        return (
            self.settings.remediation_mode is RemediationMode.ENFORCE
            and self.settings.remediation_scope in (RemediationScope.TAGGED, RemediationScope.ALL)
        )

    def _remediator_for(self, snapshot: KeySnapshot) -> RemediatorProtocol:
        """The configured remediator, except for the guard's own keys: those are put back in every
        mode, so they get a real remediator even when remediation is off."""
        if not self.settings.is_guard_key(snapshot.arn) or isinstance(self.remediator, Remediator):
            return self.remediator
        if self._guard_remediator is None:
            self._guard_remediator = Remediator(
                self.settings, self.clients, journal=self.journal, now=self._now
            )
        return self._guard_remediator

    def _key_deleted(self, event: Mapping[str, Any], budget: float) -> AlertDocument:
        """The final notice: the key is gone. Dependencies: re-discovered by key id and ARN, plus the
        last list recorded while the key existed (resources that named it by alias included)."""
        now = self._now()
        deletion = parse_key_deletion(event, self.clients.default_region or "us-east-1")
        current = self.search.for_deleted_key(deletion.key_arn, budget)
        dependencies, notes = assemble.with_remembered(
            current, self.journal.last_dependencies(deletion.key_arn)
        )
        mode = self.settings.remediation_mode.value
        return assemble.deleted_alert(deletion, event, dependencies, notes, mode, now)
