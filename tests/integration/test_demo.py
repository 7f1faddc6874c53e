"""``make demo``: the real handler in the demo account, with the APIs moto lacks answered in place.

The demo's own emulation is under test here (nowhere else does a test use it): the whole dependency
search completes in the demo account, and the usage evidence comes from its canned CloudTrail.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from keyguard_cli.demo.emulation import MOTO_LACKS
from keyguard_cli.demo.run import run_demo
from tests.support.process_state import restored_process_state

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def enforce_demo() -> dict[str, Any]:
    """The alert document of ``make demo ARGS="--mode enforce"``."""
    with restored_process_state():
        (envelope,) = run_demo("schedule_key_deletion", "enforce")
    return dict(json.loads(envelope["Message"]))


def test_the_enforce_demo_shows_a_cancelled_deletion(enforce_demo: dict[str, Any]) -> None:
    assert enforce_demo["remediation"]["mode"] == "enforce"
    assert enforce_demo["remediation"]["outcome"].startswith("cancelled")
    assert enforce_demo["key"]["state"] == "Disabled"


def test_every_finder_is_answered_in_the_demo_account(enforce_demo: dict[str, Any]) -> None:
    # moto or, for what it lacks, the demo's emulation: nothing is left unchecked
    deps = enforce_demo["dependencies"]
    assert deps["unchecked"] == []
    assert deps["complete"] is True
    names = {item["name"] for item in deps["items"]}
    assert {"payments-ledger-prod", "prod/payments/db-password", "prod/payments/api-token"} <= names


def test_the_demo_shows_usage_from_its_canned_cloudtrail(enforce_demo: dict[str, Any]) -> None:
    usage = enforce_demo["dependencies"]["usage"]
    assert usage["events_examined"] == 3
    assert {p["principal"].rsplit("/", 1)[-1] for p in usage["principals"]} == {
        "payments-api",
        "ledger-writer",
    }


def test_the_list_of_what_moto_lacks_names_real_operations() -> None:
    import botocore.session

    session = botocore.session.get_session()
    for service, operation in MOTO_LACKS:
        assert operation in session.get_service_model(service).operation_names, (service, operation)


def test_the_imported_material_demo_shows_the_key_pending_import() -> None:
    # Given the demo of a DeleteImportedKeyMaterial sample (a call moto does not implement)
    with restored_process_state():
        (envelope,) = run_demo("delete_imported_key_material", "off")
    doc = json.loads(envelope["Message"])

    # Then the alert shows the key as AWS leaves it: an imported-material key pending import
    assert doc["key"]["state"] == "PendingImport"
    assert doc["key"]["origin"] == "EXTERNAL"
    assert doc["severity"] == "critical"


def test_the_stop_logging_demo_shows_a_critical_tamper_alert() -> None:
    # make demo ARGS="--event stop_logging"
    with restored_process_state():
        (envelope,) = run_demo("stop_logging")
    doc = json.loads(envelope["Message"])
    assert (doc["kind"], doc["severity"]) == ("tamper", "critical")
    assert doc["target"]["resource_type"] == "CloudTrail trail"
    assert envelope["Subject"].startswith(
        "[CRITICAL] 123456789012 us-east-1: kms-keyguard tampered with: StopLogging"
    )
