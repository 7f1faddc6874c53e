"""A moto default bus carrying the template's pattern rules, and the reference matcher beside it."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.contract import ruler


class Bus:
    """A moto default bus carrying the template's pattern rules, each with its own SQS queue."""

    def __init__(self, patterns: dict[str, dict[str, Any]]) -> None:
        self.patterns = patterns
        self.events = boto3.client("events", region_name="us-east-1")
        self.sqs = boto3.client("sqs", region_name="us-east-1")
        self.queues: dict[str, str] = {}
        for rule, pattern in patterns.items():
            url = self.sqs.create_queue(QueueName=f"contract-{rule}")["QueueUrl"]
            arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            self.events.put_rule(Name=rule, EventPattern=json.dumps(pattern), State="ENABLED")
            self.events.put_targets(Rule=rule, Targets=[{"Id": "queue", "Arn": arn}])
            self.queues[rule] = url

    def route(self, envelope: dict[str, Any]) -> set[str]:
        """Put one event on the bus; the rules whose queue received it."""
        entry = {
            "Source": envelope["source"],
            "DetailType": envelope["detail-type"],
            "Detail": json.dumps(envelope.get("detail", {})),
            "Resources": list(envelope.get("resources") or []),
        }
        result = self.events.put_events(Entries=[entry])
        assert result["FailedEntryCount"] == 0, result
        matched = set()
        for rule, url in self.queues.items():
            messages = self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            for message in messages:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                body = json.loads(message["Body"])
                assert body["detail"] == envelope.get("detail", {})
            if messages:
                matched.add(rule)
        return matched

    def reference_route(self, envelope: dict[str, Any]) -> set[str]:
        """The rules whose pattern the reference matcher says the event satisfies."""
        return {rule for rule, pattern in self.patterns.items() if ruler.matches(pattern, envelope)}
