"""Key references: every form a caller or a resource may use, parsed, completed and matched."""

from __future__ import annotations

import pytest

from shared.keyref import KeyIdentity, RefKind, parse_key_reference

ACCOUNT = "111122223333"
REGION = "us-east-1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
MRK = "mrk-1234abcd12ab34cd56ef1234567890ab"


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        (KEY_ID, RefKind.KEY_ID, KEY_ID),
        (KEY_ID.upper(), RefKind.KEY_ID, KEY_ID),
        (MRK, RefKind.KEY_ID, MRK),
        (KEY_ARN, RefKind.KEY_ARN, KEY_ID),
        ("alias/prod-db", RefKind.ALIAS_NAME, "alias/prod-db"),
        (f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/prod-db", RefKind.ALIAS_ARN, "alias/prod-db"),
        (f"arn:aws-us-gov:kms:us-gov-west-1:{ACCOUNT}:key/{KEY_ID}", RefKind.KEY_ARN, KEY_ID),
        ("not-a-key", RefKind.UNKNOWN, "not-a-key"),
    ],
)
def test_parse_recognises_every_reference_form(raw: str, kind: RefKind, value: str) -> None:
    ref = parse_key_reference(raw)
    assert ref is not None
    assert ref.kind is kind
    assert ref.value == value


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_parse_returns_none_for_empty_input(raw: str | None) -> None:
    assert parse_key_reference(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (KEY_ID, KEY_ARN),
        ("alias/prod-db", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/prod-db"),
        (KEY_ARN, KEY_ARN),
    ],
)
def test_arn_completes_ids_and_alias_names_with_account_and_region(raw: str, expected: str) -> None:
    ref = parse_key_reference(raw)
    assert ref is not None
    assert ref.arn(ACCOUNT, REGION) == expected


def test_arn_is_none_when_account_or_region_is_unknown() -> None:
    ref = parse_key_reference(KEY_ID)
    assert ref is not None
    assert ref.arn(None, REGION) is None


IDENTITY = KeyIdentity(key_arn=KEY_ARN, aliases=frozenset({"alias/prod-db"}))


@pytest.mark.parametrize(
    "reference",
    [KEY_ID, KEY_ARN, "alias/prod-db", f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/prod-db"],
)
def test_identity_matches_every_form_of_its_own_key(reference: str) -> None:
    assert IDENTITY.matches(reference, REGION, ACCOUNT)


@pytest.mark.parametrize(
    "reference",
    [
        "0987dcba-09fe-87dc-65ba-ab0987654321",
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0987dcba-09fe-87dc-65ba-ab0987654321",
        "alias/other",
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/prod-db",  # same alias name, other region
        f"arn:aws:kms:{REGION}:444455556666:key/{KEY_ID}",  # same id, other account
        "alias/aws/s3",
        None,
        "",
    ],
)
def test_identity_never_matches_another_key(reference: str | None) -> None:
    assert not IDENTITY.matches(reference, REGION, ACCOUNT)


def test_bare_key_id_in_another_region_is_not_the_key() -> None:
    assert not IDENTITY.matches(KEY_ID, "eu-west-1", ACCOUNT)


def test_multi_region_identity_matches_replicas_by_mrk_id_in_their_region() -> None:
    primary = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{MRK}"
    replica = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{MRK}"
    identity = KeyIdentity(key_arn=primary, related_arns=frozenset({replica}))
    assert identity.matches(MRK, "eu-west-1", ACCOUNT)
    assert identity.matches(replica)
    assert not identity.matches(MRK, "ap-south-1", ACCOUNT)
    assert identity.regions == [REGION, "eu-west-1"]
