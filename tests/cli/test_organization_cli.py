"""``keyguard audit --organization``, ``keyguard impact --organization`` and ``--account`` against
the moto server.

The organization (moto): the management account (the caller, compliant), a member whose CIS chain
is complete ("passing"), one with the non-compliant setup of ``seed_noncompliant`` ("failing") and
one whose discovery role is missing ("no-role"). moto lets any role be assumed, so the missing role
is STS's real answer for it, given before the call reaches moto: ``AccessDenied`` (which AWS also
returns for a role that does not exist: https://docs.aws.amazon.com/STS/latest/APIReference/
API_AssumeRole.html). Calls made with the assumed credentials land in the member's moto backend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.handlers
import jsonschema
import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders

from keyguard_cli.checkers import CIS_4_7_PATTERN
from tests.cli.conftest import (
    OTHER_REGION,
    PROJECT_PATTERN,
    REGION,
    Account,
    _creds,
    cli_env,
    reset,
    run_cli,
    schema,
    seed_alarm,
    seed_compliant,
    seed_noncompliant,
    seed_trail,
)

MANAGEMENT = "123456789012"  # moto's default account: the caller's credentials
ROLE = "kms-keyguard-discovery"


@dataclass
class Member(Account):
    """An account of the organization, reached as moto maps an assumed role's credentials."""

    account_id: str = ""
    credentials: dict[str, str] = field(default_factory=dict)

    def client(self, service: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint, **self.credentials)


def _member(endpoint: str, account_id: str) -> Member:
    sts = boto3.client("sts", region_name=REGION, endpoint_url=endpoint, **_creds())
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/seeding", RoleSessionName="seed")[
        "Credentials"
    ]
    return Member(
        endpoint,
        trail_bucket=f"cloudtrail-{account_id}",
        account_id=account_id,
        credentials={
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        },
    )


