"""What a TagResource / UntagResource record did to the protect and approval tags (``shared.tagwatch``),
on records shaped like the KMS guide's examples (``requestParameters.tags[{tagKey, tagValue}]``,
``requestParameters.tagKeys[]``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.models import CloudTrailRecord
from shared.tagwatch import TagChange, sets_tag, tag_changes

EVENTS = Path(__file__).resolve().parents[2] / "events"
PROTECT, ALLOW = "keyguard:protect", "keyguard:allow-deletion"


def _sample(name: str) -> CloudTrailRecord:
    return CloudTrailRecord.model_validate(json.loads((EVENTS / f"{name}.json").read_text())["detail"])


def _record(name: str, request: dict[str, Any], **extra: Any) -> CloudTrailRecord:
    return CloudTrailRecord.model_validate({"eventName": name, "requestParameters": request, **extra})


@pytest.mark.parametrize(
    ("record", "changes"),
    [
        (_sample("untag_protect"), [TagChange(PROTECT, "protect", True)]),
        (
            _sample("tag_approval_by_approver"),
            [TagChange(ALLOW, "approval", False, "CHG-4711 until=2026-12-20")],
        ),
        (
            _record("TagResource", {"tags": [{"tagKey": PROTECT, "tagValue": "TRUE"}]}),
            [TagChange(PROTECT, "protect", False, "TRUE")],
        ),
        (
            _record("TagResource", {"tags": [{"tagKey": "team", "tagValue": "x"}, {"tagKey": PROTECT,
                                                                               "tagValue": "no"}]}),
            [TagChange(PROTECT, "protect", False, "no")],
        ),
        (
            _record("UntagResource", {"tagKeys": ["team", ALLOW, PROTECT]}),
            [TagChange(ALLOW, "approval", True), TagChange(PROTECT, "protect", True)],
        ),
        (_record("TagResource", {"tags": [{"tagKey": "team", "tagValue": "x"}]}), []),
        (_record("UntagResource", {"tagKeys": [PROTECT]}, errorCode="AccessDeniedException"), []),
        (_record("TagResource", {"tags": "not a list"}), []),
        (_record("UntagResource", None), []),
    ],
)  # fmt: skip
def test_the_watched_tags_a_call_changed(record: CloudTrailRecord, changes: list[TagChange]) -> None:
    assert tag_changes(record, PROTECT, ALLOW) == changes


@pytest.mark.parametrize(
    ("change", "weakens"),
    [
        (TagChange(PROTECT, "protect", True), True),
        (TagChange(PROTECT, "protect", False, "false"), True),
        (TagChange(PROTECT, "protect", False, " true"), True),  # never trimmed, as IAM compares it
        (TagChange(PROTECT, "protect", False, "True"), False),
        (TagChange(ALLOW, "approval", True), False),
    ],
)
def test_only_removing_or_unsetting_the_protect_tag_weakens_protection(
    change: TagChange, weakens: bool
) -> None:
    assert change.weakens_protection is weakens


def test_sets_tag_matches_the_exact_value_of_a_successful_tag_resource() -> None:
    record = _sample("tag_approval_by_scheduler")
    assert sets_tag(record, ALLOW, "CHG-4711 until=2026-12-20")
    assert not sets_tag(record, ALLOW, "CHG-4711 until=2026-12-21")
    assert not sets_tag(record, PROTECT, "CHG-4711 until=2026-12-20")
    failed = record.model_copy(update={"error_code": "AccessDeniedException"})
    assert not sets_tag(failed, ALLOW, "CHG-4711 until=2026-12-20")
