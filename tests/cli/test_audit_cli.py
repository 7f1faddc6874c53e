"""``keyguard audit`` against the moto server: a compliant region, then a non-compliant account."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import jsonschema

from tests.cli.conftest import OTHER_REGION, REGION, Account, cli_env, run_cli, run_cli_process, schema


def _checks(report: dict, region: str) -> dict[str, dict]:
    audit = next(r for r in report["regions"] if r["region"] == region)
    return {check["id"]: check for check in audit["checks"]}


def test_compliant_region_passes_every_check_and_names_the_checkers_that_accept_the_filter(
    compliant: Account,
) -> None:
    # Given a region with the full CIS 4.7 chain and the project's rule
    # When it is audited as JSON
    result = run_cli("audit", "--regions", REGION, "--json", env=cli_env(compliant.endpoint))

    # Then every check passes, the document follows its schema and the exit code is 0
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, schema("cli-audit.schema.json"))
    checks = _checks(report, REGION)
    assert {c["status"] for c in checks.values()} == {"PASS"}
    assert "KeyEventsRule" in checks["eventbridge-rule"]["reason"]
    (flt,) = checks["metric-filter"]["details"]["filters"]
    # the exact CIS text: Security Hub, Prowler, Steampipe and Trivy accept it; ScoutSuite wants other spacing
    assert flt["accepted_by"] == {
        "security-hub": True,
        "prowler": True,
        "steampipe": True,
        "trivy": True,
        "scoutsuite": False,
    }


def test_human_report_shows_each_check_and_the_checker_table(compliant: Account) -> None:
    # Also the smoke test of the installed entry point: a real process, as a user runs it
    result = run_cli_process("audit", env=cli_env(compliant.endpoint))

    assert result.returncode == 0, result.stderr
    for text in ("trail", "metric-filter", "notification", "eventbridge-rule", "PASS", "security-hub"):
        assert text in result.stdout
    assert "FAIL" not in result.stdout.replace("0 FAIL", "")


def test_noncompliant_account_fails_with_reasons_and_fixes(noncompliant: Account) -> None:
    # Given a filter missing ScheduleKeyDeletion, an alarm without actions, no rule, a pending key
    result = run_cli(
        "audit", "--regions", f"{REGION},{OTHER_REGION}", "--json", env=cli_env(noncompliant.endpoint)
    )

    # Then the audit exits 1 and says what is wrong and how to fix it
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, schema("cli-audit.schema.json"))
    home = _checks(report, REGION)
    assert home["trail"]["status"] == "PASS"
    assert home["metric-filter"]["status"] == "FAIL"
    assert "does not count ScheduleKeyDeletion" in home["metric-filter"]["reason"]
    assert "put-metric-filter" in home["metric-filter"]["fix"]
    assert home["eventbridge-rule"]["status"] == "FAIL"
    other = _checks(report, OTHER_REGION)
    assert other["pending-deletion"]["status"] == "FAIL"
    assert "alias/reporting-2019 in 7 days" in other["pending-deletion"]["reason"]
    pending = next(r for r in report["regions"] if r["region"] == OTHER_REGION)["pending_deletion"]
    assert pending[0]["days_left"] == 7
    assert pending[0]["cancel_command"].startswith("aws kms cancel-key-deletion")


def test_an_expired_or_malformed_approval_tag_is_not_counted_as_approved(noncompliant: Account) -> None:
    # Given more keys pending deletion: a lapsed approval, "true", no expiry, one too far out, a valid one
    kms = noncompliant.client("kms", OTHER_REGION)
    soon = (datetime.now(UTC).date() + timedelta(days=10)).isoformat()
    tags = {
        "lapsed": "CHG-4711 until=2020-01-31",
        "switch": "true",
        "no-expiry": "CHG-4713",
        "too-far": "CHG-4714 until=2099-01-01",
        "valid": f"CHG-4712 until={soon}",
    }
    for name, value in tags.items():
        key_id = kms.create_key(Description=name)["KeyMetadata"]["KeyId"]
        kms.create_alias(AliasName=f"alias/approval-{name}", TargetKeyId=key_id)
        # Tagged before scheduling: KMS rejects TagResource on a key pending deletion.
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "keyguard:allow-deletion", "TagValue": value}])
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=30)

    # When the account is audited
    result = run_cli("audit", "--regions", OTHER_REGION, "--json", env=cli_env(noncompliant.endpoint))

    # Then only the well-formed approval counts, read as the responder reads it, and is called
    # unverified (the audit does not ask CloudTrail who tagged it); the report says why for the rest
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    jsonschema.validate(report, schema("cli-audit.schema.json"))
    pending = next(r for r in report["regions"] if r["region"] == OTHER_REGION)["pending_deletion"]
    by_alias = {key["aliases"][0]: key for key in pending if key["aliases"]}
    assert by_alias["alias/approval-valid"]["approval"] == "unverified"
    assert "not verified" in by_alias["alias/approval-valid"]["approval_note"]
    assert by_alias["alias/approval-lapsed"]["approval"] == "expired"
    assert "lapsed on 2020-01-31" in by_alias["alias/approval-lapsed"]["approval_note"]
    assert by_alias["alias/approval-switch"]["approval"] == "invalid"
    assert "not a change reference" in by_alias["alias/approval-switch"]["approval_note"]
    assert by_alias["alias/approval-no-expiry"]["approval"] == "invalid"
    assert "has no expiry" in by_alias["alias/approval-no-expiry"]["approval_note"]
    assert by_alias["alias/approval-too-far"]["approval"] == "invalid"
    assert "at most 30 days are allowed" in by_alias["alias/approval-too-far"]["approval_note"]
    check = _checks(report, OTHER_REGION)["pending-deletion"]
    assert check["status"] == "FAIL"
    assert "alias/approval-lapsed in 30 days" in check["reason"]
    assert "alias/approval-valid in 30 days (approval unverified)" in check["reason"]
    assert "approved" not in check["reason"]


def test_a_trail_without_management_events_gets_the_put_event_selectors_fix(noncompliant: Account) -> None:
    # Given the account's multi-Region trail stops recording management events
    noncompliant.client("cloudtrail").put_event_selectors(
        TrailName="management-events",
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": False}],
    )

    # When the account is audited
    result = run_cli("audit", "--regions", REGION, "--json", env=cli_env(noncompliant.endpoint))

    # Then the fix changes the trail's selectors instead of creating another trail
    report = json.loads(result.stdout)
    trail = _checks(report, REGION)["trail"]
    assert trail["status"] == "FAIL"
    assert "aws cloudtrail put-event-selectors" in trail["fix"]
    assert "--trail-name management-events" in trail["fix"]
    assert "create-trail" not in trail["fix"]
