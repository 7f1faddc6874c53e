"""Record the AWS calls code really makes, as IAM actions.

A botocore ``before-call`` hook on a session sees every operation of every client built from it
(including calls a paginator makes), so a test can hold what ran against what the template grants.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse, HTTPHeaders

# botocore operation -> IAM action, where the action is not "<signing name>:<operation>".
IAM_ACTION_OVERRIDES: dict[tuple[str, str], str] = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetBucketLocation"): "s3:GetBucketLocation",
    ("lambda", "ListFunctions"): "lambda:ListFunctions",
    # Amazon Keyspaces authorises its control-plane reads as CQL reads of the system keyspaces.
    ("cassandra", "ListKeyspaces"): "cassandra:Select",
    ("cassandra", "ListTables"): "cassandra:Select",
    ("cassandra", "GetTable"): "cassandra:Select",
}


def iam_action(model: Any) -> str:
    service = model.service_model
    prefix = service.signing_name or service.endpoint_prefix
    return IAM_ACTION_OVERRIDES.get((prefix, model.name), f"{prefix}:{model.name}")


class CallRecorder:
    """Collects the IAM action of every call made through clients of ``session``."""

    def __init__(self, session: boto3.Session) -> None:
        self.actions: set[str] = set()
        self._lock = threading.Lock()
        session.events.register("before-call", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        with self._lock:
            self.actions.add(iam_action(model))


def answer(session: boto3.Session, service: str, operation: str, response: dict[str, Any]) -> None:
    """Answer ``operation`` on every client of ``session`` with ``response`` (a parsed answer in the
    real API's shape), before the call reaches moto: for the few calls moto does not implement."""

    def respond(**_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        parsed = {**response, "ResponseMetadata": {"HTTPStatusCode": 200, "RequestId": "test"}}
        return AWSResponse("https://answered.invalid/", 200, HTTPHeaders(), None), parsed

    session.events.register(f"before-call.{service}.{operation}", respond)
