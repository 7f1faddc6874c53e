"""State-checked, re-entrant remediation: cancel a scheduled deletion, re-enable a key.

Flow for one event: the approval tag, parsed and verified in CloudTrail (``approval_check``) →
``policy.plan_remediation`` (pure: mode, scope, loop guard, a verified approval) → re-read the key →
act only if its state still calls for it → decide from evidence whether cancelling should also
re-enable → tag the key ``keyguard:last-intervention`` → re-read the resulting state. Every failure
is reported in the typed ``Remediation`` result; none is raised, so a failed remediation never blocks
the alert.

Restoring after a cancel: CancelKeyDeletion always leaves the key Disabled, and the
ScheduleKeyDeletion record does not say whether the key was Enabled before. The key is re-enabled
only on positive evidence: the latest Enabled/Disabled transition before the deletion was scheduled,
taken from keyguard's own journal (DisableKey, EnableKey and CancelKeyDeletion events it processed;
no indexing delay) merged with CloudTrail ``LookupEvents`` for the key (90 days, but indexed with a
delay of minutes). See ``policy.state_before``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from shared.accounts import is_own_member_session
from shared.approval import Approval
from shared.approval_check import ApprovalChecker
from shared.aws import ClientFactory, error_code
from shared.config import Settings
from shared.document import DependenciesSection
from shared.history import HISTORY_DAYS as HISTORY_DAYS  # re-exported: the history's callers
from shared.history import HISTORY_MAX_EVENTS as HISTORY_MAX_EVENTS
from shared.history import CloudTrailHistory as CloudTrailHistory
from shared.history import KeyHistory as KeyHistory
from shared.history import bounded_cloudtrail as bounded_cloudtrail
from shared.journal import Journal, MemoryJournal
from shared.key_inventory import KeySnapshot
from shared.models import CloudTrailRecord
from shared.observability import logger, metrics
from shared.policy import (
    PENDING_STATES,
    TRIPWIRE_ERROR,
    Action,
    Outcome,
    Remediation,
    RemediationFacts,
    Transition,
    is_tripwire,
    plan_remediation,
    state_before,
)
from shared.policy import danger_averted as danger_averted  # re-exported: callers of remediate()

# Exact IAM actions this module calls. The mutating three exist in the role only in enforce mode.
ACTIONS: tuple[str, ...] = (
    "kms:DescribeKey",
    "kms:CancelKeyDeletion",
    "kms:EnableKey",
    "kms:TagResource",
    "cloudtrail:LookupEvents",
)
MUTATING_ACTIONS: tuple[str, ...] = ("kms:CancelKeyDeletion", "kms:EnableKey", "kms:TagResource")


def caused_by_role(record: CloudTrailRecord, role_arn: str | None) -> bool:
    """Loop guard: was the call made by a session of ``role_arn`` (the function's own role)?"""
    if not role_arn:
        return False
    ident = record.user_identity
    issuer = ident.session_context.session_issuer if ident.session_context else None
    candidates = [issuer.arn if issuer else None]
    if ident.type == "AssumedRole" and ident.arn:
        # arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION → compare account and role name
        parts = ident.arn.split(":")
        if len(parts) == 6 and parts[5].startswith("assumed-role/"):
            name = parts[5].split("/")[1]
            candidates.append(f"{parts[0]}:{parts[1]}:iam::{parts[4]}:role/{name}")
    wanted = role_arn.lower()
    wanted_name = wanted.rsplit("/", 1)[-1]
    wanted_account = wanted.split(":")[4] if wanted.count(":") >= 5 else None
    for candidate in filter(None, candidates):
        lowered = candidate.lower()
        if lowered == wanted:
            return True
        # A role ARN with a path (role/service/name) vs the name-only form built above.
        if (
            wanted_account
            and lowered.split(":")[4] == wanted_account
            and lowered.endswith(f"role/{wanted_name}")
        ):
            return True
    return False


class RemediatorProtocol(Protocol):
    def remediate(
        self,
        record: CloudTrailRecord,
        snapshot: KeySnapshot,
        dependencies: DependenciesSection,
        deadline: float | None = None,
        approval: Approval | None = None,
    ) -> Remediation:
        """``approval``: the key's approval as already assessed (``ApprovalChecker.assess``); the
        remediator assesses it itself when ``None``."""
        ...


class NoRemediation:
    """Remediation switched off (``REMEDIATION_MODE=off``): say so in the alert."""

    def remediate(
        self,
        record: CloudTrailRecord,
        snapshot: KeySnapshot,
        dependencies: DependenciesSection,
        deadline: float | None = None,
        approval: Approval | None = None,
    ) -> Remediation:
        return Remediation("off", Outcome.OFF, resulting_state=snapshot.state)


class Remediator:
    """Cancels deletions and re-enables keys within the configured mode and scope."""

    def __init__(
        self,
        settings: Settings,
        clients: ClientFactory,
        *,
        journal: Journal | None = None,
        history: KeyHistory | None = None,
        now: Callable[[], datetime] | None = None,
        approvals: ApprovalChecker | None = None,
    ) -> None:
        self.settings = settings
        self.clients = clients
        self.journal: Journal = journal or MemoryJournal()
        self.history: KeyHistory = history or CloudTrailHistory(clients)
        self._now = now or (lambda: datetime.now(UTC))
        self.approvals = approvals or ApprovalChecker(settings, clients, now=self._now)

    # ----- the decision ------------------------------------------------------------------------
    def remediate(
        self,
        record: CloudTrailRecord,
        snapshot: KeySnapshot,
        dependencies: DependenciesSection,
        deadline: float | None = None,
        approval: Approval | None = None,
    ) -> Remediation:
        guard_key = self.settings.is_guard_key(snapshot.arn)
        # The guard's own keys are put back in every mode (the role may do so on exactly them).
        mode = "enforce" if guard_key else self.settings.remediation_mode.value
        tags = snapshot.tags or {}
        # Only an approval CloudTrail confirms exempts (verified before standing aside, never after).
        if approval is None:
            approval = self.approvals.assess(record, snapshot, deadline)
        facts = RemediationFacts(
            mode=mode,
            scope=self.settings.remediation_scope.value,
            event_name=record.event_name,
            failed=record.failed,
            tripwire=is_tripwire(record.event_name, record.error_code, snapshot.state),
            key_readable=snapshot.readable,
            customer_managed=snapshot.is_customer_managed,
            key_state=snapshot.state,
            # Compared as IAM's StringEqualsIgnoreCase compares it: case-insensitive, never trimmed.
            protected=tags.get(self.settings.protect_tag_key, "").lower() == "true",
            dependencies=dependencies.total,
            discovery_complete=dependencies.complete,
            incomplete_finders=tuple(
                f"{u.finder}{f' [{u.region}]' if u.region else ''}: {u.reason}"
                for u in dependencies.unchecked_as("incomplete")
            ),
            approved=approval.honoured,
            approval_text=approval.exemption,
            caused_by_self=caused_by_role(record, self.settings.function_role_arn)
            or is_own_member_session(record, self.settings),
            reenable_disabled_keys=self.settings.reenable_disabled_keys,
            protect_tag_key=self.settings.protect_tag_key,
            guard_key=guard_key,
        )
        plan = plan_remediation(facts)
        reasons = list(plan.reasons)
        if approval.describe(self.settings.allow_deletion_tag_key) and not approval.honoured:
            reasons.append(str(approval.describe(self.settings.allow_deletion_tag_key)))
        if plan.action is Action.NONE:
            return Remediation(
                mode,
                plan.result or Outcome.NOT_NEEDED,
                detail=plan.detail,
                resulting_state=snapshot.state,
                reasons=reasons,
            )
        if snapshot.key_id is None or snapshot.arn is None:  # readable keys always have both
            return Remediation(mode, Outcome.NOT_ATTEMPTED, detail="no key id", reasons=reasons)
        result = self._execute(
            plan.action, record, snapshot, reasons, dry_run=mode == "dry-run", deadline=deadline
        )
        metrics.add_metric(name=f"Remediation{result.result.metric}", unit="Count", value=1)
        logger.info(
            "remediation",
            key_arn=snapshot.arn,
            mode=mode,
            action=result.action,
            outcome=result.outcome,
            resulting_state=result.resulting_state,
        )
        return result

    # ----- acting ------------------------------------------------------------------------------
    def _execute(
        self,
        action: Action,
        record: CloudTrailRecord,
        snapshot: KeySnapshot,
        reasons: list[str],
        *,
        dry_run: bool,
        deadline: float | None = None,
    ) -> Remediation:
        mode = "dry-run" if dry_run else "enforce"
        key_id, key_arn = str(snapshot.key_id), str(snapshot.arn)
        kms = self.clients.client("kms", snapshot.region)
        state, problem = self._state(kms, key_id)
        if state is None:
            return Remediation(
                mode, Outcome.FAILED, detail=problem, resulting_state=snapshot.state, reasons=reasons
            )
        tag_value = self._tag_value(action, record)
        earlier = record.event_id is not None and record.event_id in (
            (snapshot.tags or {}).get(self.settings.intervention_tag_key, "")
        )

        if action is Action.ENABLE_KEY:
            if state != "Disabled":
                return Remediation(
                    mode,
                    Outcome.REENABLED_EARLIER if earlier else Outcome.ALREADY_ENABLED,
                    resulting_state=state,
                    reasons=[*reasons, f"the key is {state}: nothing to re-enable"],
                )
            if dry_run:
                return Remediation(
                    mode,
                    Outcome.WOULD_REENABLE,
                    "enable-key",
                    resulting_state=state,
                    reasons=[*reasons, *self._dry_run_steps(["EnableKey"], key_id, tag_value)],
                )
            failure = self._call(kms.enable_key, key_id)
            if failure:
                return Remediation(
                    mode, Outcome.FAILED, "enable-key", failure, resulting_state=state, reasons=reasons
                )
            self._journal_own(key_arn, "EnableKey", "Enabled")
            reasons.append(self._tag(kms, key_id, tag_value))
            return Remediation(
                mode,
                Outcome.REENABLED,
                "enable-key",
                resulting_state=self._state(kms, key_id)[0],
                reasons=reasons,
            )

        # Action.CANCEL_DELETION
        if state not in PENDING_STATES:
            return Remediation(
                mode,
                Outcome.CANCELLED_EARLIER if earlier else Outcome.ALREADY_CANCELLED,
                resulting_state=state,
                reasons=[*reasons, f"the key is {state}, not pending deletion: nothing to cancel"],
            )
        if dry_run:
            verdict_reenable, evidence = self._restore_verdict(record, snapshot, deadline)
            calls = ["CancelKeyDeletion", *(["EnableKey"] if verdict_reenable else [])]
            return Remediation(
                mode,
                Outcome.WOULD_CANCEL_AND_REENABLE if verdict_reenable else Outcome.WOULD_CANCEL,
                "cancel-deletion",
                resulting_state=state,
                reasons=[
                    *reasons,
                    f"restore evidence: {evidence}",
                    *self._dry_run_steps(calls, key_id, tag_value),
                ],
            )
        failure = self._call(kms.cancel_key_deletion, key_id)
        if failure:
            now_state, _ = self._state(kms, key_id)
            if failure == TRIPWIRE_ERROR and now_state not in PENDING_STATES:
                return Remediation(
                    mode,
                    Outcome.ALREADY_CANCELLED,
                    resulting_state=now_state,
                    reasons=[*reasons, "someone else cancelled the deletion first"],
                )
            return Remediation(
                mode,
                Outcome.FAILED,
                "cancel-deletion",
                failure,
                resulting_state=now_state or state,
                reasons=reasons,
            )
        # Act first: the deletion is cancelled before any CloudTrail lookup; the evidence for
        # re-enabling is gathered afterwards, within what is left of the deadline (and before the
        # cancel is journalled, so the journal still holds the state before the scheduling).
        verdict_reenable, evidence = self._restore_verdict(record, snapshot, deadline)
        self._journal_own(key_arn, "CancelKeyDeletion", "Disabled")
        reasons.append(f"restore evidence: {evidence}")
        result, detail = Outcome.CANCELLED, None
        if verdict_reenable:
            detail = self._call(kms.enable_key, key_id)
            if detail:
                result = Outcome.REENABLE_FAILED
            else:
                result = Outcome.CANCELLED_AND_REENABLED
                self._journal_own(key_arn, "EnableKey", "Enabled")
        reasons.append(self._tag(kms, key_id, tag_value))
        return Remediation(
            mode,
            result,
            "cancel-deletion" + ("+enable-key" if verdict_reenable else ""),
            detail,
            resulting_state=self._state(kms, key_id)[0],
            reasons=reasons,
        )

    def _restore_verdict(
        self, record: CloudTrailRecord, snapshot: KeySnapshot, deadline: float | None = None
    ) -> tuple[bool, str]:
        """Re-enable after cancelling only if the key was Enabled before the deletion was scheduled."""
        key_arn = str(snapshot.arn)
        if self.settings.is_guard_key(key_arn):
            # Only the break-glass principal may disable a guard key; alerts need it Enabled.
            return True, "one of kms-keyguard's own keys: the alert path needs it Enabled"
        tripwire = record.event_name != "ScheduleKeyDeletion"
        before = self._now() if tripwire or record.event_time is None else record.event_time
        transitions = list(self.journal.transitions(key_arn))
        history, unavailable = self.history.transitions(key_arn, snapshot.region, before, deadline)
        transitions.extend(history)
        verdict = state_before(transitions, before, exclude_event_id=record.event_id)
        evidence = verdict.evidence
        if unavailable:
            # Incomplete evidence may miss a DisableKey just before the deletion was scheduled
            # (the usual way to retire a compromised key): never re-enable on it.
            evidence += f" ({unavailable}; the key is not re-enabled on incomplete evidence)"
            return False, evidence
        return verdict.reenable, evidence

    def _journal_own(self, key_arn: str, event_name: str, state: str) -> None:
        self.journal.record_transition(
            key_arn, Transition(self._now(), state, event_name, "keyguard journal", event_id=None)
        )

    @staticmethod
    def _call(operation: Callable[..., Any], key_id: str) -> str | None:
        """Call a KMS mutation with the key id (never the ARN); the error code on failure."""
        try:
            operation(KeyId=key_id)
        except (ClientError, BotoCoreError) as exc:
            logger.warning("remediation call failed", operation=operation.__name__, error=error_code(exc))
            return error_code(exc)
        return None

    @staticmethod
    def _state(kms: Any, key_id: str) -> tuple[str | None, str | None]:
        try:
            return str(kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]), None
        except (ClientError, BotoCoreError) as exc:
            return None, f"the key could not be re-read: {error_code(exc)}"

    def _tag_value(self, action: Action, record: CloudTrailRecord) -> str:
        when = self._now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{action.value} {when} event {record.event_id or 'unknown'}"[:256]

    def _tag(self, kms: Any, key_id: str, value: str) -> str:
        key = self.settings.intervention_tag_key
        try:
            kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": key, "TagValue": value}])
        except (ClientError, BotoCoreError) as exc:
            logger.warning("intervention tag failed", error=error_code(exc))
            return f"the {key} tag could not be written: {error_code(exc)}"
        return f"tagged {key}={value}"

    def _dry_run_steps(self, calls: list[str], key_id: str, tag_value: str) -> list[str]:
        steps = [f"dry-run: would call {call} --key-id {key_id}" for call in calls]
        steps.append(f"dry-run: would tag {self.settings.intervention_tag_key}={tag_value}")
        return steps