def seed_cis_chain(account: Account) -> None:
    """The complete CIS 4.7 chain and the project's rule in us-east-1, without the demo's keys."""
    group, _ = seed_trail(account)
    metric = "CIS-4.7-DisableOrScheduleDeletionOfCMK"
    account.client("logs").put_metric_filter(
        logGroupName=group,
        filterName=metric,
        filterPattern=CIS_4_7_PATTERN,
        metricTransformations=[{"metricName": metric, "metricNamespace": "CISBenchmark", "metricValue": "1"}],
    )
    topic = account.client("sns").create_topic(Name="kms-keyguard-alerts")["TopicArn"]
    sqs = account.client("sqs")
    queue_url = sqs.create_queue(QueueName="security-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    account.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    seed_alarm(account, metric, [topic])
    events = account.client("events")
    events.put_rule(Name="kms-keyguard-KeyEventsRule-XYZ", EventPattern=json.dumps(PROJECT_PATTERN))
    # A member forwards to the hub's central bus, as org/member-rules.yaml does.
    hub_bus = "arn:aws:events:us-east-1:123456789012:event-bus/kms-keyguard"
    events.put_targets(Rule="kms-keyguard-KeyEventsRule-XYZ", Targets=[{"Id": "hub", "Arn": hub_bus}])


@dataclass
class Organization:
    endpoint: str
    members: dict[str, str]  # name -> account id

    def close(self, name: str) -> None:
        orgs = boto3.client("organizations", region_name=REGION, endpoint_url=self.endpoint, **_creds())
        orgs.close_account(AccountId=self.members[name])


@pytest.fixture
def organization(compliant: Account) -> Iterator[Organization]:
    endpoint = compliant.endpoint
    reset(endpoint)
    orgs = boto3.client("organizations", region_name=REGION, endpoint_url=endpoint, **_creds())
    orgs.create_organization(FeatureSet="ALL")
    members = {}
    for name in ("passing", "failing", "no-role"):
        status = orgs.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        members[name] = status["AccountId"]
    seed_cis_chain(Account(endpoint))
    seed_cis_chain(_member(endpoint, members["passing"]))
    seed_noncompliant(_member(endpoint, members["failing"]))
    try:
        yield Organization(endpoint, members)
    finally:
        reset(endpoint)
        seed_compliant(compliant)


@contextmanager
def aws_refuses(event: str, code: str, status: int, when: Callable[[dict[str, Any]], bool]) -> Iterator[None]:
    """The call named by ``event`` answers the error ``code`` as AWS does, when ``when(request body)``
    (in every botocore session made inside the block; everything else still goes to moto)."""

    def refuse(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        body = params.get("body")
        if not when(body if isinstance(body, dict) else {}):
            return None
        error = {"Type": "Sender", "Code": code, "Message": f"refused: {code}"}
        return AWSResponse("https://aws.invalid/", status, HTTPHeaders(), None), {
            "Error": error,
            "ResponseMetadata": {"HTTPStatusCode": status},
        }

    entry: tuple[str, Callable[..., Any]] = (event, refuse)
    botocore.handlers.BUILTIN_HANDLERS.append(entry)
    try:
        yield
    finally:
        botocore.handlers.BUILTIN_HANDLERS.remove(entry)


def sts_refuses(*role_arns: str) -> Any:
    """STS answers AccessDenied for these roles, as AWS does for a missing or untrusting role."""
    return aws_refuses(
        "before-call.sts.AssumeRole", "AccessDenied", 403, lambda b: b.get("RoleArn") in role_arns
    )


def _role(account: str) -> str:
    return f"arn:aws:iam::{account}:role/{ROLE}"


def _audit_org(org: Organization, *args: str) -> Any:
    with sts_refuses(_role(org.members["no-role"])):
        return run_cli("audit", "--organization", "--regions", REGION, *args, env=cli_env(org.endpoint))


def test_organization_audit_lists_every_account_and_exits_with_the_worst(organization: Organization) -> None:
    # Given the management account and "passing" compliant, "failing" not, "no-role" without its role
    # When the whole organization is audited as JSON
    result = _audit_org(organization, "--json")

    # Then the document follows its schema and lists every active account, one row per account-Region
    report = json.loads(result.stdout)
    jsonschema.validate(report, schema("cli-audit-organization.schema.json"))
    rows = {row["account"]: row for row in report["rows"]}
    members = organization.members
    assert set(rows) == {MANAGEMENT, *members.values()}
    assert rows[MANAGEMENT]["result"] == "PASS"
    assert rows[members["passing"]]["result"] == "PASS"
    assert rows[members["failing"]]["result"] == "FAIL"
    assert rows[members["failing"]]["worst_finding"].startswith("metric-filter: kms-disable-only")
    unreachable = rows[members["no-role"]]
    assert unreachable["result"] == "NOT AUDITED"
    assert unreachable["region"] is None
    assert f"cannot assume {_role(members['no-role'])}: AccessDenied" in unreachable["worst_finding"]
    assert unreachable["exit_code"] == 11
    # And the exit code is the worst account's: a FAIL outranks an account that could not be read
    assert result.returncode == 1, result.stderr
    assert report["exit_code"] == 1
    assert report["summary"] == {
        "accounts": 4,
        "accounts_passing": 2,
        "accounts_failing": 1,
        "accounts_not_audited": 1,
        "account_regions": 3,
        "passing": 2,
        "failing": 1,
        "unknown": 0,
    }
    by_account = {a["account"]: a for a in report["accounts"]}
    assert by_account[members["failing"]]["report"]["account"] == members["failing"]


def test_an_unassumable_role_is_the_worst_when_nothing_fails_and_closed_accounts_are_skipped(
    organization: Organization,
) -> None:
    # Given the failing account is closed (SUSPENDED: no longer ACTIVE)
    organization.close("failing")

    # When the organization is audited
    result = _audit_org(organization, "--json")

    # Then the closed account is not audited at all, and the account whose role is missing decides
    report = json.loads(result.stdout)
    assert organization.members["failing"] not in {row["account"] for row in report["rows"]}
    assert result.returncode == 11, result.stderr


def test_piped_summary_is_one_table_without_progress_bar_or_colour(organization: Organization) -> None:
    # When the organization is audited with stdout and stderr piped
    result = _audit_org(organization)

    # Then stdout holds one summary table naming every account, and the verdict
    members = organization.members
    assert result.stdout.count("Summary") == 1
    for account in (MANAGEMENT, *members.values()):
        assert account in result.stdout
    assert f"FAIL: {members['failing']} ({REGION})" in result.stdout
    assert f"NOT AUDITED: {members['no-role']}" in result.stdout
    assert "CIS 4.7 is not met everywhere." in result.stdout
    assert "2 PASS  1 FAIL  0 UNKNOWN" in result.stdout
    # And no escape sequence (colour, cursor movement of a progress bar) anywhere
    assert "\x1b" not in result.stdout + result.stderr
    assert "Auditing the organization" not in result.stderr
    assert result.returncode == 1


def test_every_enabled_region_of_each_account_is_audited_without_regions(organization: Organization) -> None:
    # When no --regions is given, each account's enabled Regions (DescribeRegions) are audited
    with sts_refuses(_role(organization.members["no-role"])):
        result = run_cli("audit", "--organization", "--json", env=cli_env(organization.endpoint))

    # Then the failing account's key pending deletion in another Region is found as well
    report = json.loads(result.stdout)
    failing = [row for row in report["rows"] if row["account"] == organization.members["failing"]]
    regions = {row["region"]: row for row in failing}
    assert {REGION, OTHER_REGION} <= set(regions)
    assert len(regions) > 2
    assert regions[OTHER_REGION]["worst_finding"].startswith(("trail", "metric-filter", "pending-deletion"))
    assert result.returncode == 1


def test_audit_of_one_member_account_runs_in_that_account(organization: Organization) -> None:
    # When one member account is audited through its role
    failing = organization.members["failing"]
    result = run_cli(
        "audit", "--account", failing, "--regions", OTHER_REGION, "--json", env=cli_env(organization.endpoint)
    )

    # Then the report is that account's, with its key pending deletion
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    assert report["account"] == failing
    (region,) = report["regions"]
    assert region["pending_deletion"][0]["aliases"] == ["alias/reporting-2019"]


@pytest.mark.parametrize("command", [("audit",), ("impact", "alias/prod-db")])
def test_a_role_that_cannot_be_assumed_is_one_line_and_exit_11(
    organization: Organization, command: tuple[str, ...]
) -> None:
    no_role = organization.members["no-role"]
    with sts_refuses(_role(no_role)):
        result = run_cli(*command, "--account", no_role, env=cli_env(organization.endpoint))

    assert result.returncode == 11
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"keyguard: cannot assume {_role(no_role)}: AccessDenied (no such role, or it does not trust you)"
    )


def test_impact_in_a_member_account_reads_that_accounts_key(organization: Organization) -> None:
    # Given a key in the "passing" member account
    member = _member(organization.endpoint, organization.members["passing"])
    key = member.client("kms").create_key(Description="member key")["KeyMetadata"]
    member.client("kms").create_alias(AliasName="alias/member-data", TargetKeyId=key["KeyId"])

    # When its impact is asked for through --account, by alias
    result = run_cli(
        "impact",
        "alias/member-data",
        "--account",
        member.account_id,
        "--json",
        env=cli_env(organization.endpoint),
    )

    # Then the key is read in that account
    assert result.returncode in (0, 4), result.stderr
    assert json.loads(result.stdout)["key"]["arn"] == key["Arn"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("audit", "--account", "12345"), "not an account id: '12345'"),
        (("audit", "--organization", "--account", MANAGEMENT), "cannot be combined"),
        (("audit", "--organization", "--max-workers", "0"), "--max-workers must be between 1 and 32"),
        (
            (
                "impact",
                "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "--account",
                MANAGEMENT,
            ),
            f"is in account 111111111111, not --account {MANAGEMENT}",
        ),
    ],
)
def test_bad_account_options_are_usage_errors(
    compliant: Account, args: tuple[str, ...], message: str
) -> None:
    result = run_cli(*args, env=cli_env(compliant.endpoint))
    assert result.returncode == 2
    assert message in result.stderr


