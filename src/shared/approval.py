"""Approved deletions: parse the ``keyguard:allow-deletion`` tag value.

The value is a change reference, optionally followed by an expiry date (UTC, inclusive)::

    CHG-4711
    CHG-4711; until=2026-12-31

A key with a valid, unexpired approval is exempt from remediation: an approved deletion is never
undone. After the ``until`` day the approval has lapsed and the key is treated as unapproved. A
value that does not follow the grammar grants nothing, and the alert says why, so a typo never
silently exempts (or silently un-exempts) a key. Pure: the caller passes today's date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

# A change reference: starts with a letter or digit; letters, digits and the separators tag values
# allow (no ";" or "=", which the grammar uses). "true"/"yes" are rejected below: a switch is not a
# reference anyone can look up.
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.:/+@#-]{0,99}$")
_NOT_A_REFERENCE = frozenset({"true", "false", "yes", "no", "1", "0", "y", "n", "on", "off"})
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ApprovalStatus(StrEnum):
    NONE = "none"  # no tag
    APPROVED = "approved"
    EXPIRED = "expired"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class Approval:
    status: ApprovalStatus
    reference: str | None = None
    until: date | None = None
    problem: str | None = None  # why a malformed value grants nothing

    @property
    def approved(self) -> bool:
        return self.status is ApprovalStatus.APPROVED

    def describe(self, tag_key: str) -> str | None:
        """One sentence for the alert, or ``None`` when the key carries no approval tag."""
        if self.status is ApprovalStatus.APPROVED:
            suffix = f" (valid until {self.until.isoformat()})" if self.until else ""
            return f"approved deletion: {self.reference}{suffix}"
        if self.status is ApprovalStatus.EXPIRED:
            assert self.until is not None
            return (
                f"approval {self.reference} lapsed on {self.until.isoformat()}: "
                "the key is treated as unapproved"
            )
        if self.status is ApprovalStatus.MALFORMED:
            return f"{tag_key} tag ignored: {self.problem}; the key is treated as unapproved"
        return None


def approval_note(approval: Approval, tag_key: str) -> str | None:
    """The approval as a sentence for the alert's notes."""
    text = approval.describe(tag_key)
    if text is None:
        return None
    return (text if text.startswith(tag_key) else text[0].upper() + text[1:]) + "."


def parse_approval(value: str | None, today: date) -> Approval:
    """The approval a tag value grants on ``today`` (UTC)."""
    if value is None:
        return Approval(ApprovalStatus.NONE)
    parts = [part.strip() for part in value.split(";")]
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
    if until is not None and today > until:
        return Approval(ApprovalStatus.EXPIRED, reference, until)
    return Approval(ApprovalStatus.APPROVED, reference, until)


def _malformed(problem: str) -> Approval:
    return Approval(ApprovalStatus.MALFORMED, problem=problem)
