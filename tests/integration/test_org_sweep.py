"""Organization-wide sweeps end to end under moto: the worker assumes a member account's discovery
role, runs the reconciliation or reminder pass there, and publishes to the hub's topic, whose SQS
subscriber is read back.

moto's ``sts:AssumeRole`` lands later calls in the member account (trust policies are not checked);
a role that cannot be assumed is STS's answer given by a Stubber. moto does not implement
``SelectAggregateResourceConfig``: the aggregator path gets Stubber answers in the API's shape
(``Results`` is a list of JSON strings, one per resource:
https://docs.aws.amazon.com/config/latest/APIReference/API_SelectAggregateResourceConfig.html).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws

from handlers.org_sweep import lambda_handler
from shared.accounts import MemberAccounts
from shared.aws import ClientFactory
from shared.config import Settings
from shared.org_sweep import QUERY_PAGE_SIZE, UNUSABLE_KEYS_QUERY, OrgSweeper
from tests.contract.test_org_templates import ROLES_PATH
from tests.integration.test_iam_runtime import _actions, granted_to
from tests.support.aws_calls import CallRecorder, answer, iam_action
from tests.support.cfn_yaml import load
from tests.support.lambda_context import FakeLambdaContext
from tests.unit.remediation.support import create_table

pytestmark = pytest.mark.integration

HUB = "123456789012"  # moto's own account: the hub
MEMBER = "210987654321"
REGION = "eu-west-1"  # the member Region swept
HUB_REGION = "us-east-1"  # the hub's home Region (the tests' default): its topic, queue and table
ORG_ID = "o-abcdef1234"
AGGREGATOR = "organization"


@dataclass
class Hub:
    topic_arn: str
    queue_url: str
    table: str

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert document the topic's SQS subscriber holds (and removes them)."""
        sqs = boto3.client("sqs", region_name=HUB_REGION)
        docs = []
        while True:
            answer = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return docs
            for message in messages:
                docs.append(json.loads(json.loads(message["Body"])["Message"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


@pytest.fixture
def hub() -> Iterator[Hub]:
    with mock_aws():
        sns = boto3.client("sns", region_name=HUB_REGION)
        sqs = boto3.client("sqs", region_name=HUB_REGION)
        topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        yield Hub(topic_arn, queue_url, create_table(HUB_REGION))


def member_kms() -> Any:
    """A KMS client acting in the member account (moto: calls land in the assumed role's account)."""
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{MEMBER}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.client(
        "kms",
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def sweeper(hub: Hub, **kwargs: Any) -> OrgSweeper:
    settings = Settings(
        alert_topic_arn=hub.topic_arn, organization_id=ORG_ID, idempotency_table_name=hub.table
    )
    return OrgSweeper(settings, ClientFactory(), hub_account=HUB, **kwargs)


def run(event: dict[str, Any], sweeper_: OrgSweeper) -> dict[str, Any]:
    return lambda_handler(event, FakeLambdaContext(), sweeper=sweeper_)  # type: ignore[arg-type]


def item(sweep: str = "reconcile", account: str = MEMBER) -> dict[str, Any]:
    return {"account": account, "region": REGION, "sweep": sweep}


def test_a_member_key_pending_deletion_gets_one_missed_event_alert(hub: Hub) -> None:
    # Given a key pending deletion in a member account, and one still enabled there
    kms = member_kms()
    key = kms.create_key(Description="payments")["KeyMetadata"]
    kms.create_key(Description="untouched")
    kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)

    # When the Map's item for that account and Region runs, twice (the next schedule)
    first = run(item(), sweeper(hub))
    again = run(item(), sweeper(hub))

    # Then one missed-event alert about the member's key reached the hub's subscriber
    (doc,) = hub.alerts()
    assert doc["kind"] == "missed-event"
    assert doc["key"]["arn"] == key["Arn"]
    assert f":{MEMBER}:" in key["Arn"]
    assert doc["key"]["state"] == "PendingDeletion"
    assert (first["account"], first["region"], first["sweep"]) == (MEMBER, REGION, "reconcile")
    assert (first["examined"], first["unusable"], first["sent"]) == (2, 1, 1)
    assert (again["sent"], again["already_alerted"]) == (0, 1)


def test_the_member_role_is_assumed_with_the_hubs_source_identity(hub: Hub) -> None:
    # Given a sweeper whose STS answers are recorded
    sweeper_ = sweeper(hub)
    sts = sweeper_.clients.client("sts", REGION)
    calls: list[dict[str, Any]] = []
    sts.meta.events.register("provide-client-params.sts.AssumeRole", lambda params, **_: calls.append(params))

    # When a member account is swept
    run(item(), sweeper_)

    # Then its discovery role was assumed, as kms-keyguard
    assert [(c["RoleArn"], c["SourceIdentity"]) for c in calls] == [
        (f"arn:aws:iam::{MEMBER}:role/kms-keyguard-discovery", "kms-keyguard")
    ]


def test_the_hub_account_is_swept_with_its_own_credentials(hub: Hub) -> None:
    # Given a disabled key in the hub account itself (which has no member roles), in another Region
    kms = boto3.client("kms", region_name=REGION)
    key = kms.create_key()["KeyMetadata"]
    kms.disable_key(KeyId=key["KeyId"])
    sweeper_ = sweeper(hub)
    sts = sweeper_.clients.client("sts", REGION)

    # When the hub account's item runs (no AssumeRole is answered)
    with Stubber(sts):
        summary = run(item(account=HUB), sweeper_)

    # Then its key is reported like any other
    assert summary["sent"] == 1
    assert [d["key"]["arn"] for d in hub.alerts()] == [key["Arn"]]


def test_an_account_whose_role_cannot_be_assumed_is_reported_not_swept(hub: Hub) -> None:
    # Given a member account whose discovery role refuses the hub
    member_kms().create_key()
    sweeper_ = sweeper(hub)
    sts = sweeper_.clients.client("sts", REGION)

    with Stubber(sts) as stub:
        stub.add_client_error("assume_role", "AccessDenied", http_status_code=403)
        # When its item runs
        summary = run(item(), sweeper_)

    # Then the receipt names the role and STS's answer; nothing is read in the hub instead
    assert summary == {
        "account": MEMBER,
        "region": REGION,
        "sweep": "reconcile",
        "error": f"AccessDenied assuming arn:aws:iam::{MEMBER}:role/kms-keyguard-discovery",
    }
    assert hub.alerts() == []


def test_a_member_deletion_three_days_away_gets_its_reminder(hub: Hub) -> None:
    # Given a member key whose deletion is three days away
    kms = member_kms()
    key = kms.create_key()["KeyMetadata"]
    deletion = kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)["DeletionDate"]
    now = deletion - timedelta(hours=60)

    # When the reminders item runs
    summary = run(item("reminders"), sweeper(hub, now=lambda: now))

    # Then one reminder is published for it
    assert summary["sent"] == 1
    (doc,) = hub.alerts()
    assert (doc["kind"], doc["key"]["arn"]) == ("reminder", key["Arn"])


@pytest.mark.parametrize(
    "event",
    [
        {"account": "not-an-account", "region": REGION, "sweep": "reconcile"},
        {"account": MEMBER, "region": REGION, "sweep": "delete-everything"},
        {"sweep": "reconcile"},  # no account, and no aggregator configured
        {},
    ],
)
def test_a_request_that_cannot_be_read_is_reported(hub: Hub, event: dict[str, Any]) -> None:
    summary = run(event, sweeper(hub))

    assert summary["error"].startswith("invalid request: ")
    assert hub.alerts() == []


# --- The aggregator path --------------------------------------------------------------------------


def row(account: str, key_id: str, state: str) -> str:
    """One result as SelectAggregateResourceConfig returns it: a JSON string."""
    return json.dumps(
        {
            "accountId": account,
            "awsRegion": REGION,
            "resourceId": key_id,
            "configuration": {"keyState": state, "deletionDate": "2026-12-08T00:00:00.000Z"},
        }
    )


def expect_query(stub: Stubber, results: list[str], next_token: str | None = None) -> None:
    expected: dict[str, Any] = {
        "Expression": UNUSABLE_KEYS_QUERY,
        "ConfigurationAggregatorName": AGGREGATOR,
        "Limit": QUERY_PAGE_SIZE,
    }
    if next_token == "second":
        expected["NextToken"] = ANY
    answer: dict[str, Any] = {"Results": results, "QueryInfo": {"SelectFields": [{"Name": "accountId"}]}}
    if next_token == "first":
        answer["NextToken"] = "page-2"
    stub.add_response("select_aggregate_resource_config", answer, expected)


def test_the_aggregator_names_keys_which_are_re_read_before_alerting(hub: Hub) -> None:
    # Given two member keys Config reports as pending deletion: one really is, the other was put back
    # since Config recorded it; and a row that cannot be read
    kms = member_kms()
    pending = kms.create_key()["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=pending["KeyId"], PendingWindowInDays=7)
    restored = kms.create_key()["KeyMetadata"]
    sweeper_ = sweeper(hub, aggregator=AGGREGATOR)
    config = sweeper_.clients.client("config")

    with Stubber(config) as stub:
        expect_query(stub, [row(MEMBER, pending["KeyId"], "PendingDeletion"), "{not json"], "first")
        expect_query(stub, [row(MEMBER, restored["KeyId"], "PendingDeletion")], "second")
        # When the schedule runs the aggregator sweep
        summary = run({"sweep": "reconcile"}, sweeper_)
        stub.assert_no_pending_responses()

    # Then only the key that is pending deletion now is alerted, once
    assert [d["key"]["arn"] for d in hub.alerts()] == [pending["Arn"]]
    assert summary == {
        "sweep": "reconcile",
        "aggregator": AGGREGATOR,
        "keys_reported": 2,
        "unreadable_rows": 1,
        "accounts": 1,
        "sent": 1,
        "errors": [],
    }


def test_the_query_selects_only_customer_keys_in_an_unusable_state() -> None:
    assert UNUSABLE_KEYS_QUERY == (
        "SELECT accountId, awsRegion, resourceId, configuration.keyState, configuration.deletionDate "
        "WHERE resourceType = 'AWS::KMS::Key' AND configuration.keyManager = 'CUSTOMER' "
        "AND configuration.keyState IN ('Disabled', 'PendingDeletion', 'PendingImport', "
        "'PendingReplicaDeletion', 'Unavailable')"
    )


def test_an_unreachable_account_on_the_aggregator_path_is_listed(hub: Hub) -> None:
    sweeper_ = sweeper(hub, aggregator=AGGREGATOR)
    config = sweeper_.clients.client("config")
    sts = sweeper_.clients.client("sts", REGION)

    with Stubber(config) as stub, Stubber(sts) as sts_stub:
        expect_query(stub, [row(MEMBER, "1234abcd-12ab-34cd-56ef-1234567890ab", "Disabled")])
        sts_stub.add_client_error("assume_role", "AccessDenied", http_status_code=403)
        summary = run({"sweep": "reminders"}, sweeper_)

    assert summary["errors"] == [
        {
            "account": MEMBER,
            "region": REGION,
            "sweep": "reminders",
            "error": f"AccessDenied assuming arn:aws:iam::{MEMBER}:role/kms-keyguard-discovery",
        }
    ]
    assert hub.alerts() == []


# --- Every call the worker makes is granted --------------------------------------------------------


class RecordingMembers(MemberAccounts):
    """Member accounts whose sessions record the IAM action of every call made through them."""

    def __init__(self, clients: ClientFactory) -> None:
        super().__init__(clients)
        self.recorders: list[CallRecorder] = []

    def _session(self, account: str, role_name: str, region: str, first: dict[str, Any]) -> boto3.Session:
        session = super()._session(account, role_name, region, first)
        self.recorders.append(CallRecorder(session))
        return session


def test_every_call_of_the_worker_is_granted_to_its_role_and_the_member_role(hub: Hub) -> None:
    # Given a member key pending deletion, a disabled key of the hub's own, and recording sessions
    kms = member_kms()
    pending = kms.create_key()["KeyMetadata"]
    deletion = kms.schedule_key_deletion(KeyId=pending["KeyId"], PendingWindowInDays=7)["DeletionDate"]
    own = boto3.client("kms", region_name=REGION)
    own.disable_key(KeyId=own.create_key()["KeyMetadata"]["KeyId"])
    session = boto3.Session(region_name=HUB_REGION)
    hub_calls = CallRecorder(session)
    # An answered call never reaches "before-call": record it when its parameters are built
    session.events.register(
        "provide-client-params.config.SelectAggregateResourceConfig",
        lambda model, **_: hub_calls.actions.add(iam_action(model)),
    )
    answer(
        session,
        "config",
        "SelectAggregateResourceConfig",
        {"Results": [row(MEMBER, pending["KeyId"], "PendingDeletion")], "QueryInfo": {}},
    )
    clients = ClientFactory(session)
    members = RecordingMembers(clients)
    settings = Settings(
        alert_topic_arn=hub.topic_arn, organization_id=ORG_ID, idempotency_table_name=hub.table
    )
    sweeper_ = OrgSweeper(
        settings,
        clients,
        hub_account=HUB,
        aggregator=AGGREGATOR,
        members=members,
        now=lambda: deletion - timedelta(hours=60),
    )

    # When every kind of sweep runs
    for event in (item(), item("reminders"), item(account=HUB), {"sweep": "reconcile"}):
        run(event, sweeper_)

    # Then the hub's calls are granted to the worker's role, the member's to its discovery role
    member_calls = {action for recorder in members.recorders for action in recorder.actions}
    assert {"sts:AssumeRole", "sns:Publish", "config:SelectAggregateResourceConfig"} <= hub_calls.actions
    assert {"kms:ListKeys", "kms:DescribeKey"} <= member_calls
    assert not hub_calls.actions - granted_to("OrgSweepRole")
    member_role = load(ROLES_PATH)["Resources"]["DiscoveryRole"]["Properties"]["Policies"]
    assert not member_calls - set(_actions(member_role))
