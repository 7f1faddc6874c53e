"""KMS key references: parse, complete and match every form a caller or a resource may use.

A key can be named by key id, multi-Region key id (``mrk-``), key ARN, alias name or alias ARN.
Matching is what dependency discovery relies on: a resource that names the key in any of these
forms (or names a replica of a multi-Region key) uses it; anything else does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

_ARN = re.compile(
    r"^arn:(?P<partition>aws[a-z-]*):kms:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<resource>key|alias)/(?P<name>.+)$"
)
_KEY_ID = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|mrk-[0-9a-fA-F]{32})$"
)


class RefKind(StrEnum):
    KEY_ID = "key-id"
    KEY_ARN = "key-arn"
    ALIAS_NAME = "alias-name"
    ALIAS_ARN = "alias-arn"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class KeyReference:
    """One parsed reference. ``value`` is the key id or the alias name (``alias/...``)."""

    raw: str
    kind: RefKind
    value: str
    region: str | None = None
    account: str | None = None
    partition: str = "aws"

    @property
    def is_alias(self) -> bool:
        return self.kind in (RefKind.ALIAS_NAME, RefKind.ALIAS_ARN)

    def arn(self, account: str | None = None, region: str | None = None) -> str | None:
        """The full ARN, completing a bare id or alias name with the given account and region."""
        if self.kind is RefKind.UNKNOWN:
            return None
        acct = self.account or account
        reg = self.region or region
        if not acct or not reg:
            return None
        resource = self.value if self.is_alias else f"key/{self.value}"
        return f"arn:{self.partition}:kms:{reg}:{acct}:{resource}"


def parse_key_reference(raw: str | None) -> KeyReference | None:
    """Parse whatever a caller typed or a resource stores; ``None`` for empty input."""
    if raw is None:
        return None
    text = str(raw).strip()
    if not text:
        return None
    match = _ARN.match(text)
    if match:
        if match["resource"] == "key":
            return KeyReference(
                text, RefKind.KEY_ARN, match["name"], match["region"], match["account"], match["partition"]
            )
        return KeyReference(
            text,
            RefKind.ALIAS_ARN,
            f"alias/{match['name']}",
            match["region"],
            match["account"],
            match["partition"],
        )
    if text.startswith("alias/") and len(text) > len("alias/"):
        return KeyReference(text, RefKind.ALIAS_NAME, text)
    if _KEY_ID.match(text):
        return KeyReference(text, RefKind.KEY_ID, text.lower() if not text.startswith("mrk-") else text)
    return KeyReference(text, RefKind.UNKNOWN, text)


@dataclass(frozen=True)
class KeyIdentity:
    """Everything that names one key: its ARN, its aliases, and for a multi-Region key its replicas.

    ``matches`` answers "does this stored reference point at our key?" for a reference found in a
    resource of ``resource_region`` owned by ``resource_account``.
    """

    key_arn: str
    aliases: frozenset[str] = field(default_factory=frozenset)  # alias names, "alias/..."
    related_arns: frozenset[str] = field(default_factory=frozenset)  # multi-Region primary/replicas
    # Searched from another account: there a bare key id or alias name names that account's own key,
    # so only a reference that carries the key's account (key ARN, alias ARN) can be ours.
    foreign: bool = False

    @property
    def key_id(self) -> str:
        return self.key_arn.rsplit("/", 1)[-1]

    @property
    def account(self) -> str:
        return self.key_arn.split(":")[4]

    @property
    def region(self) -> str:
        return self.key_arn.split(":")[3]

    @property
    def all_key_arns(self) -> frozenset[str]:
        return frozenset({self.key_arn, *self.related_arns})

    @property
    def regions(self) -> list[str]:
        """The key's region first, then every replica region."""
        ordered = [self.region]
        for arn in sorted(self.related_arns):
            region = arn.split(":")[3]
            if region not in ordered:
                ordered.append(region)
        return ordered

    def matches(
        self, reference: str | None, resource_region: str | None = None, resource_account: str | None = None
    ) -> bool:
        ref = parse_key_reference(reference)
        if ref is None or ref.kind is RefKind.UNKNOWN or (self.foreign and ref.account is None):
            return False
        region = resource_region or self.region
        account = resource_account or self.account
        if ref.is_alias:
            # Alias names are regional; only aliases in the key's own region are known to us.
            alias_region = ref.region or region
            alias_account = ref.account or account
            return alias_account == self.account and alias_region == self.region and ref.value in self.aliases
        arn = ref.arn(account, region)
        return arn is not None and arn in self.all_key_arns