def test_an_account_outside_an_organization_cannot_audit_one(compliant: Account) -> None:
    # moto lists no accounts outside an organization; AWS answers AWSOrganizationsNotInUseException
    # (https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html: errors)
    with aws_refuses(
        "before-call.organizations.ListAccounts", "AWSOrganizationsNotInUseException", 400, lambda _: True
    ):
        result = run_cli("audit", "--organization", env=cli_env(compliant.endpoint))
    assert result.returncode == 2
    assert result.stderr.strip() == "keyguard: --organization: this account is not in an organization"


def test_a_caller_that_may_not_list_the_accounts_is_told_where_to_run_it(compliant: Account) -> None:
    with aws_refuses("before-call.organizations.ListAccounts", "AccessDeniedException", 400, lambda _: True):
        result = run_cli("audit", "--organization", env=cli_env(compliant.endpoint))
    assert result.returncode == 7
    assert "management account or a delegated administrator" in result.stderr


def test_the_audit_calls_exactly_what_audit_actions_lists(
    organization: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the compliant management account and the failing member (every branch of the chain)
    from keyguard_cli.audit import AUDIT_ACTIONS, Auditor
    from keyguard_cli.organization import enabled_regions
    from keyguard_cli.session import aws_context

    for name, value in cli_env(organization.endpoint).items():
        monkeypatch.setenv(name, value)
    calls: set[str] = set()
    names = {"monitoring": "cloudwatch", "cloudtrail": "cloudtrail"}

    def record(call: str) -> None:
        service, operation = call.split(":", 1)
        calls.add(f"{names.get(service, service)}:{operation}")

    caller = aws_context(None, REGION)
    for ctx in (caller, caller.assume(organization.members["failing"], ROLE, REGION)):
        ctx.clients.on_call = record
        # When each is audited in two Regions, after listing its Regions
        enabled_regions(ctx, REGION)
        Auditor(ctx.clients, ctx.account()).run([REGION, OTHER_REGION])

    # Then AUDIT_ACTIONS (what the member role grants operators) is exactly what was called
    assert calls == AUDIT_ACTIONS


# ----- keyguard impact KEY --organization: one alias present in some accounts only --------------

ALIAS = "alias/app-data"


def _key_with_alias(org: Organization, name: str) -> tuple[str, Any]:
    member = _member(org.endpoint, org.members[name])
    kms = member.client("kms")
    key = kms.create_key(Description=f"{name} app data")["KeyMetadata"]
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key["KeyId"])
    return str(key["Arn"]), member


