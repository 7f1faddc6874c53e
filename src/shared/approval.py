"""Approved deletions: parse the ``keyguard:allow-deletion`` tag value, and judge its CloudTrail record.

The value is a change reference followed by an expiry date (UTC, inclusive)::

    CHG-4711 until=2026-12-31

The expiry is required and may be at most ``ApprovalMaxDays`` days after the approval was tagged
(after today when the tagging time is unknown): an approval nobody has to renew is a standing
exemption. After the ``until`` day the approval has lapsed and the key is treated as unapproved. A
value that does not follow the grammar grants nothing, and the alert says why, so a typo never
silently exempts (or silently un-exempts) a key.

A well-formed approval is still only a tag, and tags are written by whoever holds
``kms:TagResource``, usually the same people who hold ``kms:ScheduleKeyDeletion``. So an approval is
honoured only once CloudTrail confirms it (``verify``): the ``TagResource`` that set this value came
before the deletion was scheduled (or the key disabled), and was made by a different principal.
Pure: the caller passes today's date and the records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.models import UserIdentity

# A change reference: starts with a letter or digit; letters, digits and the separators tag values
# allow (no ";" or "=", which the grammar uses). "true"/"yes" are rejected below: a switch is not a
# reference anyone can look up.
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:/+@#-]{0,99}$")
_NOT_A_REFERENCE = frozenset({"true", "false", "yes", "no", "1", "0", "y", "n", "on", "off"})
_CLAUSE = re.compile(r"\s*;\s*|\s+(?=[A-Za-z]+\s*=)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ApprovalStatus(StrEnum):
    NONE = "none"  # no tag
    APPROVED = "approved"  # well formed, within ApprovalMaxDays, not lapsed: honoured once verified
    EXPIRED = "expired"
    MALFORMED = "malformed"  # outside the grammar, no expiry, or an expiry too far out


class Verification(StrEnum):
    """What CloudTrail says about a well-formed approval. Only ``VERIFIED`` is honoured."""

    NOT_CHECKED = "not checked"  # the notice does not depend on it (reminders, tag changes, ...)
    VERIFIED = "verified"
    UNVERIFIED = "unverified"  # not confirmed within the deadline: throttled, timed out, not found
    SAME_PRINCIPAL = "forged: same principal"
    TAGGED_AFTER = "tagged after scheduling"


@dataclass(frozen=True)
class Approval:
    status: ApprovalStatus
    reference: str | None = None
    until: date | None = None
    problem: str | None = None  # why a malformed value grants nothing
    verification: Verification = Verification.NOT_CHECKED
    evidence: str | None = None  # what CloudTrail showed, or why it could not be checked

    @property
    def approved(self) -> bool:
        """Well formed and in force (the tag's own terms); not yet the same as honoured."""
        return self.status is ApprovalStatus.APPROVED

    @property
    def honoured(self) -> bool:
        """Exempts from remediation and lowers severity: in force and confirmed by CloudTrail."""
        return self.approved and self.verification is Verification.VERIFIED

    def checked(self, verification: Verification, evidence: str) -> Approval:
        return replace(self, verification=verification, evidence=evidence)

    @property
    def exemption(self) -> str:
        """The remediation's ``exempt: ...`` detail."""
        return f"approved deletion {self.reference} (verified in CloudTrail)"

    def describe(self, tag_key: str) -> str | None:
        """One sentence for the alert, or ``None`` when the key carries no approval tag."""
        if self.status is ApprovalStatus.EXPIRED:
            assert self.until is not None
            return (
                f"approval {self.reference} lapsed on {self.until.isoformat()}: "
                "the key is treated as unapproved"
            )
        if self.status is ApprovalStatus.MALFORMED:
            return f"{tag_key} tag ignored: {self.problem}; the key is treated as unapproved"
        if self.status is ApprovalStatus.NONE:
            return None
        valid = f"{self.reference} (valid until {self.until.isoformat() if self.until else '?'})"
        unapproved = "it is not honoured: the key is treated as unapproved"
        match self.verification:
            case Verification.VERIFIED:
                return f"approved deletion: {valid}, verified: {self.evidence}"
            case Verification.UNVERIFIED:
                return f"approval {valid} is unverified: {self.evidence}; {unapproved}"
            case Verification.SAME_PRINCIPAL:
                return f"approval {valid} is forged: {self.evidence}; {unapproved}"
            case Verification.TAGGED_AFTER:
                return f"approval {valid} was tagged after the fact: {self.evidence}; {unapproved}"
        why = self.evidence or "not looked up in CloudTrail for this notice"
        return f"approval {valid} on the key, not verified ({why})"


def approval_note(approval: Approval, tag_key: str) -> str | None:
    """The approval as a sentence for the alert's notes."""
    text = approval.describe(tag_key)
    if text is None:
        return None
    return (text if text.startswith(tag_key) else text[0].upper() + text[1:]) + "."


def parse_approval(
    value: str | None, today: date, *, max_days: int, tagged_on: date | None = None
) -> Approval:
    """The approval a tag value grants on ``today`` (UTC). ``until`` is required and may be at most
    ``max_days`` after ``tagged_on`` (the day the value was tagged; today when unknown)."""
    if value is None:
        return Approval(ApprovalStatus.NONE)
    # Clauses follow the reference after a space ("CHG-4711 until=2026-12-31": every character is one
    # AWS allows in a tag value) or after ";" (accepted, but outside that documented set).
    parts = [part.strip() for part in _CLAUSE.split(value)]
    reference = parts[0]
    if not reference:
        return _malformed("the value is empty; expected a change reference such as 'CHG-4711'")
    if reference.lower() in _NOT_A_REFERENCE:
        return _malformed(f"'{reference[:40]}' is not a change reference (expected e.g. 'CHG-4711')")
    if not _REFERENCE.match(reference):
        return _malformed(f"'{reference[:40]}' is not a valid change reference")
    until: date | None = None
    for part in parts[1:]:
        name, sep, raw = (piece.strip() for piece in part.partition("="))
        if not sep or name.lower() != "until":
            return _malformed(f"unknown clause '{part[:40]}' (only 'until=YYYY-MM-DD' is allowed)")
        if until is not None:
            return _malformed("'until' is given more than once")
        if not _DATE.match(raw):
            return _malformed(f"'until={raw[:20]}' is not a date in YYYY-MM-DD form")
        try:
            until = date.fromisoformat(raw)
        except ValueError:
            return _malformed(f"'until={raw}' is not a valid calendar date")
    if until is None:
        return _malformed(
            f"'{reference[:40]}' has no expiry; an approval needs one after the reference "
            f"('CHG-4711 until=YYYY-MM-DD'), at most {max_days} days after it is tagged"
        )
    if today > until:
        return Approval(ApprovalStatus.EXPIRED, reference, until)
    base = tagged_on or today
    if until > base + timedelta(days=max_days):
        since = f"it was tagged on {base.isoformat()}" if tagged_on else f"today, {base.isoformat()}"
        return _malformed(
            f"'until={until.isoformat()}' is {(until - base).days} days after {since}; "
            f"at most {max_days} days are allowed (ApprovalMaxDays)"
        )
    return Approval(ApprovalStatus.APPROVED, reference, until)


def _malformed(problem: str) -> Approval:
    return Approval(ApprovalStatus.MALFORMED, problem=problem)


# ----- who tagged, who scheduled ------------------------------------------------------------------
def principal_of(identity: UserIdentity) -> str | None:
    """The principal an approval is compared by, or ``None`` when the record does not identify one.

    An IAM user is its user; the root user is the account; an assumed role is the **role** (the
    session issuer), whatever the session is called: the session name is chosen by whoever calls
    ``AssumeRole``, so two sessions of one role are one principal. A federated user is the IAM user
    that federated it. IAM names are unique per account without regard to case or path, so the
    comparison is ``account:role/name`` in lower case.
    """
    kind, arn = identity.type, identity.arn or ""
    parts = arn.split(":")
    account = identity.account_id or (parts[4] if len(parts) > 5 else None)
    issuer = identity.session_context.session_issuer if identity.session_context else None
    if kind == "Root" and account:
        return f"{account}:root"
    if kind == "IAMUser" and len(parts) > 5 and parts[5].startswith("user/"):
        return f"{parts[4]}:user/{parts[5].rsplit('/', 1)[-1].lower()}"
    if kind in ("AssumedRole", "FederatedUser"):
        source = issuer.arn if issuer and issuer.arn else None
        if source and len(source.split(":")) > 5:
            what, name = source.split(":")[5].split("/", 1)[0], source.rsplit("/", 1)[-1]
            return f"{source.split(':')[4]}:{what}/{name.lower()}"
        if kind == "AssumedRole" and len(parts) > 5 and parts[5].startswith("assumed-role/"):
            return f"{parts[4]}:role/{parts[5].split('/')[1].lower()}"
    return None


def principal_label(identity: UserIdentity) -> str:
    """``role/approver (bob)``, ``user/alice``, ``the root user``: the principal, for people."""
    if identity.type == "Root":
        return "the root user"
    issuer = identity.session_context.session_issuer if identity.session_context else None
    arn = (issuer.arn if issuer and issuer.arn else None) or identity.arn
    if not arn:
        return identity.principal_id or identity.type or "an unidentified principal"
    name = arn.split(":", 5)[-1]
    session = identity.session_name
    return f"{name} ({session})" if session and identity.type == "AssumedRole" else name


# The words for the call an approval must precede.
_ACTED = {"ScheduleKeyDeletion": "the deletion was scheduled", "DisableKey": "the key was disabled"}


def judge(
    tagged_by: UserIdentity, tagged_at: datetime, acted_by: UserIdentity, acted_at: datetime, act: str
) -> tuple[Verification, str]:
    """Whether the ``TagResource`` that set the approval counts against the call it must precede
    (``act``: ``ScheduleKeyDeletion`` or ``DisableKey``), and the evidence in words.

    Strictly before: CloudTrail records times to the second, and a tag in the same second as the
    scheduling cannot be shown to precede it.
    """
    acted = _ACTED.get(act, f"{act} was called")
    tagger, actor = principal_label(tagged_by), principal_label(acted_by)
    when = f"{_iso(tagged_at)}; {acted} at {_iso(acted_at)}"
    if tagged_at >= acted_at:
        return Verification.TAGGED_AFTER, f"tagged by {tagger} at {when}"
    mine, theirs = principal_of(tagged_by), principal_of(acted_by)
    if mine is None or theirs is None:
        unknown = tagger if mine is None else actor
        return (
            Verification.UNVERIFIED,
            f"CloudTrail does not identify the principal {unknown} as a user or role",
        )
    if mine == theirs:
        return Verification.SAME_PRINCIPAL, (
            f"tagged by {tagger} at {when} by the same principal ({actor}); an approval must come "
            "from a different principal"
        )
    return Verification.VERIFIED, f"tagged by {tagger} at {when} by {actor}, a different principal"


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
