"""The approval a key carries, confirmed against CloudTrail before anyone stands aside for it.

For a notice an approval can exempt (a deletion scheduled, a key disabled, a tripwire on a key pending
deletion or disabled), a well-formed approval is looked up in CloudTrail: the newest successful
``TagResource`` that set the tag to its current value on this key, and the call it must precede
(the record itself, or for a tripwire the newest ``ScheduleKeyDeletion`` / ``DisableKey`` of the key).
``approval.judge`` compares the two. Anything that cannot be confirmed within the deadline (throttled,
timed out, denied, not found: CloudTrail indexes calls minutes late) leaves the approval unverified,
and an unverified approval exempts nothing.

Order: the responder asks this before remediation decides whether to stand aside. Standing aside is
the path that changes nothing, so it is the one that must wait for evidence; the lookups are reads,
bounded by ``VERIFY_MAX_SECONDS`` and the function's deadline, and happen only when a well-formed
approval is on the key, so ``CancelKeyDeletion`` is still the first mutating call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from shared.approval import Approval, Verification, judge, parse_approval
from shared.aws import ClientFactory
from shared.config import Settings
from shared.events import Action, kms_event
from shared.history import HISTORY_DAYS, CallLookup, CloudTrailCalls, TrailCall
from shared.key_inventory import KeySnapshot
from shared.models import CloudTrailRecord
from shared.policy import is_tripwire
from shared.tagwatch import sets_tag

ACTIONS: tuple[str, ...] = ("cloudtrail:LookupEvents",)
VERIFY_MAX_SECONDS = 10.0  # of the function's time: discovery and publishing need the rest
# The call an approval must precede, for a notice that is not that call (a tripwire), by key state.
_ACT_FOR_STATE = {
    "PendingDeletion": "ScheduleKeyDeletion",
    "PendingReplicaDeletion": "ScheduleKeyDeletion",
    "Disabled": "DisableKey",
}


class ApprovalChecker:
    """Parses the key's approval tag and, where the notice depends on it, verifies it in CloudTrail."""

    def __init__(
        self,
        settings: Settings,
        clients: ClientFactory,
        *,
        calls: CallLookup | None = None,
        now: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._calls = calls or CloudTrailCalls(clients, monotonic=monotonic)
        self._now = now or (lambda: datetime.now(UTC))
        self._monotonic = monotonic

    def parse(self, value: str | None, tagged_on: datetime | None = None) -> Approval:
        """The tag value read by the one parser, with this deployment's ``ApprovalMaxDays``."""
        return parse_approval(
            value,
            self._now().date(),
            max_days=self.settings.approval_max_days,
            tagged_on=tagged_on.date() if tagged_on else None,
        )

    def assess(
        self, record: CloudTrailRecord, snapshot: KeySnapshot, deadline: float | None = None
    ) -> Approval:
        """The key's approval for this notice: verified, or why not (``NOT_CHECKED`` when the notice
        does not depend on it)."""
        value = (snapshot.tags or {}).get(self.settings.allow_deletion_tag_key)
        sets_now = value is not None and sets_tag(record, self.settings.allow_deletion_tag_key, value)
        approval = self.parse(value, record.event_time if sets_now else None)
        act = self._act(record, snapshot)
        if approval.approved and act is None:
            return approval.checked(
                Verification.NOT_CHECKED,
                "CloudTrail is asked when the key is disabled or its deletion scheduled",
            )
        if not approval.approved or act is None or snapshot.arn is None:
            return approval
        if self.settings.is_guard_key(snapshot.arn):
            return approval.checked(
                Verification.NOT_CHECKED, "approvals never apply to kms-keyguard's own keys"
            )
        limit = self._monotonic() + VERIFY_MAX_SECONDS
        return self._verify(approval, str(value), record, snapshot, act, min(deadline or limit, limit))

    def _act(self, record: CloudTrailRecord, snapshot: KeySnapshot) -> str | None:
        """The call the approval must precede, when this notice depends on the approval."""
        if record.failed and not is_tripwire(record.event_name, record.error_code, snapshot.state):
            return None
        if kms_event(record.event_name).remedy is not Action.NONE:
            return record.event_name
        if is_tripwire(record.event_name, record.error_code, snapshot.state):
            return _ACT_FOR_STATE.get(str(snapshot.state))
        return None

    def _verify(
        self,
        approval: Approval,
        value: str,
        record: CloudTrailRecord,
        snapshot: KeySnapshot,
        act_name: str,
        deadline: float,
    ) -> Approval:
        key_arn, now = str(snapshot.arn), self._now()
        oldest = now - timedelta(days=HISTORY_DAYS)
        if record.event_name == act_name and record.event_time is not None:
            act = TrailCall(act_name, record.event_time, record)
        else:
            found, read = self._calls.newest(act_name, key_arn, snapshot.region, oldest, deadline)
            if found is None:
                return approval.checked(
                    Verification.UNVERIFIED, f"the {act_name} call could not be found in CloudTrail ({read})"
                )
            act = found
        # The tag was written at most ApprovalMaxDays before its "until" day (else it is invalid).
        assert approval.until is not None
        earliest = datetime.combine(approval.until, datetime.min.time(), UTC) - timedelta(
            days=self.settings.approval_max_days + 1
        )
        tag_key = self.settings.allow_deletion_tag_key
        tag, read = self._calls.newest(
            "TagResource",
            key_arn,
            snapshot.region,
            max(oldest, earliest),
            deadline,
            lambda candidate: sets_tag(candidate, tag_key, value),
        )
        if tag is None:
            return approval.checked(
                Verification.UNVERIFIED,
                f"CloudTrail shows no TagResource that set this value on the key ({read}; CloudTrail "
                "indexes calls minutes after they are made)",
            )
        dated = self.parse(value, tag.time)  # ApprovalMaxDays counts from the day it was tagged
        if not dated.approved:
            return dated
        verification, evidence = judge(
            tag.record.user_identity, tag.time, act.record.user_identity, act.time, act_name
        )
        return approval.checked(verification, evidence)
