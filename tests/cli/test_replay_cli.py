"""``keyguard replay``: files in every shape, bad files, and the embedded demo account."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from tests.cli.conftest import ROOT, Account, cli_env, run_cli, run_cli_process, schema


def _record(key_arn: str) -> dict:
    event = json.loads((ROOT / "events" / "disable_key.json").read_text())
    text = json.dumps(event["detail"])
    sample_arn = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    return json.loads(text.replace(sample_arn, key_arn).replace("111122223333", "123456789012"))


def test_cloudtrail_log_file_replays_every_kms_record_in_dry_run(compliant: Account, tmp_path: Path) -> None:
    # Given a CloudTrail log file with one KMS record among other services' records
    s3_record = {"eventSource": "s3.amazonaws.com", "eventName": "PutObject", "awsRegion": "us-east-1"}
    log_file = tmp_path / "log.json"
    log_file.write_text(json.dumps({"Records": [s3_record, _record(compliant.key_arn)]}))

    # When it is replayed against the account
    # (a budget a cold emulator answers within: the first call of each service loads its backend)
    env = cli_env(compliant.endpoint, DISCOVERY_MAX_SECONDS="30")
    result = run_cli("replay", str(log_file), "--json", env=env)

    # Then the KMS record becomes one alert document (in an array, as for any file), assessed in
    # dry-run and published nowhere
    assert result.returncode == 0, result.stderr
    (document,) = json.loads(result.stdout)
    jsonschema.validate(document, schema("alert.schema.json"))
    assert document["event"]["name"] == "DisableKey"
    assert document["key"]["arn"] == compliant.key_arn
    assert document["remediation"]["mode"] == "dry-run"
    assert document["dependencies"]["total"] >= 3


@pytest.mark.parametrize(
    ("content", "code", "message"),
    [
        (None, 8, "cannot read"),
        ("{not json", 8, "not valid JSON"),
        (json.dumps({"eventSource": "s3.amazonaws.com", "eventName": "PutObject"}), 9, "not a KMS event"),
    ],
    ids=["missing-file", "invalid-json", "not-kms"],
)
def test_unusable_files_are_one_line_errors(
    tmp_path: Path, content: str | None, code: int, message: str
) -> None:
    path = tmp_path / "event.json"
    if content is not None:
        path.write_text(content)

    result = run_cli("replay", str(path), env=cli_env(None))

    assert result.returncode == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_replay_runs_as_a_process() -> None:
    # The smoke test of the installed entry point: a bad file is a one-line error and exit code 8.
    result = run_cli_process("replay", "does-not-exist.json", env=cli_env(None))

    assert result.returncode == 8
    assert "cannot read" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_replay_runs_the_sample_in_the_embedded_account() -> None:
    env = cli_env(None, DISCOVERY_MAX_SECONDS="8")
    result = run_cli("replay", "--demo", str(ROOT / "events" / "schedule_key_deletion.json"), env=env)

    assert result.returncode == 0, result.stderr
    assert "scheduled for deletion in 7 days" in result.stdout
    assert "DEPENDENCIES" in result.stdout
    assert "dry-run" in result.stdout


def test_replay_never_uses_the_deployed_idempotency_table(monkeypatch: pytest.MonkeyPatch) -> None:
    from keyguard_cli.replay import replay_settings

    monkeypatch.setenv("IDEMPOTENCY_TABLE_NAME", "kms-keyguard-IdempotencyTable")
    assert replay_settings(enforce=False, publish=False, topic_arn=None).idempotency_table_name is None


def test_the_native_key_deletion_event_replays_as_a_deleted_notice() -> None:
    env = cli_env(None, DISCOVERY_MAX_SECONDS="8")
    result = run_cli("replay", "--demo", "--json", str(ROOT / "events" / "key_deleted.json"), env=env)

    assert result.returncode == 0, result.stderr
    (document,) = json.loads(result.stdout)
    jsonschema.validate(document, schema("alert.schema.json"))
    assert document["kind"] == "deleted"


def test_an_event_the_rules_never_route_makes_no_alert_and_says_so() -> None:
    result = run_cli(
        "replay", "--demo", "--json", str(ROOT / "events" / "unrelated_create_key.json"), env=cli_env(None)
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert "no alert: CreateKey is not routed to kms-keyguard" in result.stderr


def test_piped_output_is_not_wrapped_and_has_no_colour() -> None:
    # Given stdout and stderr are not a terminal (captured) and no COLUMNS is set
    env = {k: v for k, v in cli_env(None).items() if k != "COLUMNS"}
    result = run_cli("replay", "--demo", str(ROOT / "events" / "unrelated_create_key.json"), env=env)

    # Then the one-line message stays one line, with no escape codes
    assert result.stderr.count("\n") == 1, result.stderr
    assert "\x1b[" not in result.stderr