def _impact_org(org: Organization, reference: str, *args: str) -> Any:
    with sts_refuses(_role(org.members["no-role"])):
        return run_cli(
            "impact", reference, "--organization", "--regions", REGION, "--timeout", "30", *args,
            env=cli_env(org.endpoint),
        )  # fmt: skip


def test_the_alias_is_found_in_each_account_that_has_it_and_searched_there(
    organization: Organization,
) -> None:
    # Given alias/app-data in "passing" (a queue encrypted with its key) and in "failing" (nothing uses it)
    used_arn, used = _key_with_alias(organization, "passing")
    idle_arn, _ = _key_with_alias(organization, "failing")
    used.client("sqs").create_queue(QueueName="orders", Attributes={"KmsMasterKeyId": used_arn})

    # When its impact is asked for across the organization
    result = _impact_org(organization, ALIAS, "--json")

    # Then the document follows its schema, with one row per place the key is, and the unreachable account
    report = json.loads(result.stdout)
    jsonschema.validate(report, schema("cli-impact-organization.schema.json"))
    rows = {row["account"]: row for row in report["rows"]}
    members = organization.members
    assert set(rows) == {members["passing"], members["failing"], members["no-role"]}
    assert (rows[members["passing"]]["key_arn"], rows[members["passing"]]["result"]) == (
        used_arn,
        "DEPENDENCIES",
    )
    assert rows[members["passing"]]["dependencies"] == 1
    assert "AWS::SQS::Queue 1" in rows[members["passing"]]["detail"]
    assert rows[members["failing"]]["key_arn"] == idle_arn
    assert rows[members["failing"]]["dependencies"] == 0
    assert rows[members["failing"]]["result"] in ("NONE FOUND", "INCOMPLETE")
    unreachable = rows[members["no-role"]]
    assert (unreachable["result"], unreachable["region"], unreachable["exit_code"]) == (
        "NOT SEARCHED",
        None,
        11,
    )
    assert f"cannot assume {_role(members['no-role'])}: AccessDenied" in unreachable["detail"]
    # And each found key carries its impact document; the caller's account has no such alias (no row)
    assert {(k["account"], k["impact"]["key"]["arn"]) for k in report["keys"]} == {
        (members["passing"], used_arn),
        (members["failing"], idle_arn),
    }
    assert MANAGEMENT not in rows
    assert report["summary"]["keys_found"] == 2
    assert report["summary"]["accounts"] == 4
    # And the exit code is the worst: dependencies found outranks an account that could not be read
    assert result.returncode == report["exit_code"] == 3, result.stderr


