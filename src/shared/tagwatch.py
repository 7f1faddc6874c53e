"""Changes to the protect and approval tags, read from a ``TagResource`` / ``UntagResource`` record.

KMS records the request as the API takes it, in lowerCamelCase: ``TagResource`` carries
``requestParameters.tags`` as ``[{"tagKey": ..., "tagValue": ...}]`` and ``UntagResource``
``requestParameters.tagKeys`` as a list of keys (the KMS guide's CloudTrail examples:
https://docs.aws.amazon.com/kms/latest/developerguide/ct-tagresource.html and
https://docs.aws.amazon.com/kms/latest/developerguide/ct-untagresource.html). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.models import CloudTrailRecord

# The protect tag's value that protects, compared as IAM's StringEqualsIgnoreCase compares it.
PROTECTED_VALUE = "true"


def protects(value: str | None) -> bool:
    return value is not None and value.lower() == PROTECTED_VALUE


@dataclass(frozen=True)
class TagChange:
    tag: str  # the tag key
    role: str  # "protect" | "approval"
    removed: bool
    value: str | None = None  # the value set (None when removed)

    @property
    def weakens_protection(self) -> bool:
        """The protect tag removed, or set to a value that does not protect."""
        return self.role == "protect" and (self.removed or not protects(self.value))


def _tags(record: CloudTrailRecord) -> list[Mapping[str, Any]]:
    tags = (record.request_parameters or {}).get("tags")
    return [tag for tag in tags if isinstance(tag, Mapping)] if isinstance(tags, list) else []


def tag_changes(record: CloudTrailRecord, protect_key: str, allow_key: str) -> list[TagChange]:
    """The protect and approval tag changes a successful call made, in the request's order."""
    if record.failed:
        return []
    roles = {protect_key: "protect", allow_key: "approval"}
    changes: list[TagChange] = []
    if record.event_name == "TagResource":
        for tag in _tags(record):
            key = tag.get("tagKey")
            if key in roles:
                value = tag.get("tagValue")
                changes.append(
                    TagChange(str(key), roles[str(key)], False, "" if value is None else str(value))
                )
    elif record.event_name == "UntagResource":
        keys = (record.request_parameters or {}).get("tagKeys")
        for key in keys if isinstance(keys, list) else []:
            if key in roles:
                changes.append(TagChange(str(key), roles[str(key)], True))
    return changes


def sets_tag(record: CloudTrailRecord, key: str, value: str) -> bool:
    """Whether the record is a successful ``TagResource`` that set ``key`` to exactly ``value``."""
    if record.event_name != "TagResource" or record.failed:
        return False
    return any(tag.get("tagKey") == key and tag.get("tagValue") == value for tag in _tags(record))
