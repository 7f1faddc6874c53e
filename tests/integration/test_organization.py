"""Organization mode end to end under moto: an event forwarded from a member account is enriched,
searched and remediated in that account through its kms-keyguard roles, and published by the hub.

moto lets ``sts:AssumeRole`` into another account (later calls land in that account) but does not
forward an event's ``account`` across buses nor check trust policies: the forwarded events are
built by hand, as EventBridge delivers them (``account`` and ``region`` are the member's), and
a role that cannot be assumed is STS's answer given by a Stubber.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from shared.accounts import SOURCE_IDENTITY, MemberAccounts
from shared.aws import ClientFactory
from shared.config import Settings
from shared.document import AlertDocument
from shared.remediation import Remediator
from shared.responder import Responder
from tests.unit.remediation.support import FakeHistory

pytestmark = pytest.mark.integration

HUB = "123456789012"
MEMBER = "210987654321"
REGION = "eu-west-1"
ORG_ID = "o-abcdef1234"
HUB_ROLE = f"arn:aws:iam::{HUB}:role/kms-keyguard-KeyEventsRole-1A2B3C"
SAMPLE = Path(__file__).resolve().parents[2] / "events" / "schedule_key_deletion.json"


class Captured:
    def __init__(self) -> None:
        self.docs: list[AlertDocument] = []

    def publish(self, doc: AlertDocument) -> str:
        self.docs.append(doc)
        return f"message-{len(self.docs)}"


def member_client(service: str, account: str = MEMBER) -> Any:
    """A client acting in ``account`` (moto puts the calls of an assumed role in its account)."""
    creds = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/setup", RoleSessionName="setup"
    )["Credentials"]
    return boto3.client(
        service,
        region_name=REGION,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )


def forwarded(event_name: str, key_arn: str) -> dict[str, Any]:
    """The member's CloudTrail event as the central bus delivers it to the hub's rule."""
    event = json.loads(SAMPLE.read_text(encoding="utf-8"))
    text = json.dumps(event).replace("111122223333", MEMBER).replace("us-east-1", REGION)
    event = json.loads(text)
    event["detail"]["eventName"] = event_name
    event["detail"]["requestParameters"]["keyId"] = key_arn
    event["detail"]["responseElements"]["keyId"] = key_arn
    return event


def settings(**overrides: Any) -> Settings:
    return Settings(
        alert_topic_arn=f"arn:aws:sns:{REGION}:{HUB}:alerts",
        organization_id=ORG_ID,
        function_role_arn=HUB_ROLE,
        discovery_max_seconds=20,
        usage_lookback_days=0,
        **overrides,
    )


@pytest.fixture
def member_key() -> Iterator[str]:
    """A protected key of the member account with an alias, tags and a secret encrypted with it."""
    with mock_aws():
        kms = member_client("kms")
        key = kms.create_key(
            Description="orders", Tags=[{"TagKey": "team", "TagValue": "payments"},
                                        {"TagKey": "keyguard:protect", "TagValue": "true"}]
        )["KeyMetadata"]  # fmt: skip
        kms.create_alias(AliasName="alias/orders", TargetKeyId=key["KeyId"])
        member_client("secretsmanager").create_secret(
            Name="orders-db", SecretString="s3cret", KmsKeyId=key["Arn"]
        )
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        yield str(key["Arn"])


def test_a_member_event_is_enriched_and_searched_in_the_member_account(member_key: str) -> None:
    # Given the hub in organization mode, and a deletion scheduled in member account M
    publisher = Captured()
    responder = Responder(settings(), ClientFactory(), publisher=publisher)

    # When the forwarded event arrives
    receipt = responder.handle(forwarded("ScheduleKeyDeletion", member_key))

    # Then one alert names M's key with M's aliases, tags and dependencies
    (doc,) = publisher.docs
    assert receipt.key_arn == member_key
    assert member_key.split(":")[4] == MEMBER
    assert doc.key.readable
    assert doc.key.state == "PendingDeletion"
    assert doc.key.aliases == ["alias/orders"]
    assert doc.key.tags["team"] == "payments"
    names = {(item.resource_type, item.name) for item in doc.dependencies.items}
    assert ("AWS::SecretsManager::Secret", "orders-db") in names


def test_enforce_mode_cancels_the_deletion_in_the_member_account(member_key: str) -> None:
    # Given enforce mode (tagged scope) and a protected key of M pending deletion
    publisher = Captured()
    config = settings(remediation_mode="enforce")
    responder = Responder(
        config,
        ClientFactory(),
        publisher=publisher,
        # moto has no CloudTrail LookupEvents: the key's history is a stand-in
        member_remediator=lambda acting: Remediator(config, acting, history=FakeHistory()),
    )

    # When the forwarded event arrives
    responder.handle(forwarded("ScheduleKeyDeletion", member_key))

    # Then the deletion is cancelled in M, through the remediation role
    (doc,) = publisher.docs
    assert doc.remediation.outcome.startswith("cancelled"), doc.remediation.outcome
    state = member_client("kms").describe_key(KeyId=member_key)["KeyMetadata"]["KeyState"]
    assert state == "Disabled"


def test_a_missing_member_role_degrades_the_alert_and_names_the_role(member_key: str) -> None:
    # Given STS refuses the member's discovery role
    clients = ClientFactory()
    sts = clients.client("sts", REGION)
    role = f"arn:aws:iam::{MEMBER}:role/kms-keyguard-discovery"
    with Stubber(sts) as stub:
        stub.add_client_error("assume_role", "AccessDenied", http_status_code=403)
        publisher = Captured()
        responder = Responder(settings(), clients, publisher=publisher)

        # When the forwarded event arrives
        responder.handle(forwarded("ScheduleKeyDeletion", member_key))

    # Then the alert still goes out, unreadable, naming the role it could not assume
    (doc,) = publisher.docs
    assert doc.key.arn == member_key
    assert not doc.key.readable
    assert any(role in note and "AccessDenied" in note for note in doc.notes), doc.notes
    assert doc.dependencies.items == []


def test_the_hubs_own_events_are_handled_with_its_own_credentials() -> None:
    with mock_aws():
        kms = boto3.client("kms", region_name=REGION)
        key = kms.create_key(Description="hub key")["KeyMetadata"]
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        event = json.loads(json.dumps(forwarded("ScheduleKeyDeletion", key["Arn"])).replace(MEMBER, HUB))
        publisher = Captured()
        responder = Responder(settings(), ClientFactory(), publisher=publisher)
        responder.handle(event)
        (doc,) = publisher.docs
        assert doc.key.readable
        assert doc.key.arn == key["Arn"]
        assert responder._members == {}


def test_credentials_are_cached_per_account_and_role_until_they_expire() -> None:
    # Given STS answers twice, the second time after the first credentials are near expiry
    now = [datetime(2026, 12, 1, 10, tzinfo=UTC)]
    clients = ClientFactory()
    sts = clients.client("sts", REGION)
    role = f"arn:aws:iam::{MEMBER}:role/kms-keyguard-discovery"
    expected = {"RoleArn": role, "RoleSessionName": "kms-keyguard", "SourceIdentity": SOURCE_IDENTITY}

    def answer(expiry: datetime) -> dict[str, Any]:
        creds = {"AccessKeyId": "ASIAEXAMPLEKEYID01", "SecretAccessKey": "x" * 40,
                 "SessionToken": "token", "Expiration": expiry}  # fmt: skip
        return {"Credentials": creds}

    accounts = MemberAccounts(clients, clock=lambda: now[0])
    with Stubber(sts) as stub:
        stub.add_response("assume_role", answer(now[0] + timedelta(hours=1)), expected)
        stub.add_response("assume_role", answer(now[0] + timedelta(hours=2)), expected)
        # When the same role is asked for three times within the hour, then once more near expiry
        first = accounts.credentials(MEMBER, "kms-keyguard-discovery", REGION)
        assert accounts.credentials(MEMBER, "kms-keyguard-discovery", REGION) is first
        assert accounts.factory(MEMBER, "kms-keyguard-discovery", REGION) is accounts.factory(
            MEMBER, "kms-keyguard-discovery", REGION
        )
        now[0] += timedelta(minutes=56)
        later = accounts.credentials(MEMBER, "kms-keyguard-discovery", REGION)
        # Then STS was called once for the hour, and again only when the credentials neared expiry
        stub.assert_no_pending_responses()
    assert later is not first


def test_the_hubs_own_call_in_a_member_account_is_not_remediated_again(member_key: str) -> None:
    # Given enforce mode, and a call made in M through M's remediation role by the hub's session
    config = settings(remediation_mode="enforce")
    publisher = Captured()
    responder = Responder(
        config,
        ClientFactory(),
        publisher=publisher,
        member_remediator=lambda acting: Remediator(config, acting, history=FakeHistory()),
    )
    event = forwarded("ScheduleKeyDeletion", member_key)
    role = f"arn:aws:iam::{MEMBER}:role/kms-keyguard-remediation"
    event["detail"]["userIdentity"]["arn"] = f"arn:aws:sts::{MEMBER}:assumed-role/kms-keyguard-remediation/x"
    context = event["detail"]["userIdentity"]["sessionContext"]
    context["sessionIssuer"]["arn"] = role
    context["sourceIdentity"] = SOURCE_IDENTITY

    # When it comes back through the central bus
    responder.handle(event)

    # Then it is recognised as the hub's own (loop guard) and the key is left as it is
    (doc,) = publisher.docs
    assert doc.remediation.outcome == "skipped: caused by kms-keyguard (loop guard)"
    state = member_client("kms").describe_key(KeyId=member_key)["KeyMetadata"]["KeyState"]
    assert state == "PendingDeletion"