def test_a_key_found_nowhere_while_an_account_was_unreadable_is_not_called_absent(
    organization: Organization,
) -> None:
    # When no readable account has the alias, and "no-role" could not be read
    result = _impact_org(organization, "alias/nowhere")

    # Then the answer is "not known" (the member role), not "the key does not exist"
    assert result.returncode == 11, result.stderr
    assert "exists in none of them" not in result.stdout
    assert "Found in 0 of 3 account-regions read (4 accounts, 1 not searched)" in result.stdout


def test_a_key_found_nowhere_in_a_fully_read_organization_exits_5(organization: Organization) -> None:
    # Given every account can be read (STS refuses nothing) and none has the alias
    result = run_cli(
        "impact", "alias/nowhere", "--organization", "--regions", REGION, env=cli_env(organization.endpoint)
    )

    # Then the summary table is empty, the verdict says so, and the exit code is 5
    assert result.returncode == 5, result.stderr
    assert "alias/nowhere exists in none of them." in result.stdout
    assert "Found in 0 of 4 account-regions read (4 accounts, 0 not searched)" in result.stdout


def test_a_place_where_the_key_cannot_be_described_is_not_searched_and_not_called_absent(
    organization: Organization,
) -> None:
    # Given KMS refuses DescribeKey everywhere (a key policy that shuts the member role out)
    with aws_refuses("before-call.kms.DescribeKey", "AccessDeniedException", 400, lambda _: True):
        result = run_cli(
            "impact",
            ALIAS,
            "--organization",
            "--regions",
            REGION,
            "--json",
            env=cli_env(organization.endpoint),
        )

    # Then each place is a row saying so, read as `keyguard impact` reads it, and the exit code is
    # "access denied", never "found nowhere"
    report = json.loads(result.stdout)
    rows = [row for row in report["rows"] if row["region"] == REGION]
    assert len(rows) == len(report["rows"]) == 4  # every account (STS refuses nothing here)
    assert {row["result"] for row in rows} == {"NOT SEARCHED"}
    assert all(
        row["detail"].startswith(f"access denied: kms:DescribeKey on arn:aws:kms:{REGION}:") for row in rows
    )
    assert report["summary"]["keys_found"] == 0
    assert result.returncode == report["exit_code"] == 7, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            (
                "impact",
                "arn:aws:kms:us-east-1:111111111111:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "--organization",
            ),
            "names account 111111111111: use --account 111111111111",
        ),
        (("impact", ALIAS, "--organization", "--account", MANAGEMENT), "cannot be combined"),
        (("impact", ALIAS, "--regions", REGION), "--regions needs --organization"),
        (
            ("impact", ALIAS, "--organization", "--max-workers", "33"),
            "--max-workers must be between 1 and 32",
        ),
    ],
)
def test_bad_organization_impact_options_are_usage_errors(
    organization: Organization, args: tuple[str, ...], message: str
) -> None:
    result = run_cli(*args, env=cli_env(organization.endpoint))
    assert result.returncode == 2
    assert message in result.stderr
