"""What the alert renderers share: how much of each part to show, what a renderer is given, the
SNS-safe JSON writer and a few wording helpers."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.document import AlertDocument, UncheckedEffect

PENDING_STATES = frozenset({"PendingDeletion", "PendingReplicaDeletion"})

_SURROGATE = re.compile("[\ud800-\udfff]")
_SNS_UNSAFE = re.compile("[\ufffe\uffff]")


@dataclass(frozen=True)
class RenderLimits:
    """How much of each repeated or long part a rendering shows."""

    items_shown: int = 20  # dependency items in the text report
    chat_items_shown: int = 5
    list_shown: int = 25  # tags, aliases, unchecked finders, grants, principals
    value_len: int = 200  # an ordinary untrusted value
    long_value_len: int = 512  # description, user agent, error message, notes


DEFAULT_LIMITS = RenderLimits()

# How each kind of unchecked finder is headed (``UncheckedFinder.effect``), in the order shown: only
# the first makes the search incomplete.
UNCHECKED_HEADINGS: tuple[tuple[UncheckedEffect, str], ...] = (
    ("incomplete", "Not checked"),
    ("not-offered", "Not offered in the Region, nothing to search"),
    ("evidence-only", "Usage evidence not read (the search is not incomplete for it)"),
)


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``1 day``, ``2 days``; ``nouns`` where adding an s is wrong."""
    return f"{count} {noun}" if count == 1 else f"{count} {nouns or noun + 's'}"


def days_phrase(count: int) -> str:
    """When something happens, from a count of days left."""
    return "within a day" if count <= 0 else f"in {plural(count, 'day')}"


def yes_no(value: bool | None, unknown: str = "unknown") -> str:
    return unknown if value is None else ("yes" if value else "no")


def split_shown(values: list[Any], limit: int) -> tuple[list[Any], int]:
    """The first ``limit`` values, and how many more there are."""
    return values[:limit], max(len(values) - limit, 0)


@dataclass(frozen=True)
class Rendering:
    """What a renderer is given: the alert (already trimmed to fit the message), the same alert as
    the JSON that machine subscribers receive, and how much of each repeated part to show."""

    doc: AlertDocument
    document_json: str
    limits: RenderLimits = DEFAULT_LIMITS


Renderer = Callable[[Rendering], str]
"""Writes one SNS protocol's body of the alert message."""


def sns_json(value: Any) -> str:
    """Compact JSON that SNS accepts and every JSON parser reads.

    A lone surrogate (never valid in UTF-8) becomes U+FFFD; the noncharacters U+FFFE and U+FFFF,
    which SNS refuses raw, are written as ``\\u`` escapes.
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = _SURROGATE.sub("\ufffd", text)
    return _SNS_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
