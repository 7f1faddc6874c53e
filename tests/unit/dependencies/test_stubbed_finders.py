"""Resource types moto does not emulate (or stores wrongly), tested against stubbed API answers.

Given an account with "ours" (naming the key in one form) and "theirs" (another key), when the
type's finder runs, then only "ours" is reported; when both use another key, nothing is.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from shared.aws import ClientFactory
from shared.dependencies import REGISTRY, run_finders
from shared.keyref import KeyIdentity

from .conftest import ACCOUNT, FAST_FAIL, REGION, later
from .stubs import STUBS, Calls

SESSION = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
CLIENTS = ClientFactory(SESSION, config=FAST_FAIL)  # clients are reused; each test stubs them afresh
FINDERS = {finder.name: finder for finder in REGISTRY}
FINDER_OF = {"backup-recovery-points": "backup-vaults"}
SINGLETONS = {"ebs-default-key", "xray-encryption", "glue-data-catalog"}
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
IDENTITY = KeyIdentity(
    key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}", aliases=frozenset({"alias/app-data"})
)
OTHER = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/ffffffff-12ab-34cd-56ef-1234567890ab"
FORMS = {
    "key-id": KEY_ID,
    "key-arn": IDENTITY.key_arn,
    "alias-name": "alias/app-data",
    "alias-arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/app-data",
}


def run_stubbed(finder_name: str, calls: Calls) -> tuple[list, list]:
    finder = FINDERS[finder_name]
    client = CLIENTS.client(finder.service, REGION)
    with Stubber(client) as stubber:
        for operation, response in calls:
            stubber.add_response(operation, response)
        outcome = run_finders([finder], IDENTITY, CLIENTS, later(), max_workers=1)
        stubber.assert_no_pending_responses()
    return outcome.items, outcome.unchecked


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("case", sorted(STUBS))
def test_stubbed_finder_reports_only_the_resource_using_the_key(case: str, form: str) -> None:
    # Given ours names the key in this form and theirs uses another key
    calls = STUBS[case](FORMS[form], OTHER)

    # When the finder runs
    items, unchecked = run_stubbed(FINDER_OF.get(case, case), calls)

    # Then ours alone is reported, with the reference as evidence
    assert unchecked == []
    assert len(items) == 1, items
    item = items[0]
    assert FORMS[form] in item.evidence
    if case not in SINGLETONS:
        assert "ours" in f"{item.name} {item.arn}"
        assert "theirs" not in f"{item.name} {item.arn}"


@pytest.mark.parametrize("case", sorted(STUBS))
def test_stubbed_finder_ignores_resources_using_another_key(case: str) -> None:
    # Given every resource uses another key
    calls = STUBS[case](OTHER, OTHER)

    # When the finder runs
    items, unchecked = run_stubbed(FINDER_OF.get(case, case), calls)

    # Then nothing is reported, and the finder did look
    assert unchecked == []
    assert items == []


def test_every_resource_type_has_a_test() -> None:
    from .test_moto_finders import CASES

    tested = {name for name, _, _ in CASES} | {FINDER_OF.get(case, case) for case in STUBS}
    assert tested == set(FINDERS)
