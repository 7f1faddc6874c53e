"""``keyguard audit`` against the moto server: a compliant region, then a non-compliant account."""

from __future__ import annotations

import json

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
