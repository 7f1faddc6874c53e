"""``keyguard impact`` against the moto server."""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.cli.conftest import Account, cli_env, run_cli, run_cli_process, schema


def test_key_with_dependencies_exits_3_and_json_follows_the_schema(compliant: Account) -> None:
    # Given the production key, which encrypts a bucket, two volumes and two secrets
    # When its impact is asked for by alias, as JSON
    # (a generous budget: the assertion is about what is found, not how fast a loaded machine is)
    result = run_cli("impact", "alias/prod-db", "--json", "--timeout", "90", env=cli_env(compliant.endpoint))

    # Then the key and dependencies sections come back and the exit code says "dependencies found"
    assert result.returncode == 3, result.stderr
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema("cli-impact.schema.json"))
    assert document["key"]["arn"] == compliant.key_arn
    assert "alias/prod-db" in document["key"]["aliases"]
    names = {item["name"] for item in document["dependencies"]["items"]}
    assert {"payments-ledger-prod", "prod/payments/db-password", "prod/payments/api-token"} <= names
    assert "analytics-scratch" not in names


def test_human_report_lists_dependencies_and_what_was_not_checked(compliant: Account) -> None:
    result = run_cli("impact", compliant.key_arn, "--timeout", "3", env=cli_env(compliant.endpoint))

    assert result.returncode == 3, result.stderr
    assert "Dependencies" in result.stdout
    assert "Not checked" in result.stdout  # moto lacks some APIs: shown, never hidden
    assert "dependent resources" in result.stdout


def test_key_nothing_uses_exits_0_or_4_as_the_search_was_complete_or_not(compliant: Account) -> None:
    result = run_cli(
        "impact", compliant.unused_key_id, "--json", "--timeout", "3", env=cli_env(compliant.endpoint)
    )

    document = json.loads(result.stdout)
    assert document["dependencies"]["items"] == []
    assert result.returncode == (0 if document["dependencies"]["complete"] else 4)


@pytest.mark.parametrize(
    ("args", "extra_env", "code", "message"),
    [
        (("alias/does-not-exist",), {}, 5, "key not found"),
        (("not a key",), {}, 2, "not a key reference"),
        (
            ("alias/prod-db",),
            {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": ""},
            6,
            "no AWS credentials",
        ),
    ],
    ids=["unknown-key", "bad-reference", "no-credentials"],
)
def test_bad_input_is_one_line_on_stderr_with_a_distinct_exit_code(
    compliant: Account, args: tuple[str, ...], extra_env: dict[str, str], code: int, message: str
) -> None:
    env = cli_env(compliant.endpoint, **extra_env)
    for name, value in extra_env.items():
        if not value:
            env.pop(name)

    result = run_cli("impact", *args, env=env)

    assert result.returncode == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_impact_runs_as_a_process(compliant: Account) -> None:
    # The smoke test of the installed entry point, against the server: an unknown key is exit code 5.
    result = run_cli_process("impact", "alias/does-not-exist", env=cli_env(compliant.endpoint))

    assert result.returncode == 5, result.stderr
    assert "key not found" in result.stderr
    assert result.stdout == ""
