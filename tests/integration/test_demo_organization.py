"""``make demo ARGS="--organization"``: the hub and two member accounts, end to end in moto.

The payments account's key is scheduled for deletion; the event reaches the hub as the central bus
delivers it, and the real handler enriches and searches it through the members' discovery roles.
The analytics account encrypts a bucket with that key, named in the key policy: the alert shows it.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import pytest

from keyguard_cli.demo.__main__ import main
from keyguard_cli.demo.organization import KEY_ALIAS, OUTSIDER, OrganizationWorld
from keyguard_cli.demo.run import run_organization_demo
from shared.document import AlertDocument
from tests.support.process_state import restored_process_state

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def organization_demo() -> tuple[OrganizationWorld, list[dict[str, Any]]]:
    """The organization and the envelopes the hub's queue received (``--mode off``)."""
    with restored_process_state():
        return run_organization_demo("off")


@pytest.fixture(scope="module")
def alert(organization_demo: tuple[OrganizationWorld, list[dict[str, Any]]]) -> AlertDocument:
    _, envelopes = organization_demo
    (envelope,) = envelopes
    return AlertDocument.model_validate(json.loads(envelope["Message"]))


@pytest.fixture(scope="module")
def world(organization_demo: tuple[OrganizationWorld, list[dict[str, Any]]]) -> OrganizationWorld:
    return organization_demo[0]


def test_the_hub_publishes_one_alert(
    organization_demo: tuple[OrganizationWorld, list[dict[str, Any]]],
) -> None:
    world, envelopes = organization_demo
    assert len(envelopes) == 1
    assert envelopes[0]["Subject"].startswith(f"[CRITICAL] {world.payments.account} {world.region}:")


def test_the_alert_names_the_payments_key_with_its_alias_and_tags(
    alert: AlertDocument, world: OrganizationWorld
) -> None:
    assert alert.key.arn == world.key_arn
    assert world.key_arn.split(":")[4] == world.payments.account
    assert alert.key.readable
    assert alert.key.state == "PendingDeletion"
    assert alert.key.aliases == [KEY_ALIAS]
    assert alert.key.tags["team"] == "payments"
    assert alert.key.tags["keyguard:protect"] == "true"


def test_the_payments_accounts_own_secret_is_listed(alert: AlertDocument) -> None:
    names = {(item.resource_type, item.name) for item in alert.dependencies.items}
    assert ("AWS::SecretsManager::Secret", "payments/ledger-db") in names


def test_the_analytics_bucket_encrypted_with_the_payments_key_is_listed(
    alert: AlertDocument, world: OrganizationWorld
) -> None:
    # Found in another account than the key's: the item says which
    buckets = [item for item in alert.dependencies.items if item.resource_type == "AWS::S3::Bucket"]
    assert [(b.name, b.account) for b in buckets if b.account == world.analytics.account] == [
        ("analytics-ledger-exports", world.analytics.account)
    ]


def test_the_key_policys_accounts_are_searched_or_said_to_be_outside(
    alert: AlertDocument, world: OrganizationWorld
) -> None:
    accounts = {search.account: search for search in alert.dependencies.accounts}
    analytics = accounts[world.analytics.account]
    assert analytics.searched
    assert analytics.found == 2  # the bucket and the queue
    outsider = accounts[OUTSIDER]
    assert not outsider.searched
    assert outsider.reason
    assert "outside the organization" in outsider.reason


def test_json_only_prints_one_json_document_and_combines_with_mode() -> None:
    # python -m keyguard_cli.demo --organization --mode enforce --json-only
    out = io.StringIO()
    with restored_process_state(), contextlib.redirect_stdout(out):
        assert main(["--organization", "--mode", "enforce", "--json-only"]) == 0

    doc = json.loads(out.getvalue())  # the whole of stdout is one JSON document
    assert doc["remediation"]["mode"] == "enforce"
    assert doc["remediation"]["outcome"].startswith("cancelled"), doc["remediation"]["outcome"]


def test_organization_refuses_another_event() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--organization", "--event", "disable_key"])
    assert exit_info.value.code == 2
