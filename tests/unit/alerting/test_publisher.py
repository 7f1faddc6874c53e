"""Publishing through SNS: what a subscriber receives, and failures that must reach Lambda."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import ANY, Stubber
from moto import mock_aws

from shared.alerting import ACTIONS, SnsPublisher, build_message
from shared.document import AlertDocument
from shared.errors import AlertDeliveryError
from tests.unit.alerting import samples

REGION = "eu-west-1"
TOPIC_ARN = f"arn:aws:sns:{REGION}:123456789012:kms-keyguard-alerts"


@pytest.fixture
def aws(aws_env: None) -> Iterator[dict[str, Any]]:
    """An SNS topic with an SQS subscriber (raw message delivery off), inside moto."""
    with mock_aws():
        sns = boto3.client("sns", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        topic_arn = sns.create_topic(Name="kms-keyguard-alerts")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(
            TopicArn=topic_arn,
            Protocol="sqs",
            Endpoint=queue_arn,
            Attributes={"RawMessageDelivery": "false"},
        )
        yield {"sns": sns, "sqs": sqs, "topic_arn": topic_arn, "queue_url": queue_url}


def _receive(aws: dict[str, Any]) -> dict[str, Any]:
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    return json.loads(messages[0]["Body"])


def test_actions_name_the_only_permission_the_publisher_needs() -> None:
    assert ACTIONS == ("sns:Publish",)


def test_an_sqs_subscriber_receives_the_alert_document(aws: dict[str, Any]) -> None:
    doc = samples.critical_scheduled_deletion()
    message_id = SnsPublisher(aws["sns"], aws["topic_arn"]).publish(doc)
    envelope = _receive(aws)
    assert envelope["MessageId"] == message_id
    assert envelope["TopicArn"] == aws["topic_arn"]
    assert envelope["Subject"] == (
        "[CRITICAL] 111122223333 eu-west-1: alias/prod-db scheduled for deletion (7d), 12 dependents"
    )
    assert AlertDocument.model_validate_json(envelope["Message"]) == doc
    assert envelope["MessageAttributes"]["severity"] == {"Type": "String", "Value": "critical"}
    assert envelope["MessageAttributes"]["event_name"] == {"Type": "String", "Value": "ScheduleKeyDeletion"}


def test_a_hostile_alert_arrives_intact_for_machines(aws: dict[str, Any]) -> None:
    doc = samples.hostile_input()
    SnsPublisher(aws["sns"], aws["topic_arn"]).publish(doc)
    assert AlertDocument.model_validate_json(_receive(aws)["Message"]) == doc


def test_a_missing_topic_raises_alert_delivery_error(aws: dict[str, Any]) -> None:
    publisher = SnsPublisher(aws["sns"], f"arn:aws:sns:{REGION}:123456789012:no-such-topic")
    with pytest.raises(AlertDeliveryError, match="NotFound") as raised:
        publisher.publish(samples.failed_access_denied())
    assert isinstance(raised.value.__cause__, ClientError)


@pytest.mark.parametrize("code", ["AuthorizationError", "KMSAccessDenied", "Throttled", "InternalError"])
def test_an_sns_error_raises_alert_delivery_error(code: str) -> None:
    client = boto3.client("sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    doc = samples.failed_access_denied()
    with Stubber(client) as stubber:
        stubber.add_client_error("publish", service_error_code=code, http_status_code=400)
        with pytest.raises(AlertDeliveryError, match=code) as raised:
            SnsPublisher(client, TOPIC_ARN).publish(doc)
        stubber.assert_no_pending_responses()
    assert isinstance(raised.value.__cause__, ClientError)
    assert doc.alert_id in str(raised.value)


def test_a_connection_failure_raises_alert_delivery_error() -> None:
    class Unreachable:
        def publish(self, **kwargs: Any) -> dict[str, Any]:
            raise EndpointConnectionError(endpoint_url="https://sns.eu-west-1.amazonaws.com")

    with pytest.raises(AlertDeliveryError, match="EndpointConnectionError") as raised:
        SnsPublisher(Unreachable(), TOPIC_ARN).publish(samples.failed_access_denied())
    assert isinstance(raised.value.__cause__, EndpointConnectionError)


def test_the_publisher_sends_the_built_message_to_its_topic() -> None:
    client = boto3.client("sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    doc = samples.unreadable_key()
    expected = {"TopicArn": TOPIC_ARN, **build_message(doc)}
    with Stubber(client) as stubber:
        stubber.add_response("publish", {"MessageId": "m-1"}, expected)
        assert SnsPublisher(client, TOPIC_ARN).publish(doc) == "m-1"
        stubber.assert_no_pending_responses()


def test_the_stubbed_request_shape_is_valid_for_botocore() -> None:
    client = boto3.client("sns", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stubber:
        stubber.add_response(
            "publish",
            {"MessageId": "m-2"},
            {
                "TopicArn": TOPIC_ARN,
                "Message": ANY,
                "Subject": ANY,
                "MessageStructure": "json",
                "MessageAttributes": ANY,
            },
        )
        assert SnsPublisher(client, TOPIC_ARN).publish(samples.hostile_input()) == "m-2"
