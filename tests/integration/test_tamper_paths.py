"""Tamper alerts take both alert paths, under moto: a copy on the health topic first (best effort),
then the alert topic (whose failure fails the invocation). Each topic has an SQS subscriber."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world
from shared.errors import AlertDeliveryError
from tests.contract.records import api_call
from tests.unit.remediation.support import documents, make_responder

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False)


def _health_topic(world: World) -> tuple[str, str]:
    """The health topic and the URL of a queue subscribed to it."""
    sns, sqs = boto3.client("sns", region_name=world.region), boto3.client("sqs", region_name=world.region)
    topic = sns.create_topic(Name="kms-keyguard-health")["TopicArn"]
    queue = sqs.create_queue(QueueName="health-subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    return topic, queue


def _health_documents(world: World, queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name=world.region)
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(json.loads(m["Body"])["Message"]) for m in messages]


def _delete_alert_topic(world: World) -> dict[str, Any]:
    return api_call("sns", "DeleteTopic", {"topicArn": world.topic_arn})


def test_a_tamper_alert_reaches_both_the_alert_and_the_health_topic(
    world: World, lambda_context: Any
) -> None:
    health, queue = _health_topic(world)
    responder = make_responder(world, health_topic_arn=health)

    receipt = lambda_handler(_delete_alert_topic(world), lambda_context, responder=responder)

    (alert,) = documents(world)
    (copy,) = _health_documents(world, queue)
    assert (alert["kind"], copy["kind"]) == ("tamper", "tamper")
    assert copy["alert_id"] == alert["alert_id"] == receipt["alert_id"]


def test_with_the_alert_topic_gone_the_health_topic_still_gets_the_tamper_alert(
    world: World, lambda_context: Any
) -> None:
    # Given the attacker deleted the alert topic (the event says so, and it is gone)
    health, queue = _health_topic(world)
    boto3.client("sns", region_name=world.region).delete_topic(TopicArn=world.topic_arn)
    responder = make_responder(world, health_topic_arn=health)

    # When the DeleteTopic event arrives, the invocation fails (Lambda retries; the Errors alarm fires)
    with pytest.raises(AlertDeliveryError):
        lambda_handler(_delete_alert_topic(world), lambda_context, responder=responder)

    # Then the health topic's subscriber has already read who deleted it
    (copy,) = _health_documents(world, queue)
    assert copy["kind"] == "tamper"
    assert copy["event"]["name"] == "DeleteTopic"
    assert copy["target"]["name"] == world.topic_arn


def test_a_lost_health_copy_never_stops_the_alert(
    world: World, lambda_context: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a health topic that no longer exists
    gone = world.topic_arn.rsplit(":", 1)[0] + ":kms-keyguard-health-gone"
    responder = make_responder(world, health_topic_arn=gone)

    lambda_handler(
        api_call("cloudtrail", "StopLogging", {"name": "management-events"}),
        lambda_context,
        responder=responder,
    )

    # Then the alert topic has it, and the lost copy is counted
    (alert,) = documents(world)
    assert alert["kind"] == "tamper"
    assert '"AlertCopyFailed"' in capsys.readouterr().out


def test_key_alerts_go_to_the_alert_topic_only(world: World, lambda_context: Any) -> None:
    health, queue = _health_topic(world)
    responder = make_responder(world, health_topic_arn=health)
    event = world.event("disable_key")

    lambda_handler(event, lambda_context, responder=responder)

    assert len(documents(world)) == 1
    assert _health_documents(world, queue) == []
