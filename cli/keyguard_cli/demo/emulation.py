"""The APIs moto lacks, written once, with canned answers shaped like the real API.

The demo runs the real responder against moto. A handful of the APIs the responder uses are not in
moto 5.2.5 (``GetKeyLastUsage``, CloudTrail ``LookupEvents``, and some calls of services moto lacks);
unanswered, the demo alert would only show "not checked". ``MOTO_LACKS`` lists each of them with two
answers: what an account that has none of the thing returns (the benchmark's answer), and, for the
two the demo shows off, the demo account's answer. Inside ``emulated_apis()`` those calls are
answered here, before they reach moto; everything else still goes to moto, and nothing leaves the
process.

Used by ``make demo``, ``keyguard replay --demo`` and the benchmark (``bench/``), never by the
deployed functions, which do not ship this package. Tests inject their own fakes instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.handlers
from botocore.awsrequest import AWSResponse, HTTPHeaders

Answer = Callable[[dict[str, Any]], dict[str, Any]]


def _now() -> datetime:
    return datetime.now(UTC)


def _trail_event(
    key_arn: str,
    name: str,
    role: str,
    session: str,
    invoked_by: str | None,
    context: dict[str, str],
    minutes_ago: int,
) -> dict[str, Any]:
    account = key_arn.split(":")[4]
    region = key_arn.split(":")[3]
    when = _now() - timedelta(minutes=minutes_ago)
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
        "accountId": account,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "userName": role, "arn": f"arn:aws:iam::{account}:role/{role}"}
        },
    }
    if invoked_by:
        identity["invokedBy"] = invoked_by
    record = {
        "eventVersion": "1.10",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": invoked_by or "10.0.12.34",
        "userAgent": invoked_by or "aws-sdk-java/2.25.60",
        "requestParameters": {"encryptionContext": context, "keyId": key_arn},
        "responseElements": None,
        "readOnly": True,
        "resources": [{"accountId": account, "type": "AWS::KMS::Key", "ARN": key_arn}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
    }
    return {
        "EventId": f"demo-{name.lower()}-{minutes_ago}",
        "EventName": name,
        "ReadOnly": "true",
        "EventTime": when,
        "EventSource": "kms.amazonaws.com",
        "Username": session,
        "Resources": [{"ResourceType": "AWS::KMS::Key", "ResourceName": key_arn}],
        "CloudTrailEvent": json.dumps(record),
    }


def _lookup_events(params: dict[str, Any]) -> dict[str, Any]:
    attributes = params.get("LookupAttributes") or [{}]
    key_arn = str(attributes[0].get("AttributeValue", ""))
    if ":key/" not in key_arn:
        return {"Events": []}
    account = key_arn.split(":")[4]
    return {
        "Events": [
            _trail_event(
                key_arn,
                "Decrypt",
                "payments-api",
                "i-0a1b2c3d4e5f60718",
                "secretsmanager.amazonaws.com",
                {"SecretARN": f"arn:aws:secretsmanager:us-east-1:{account}:secret:prod/payments/db-password"},
                12,
            ),
            _trail_event(
                key_arn,
                "GenerateDataKey",
                "ledger-writer",
                "ledger-batch",
                "s3.amazonaws.com",
                {"aws:s3:arn": "arn:aws:s3:::payments-ledger-prod/2026/11/29/batch-0042.json"},
                47,
            ),
            _trail_event(
                key_arn,
                "Decrypt",
                "payments-api",
                "i-0a1b2c3d4e5f60718",
                None,
                {"app": "payments", "purpose": "card-token"},
                95,
            ),
        ]
    }


def _last_usage(params: dict[str, Any]) -> dict[str, Any]:
    return {
        "KeyId": params.get("KeyId"),
        "KeyLastUsage": {
            "Operation": "Decrypt",
            "Timestamp": _now() - timedelta(minutes=12),
            "CloudTrailEventId": "demo-decrypt-12",
        },
        "TrackingStartDate": datetime(2026, 4, 1, tzinfo=UTC),
    }


def _list_log_groups(params: dict[str, Any]) -> dict[str, Any]:
    """ListLogGroups (not in moto): the same groups moto's DescribeLogGroups holds, in its shape."""
    import boto3

    logs = boto3.client("logs", region_name=params.get("_region") or "us-east-1")
    groups = [g for page in logs.get_paginator("describe_log_groups").paginate() for g in page["logGroups"]]
    return {
        "logGroups": [
            {"logGroupName": g["logGroupName"], "logGroupArn": g.get("logGroupArn") or g["arn"].rstrip(":*")}
            for g in groups
        ]
    }


@dataclass(frozen=True)
class Missing:
    """An API moto does not implement, and what to answer in its place."""

    empty: dict[str, Any]  # what an account that has none of it answers
    demo: Answer | None = None  # the demo account's answer, when it differs from ``empty``

    def answer(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.demo(params) if self.demo is not None else dict(self.empty)


# (botocore service name, operation) -> the stand-in. moto 5.2.5 implements none of these.
MOTO_LACKS: dict[tuple[str, str], Missing] = {
    ("kms", "GetKeyLastUsage"): Missing({}, _last_usage),
    ("cloudtrail", "LookupEvents"): Missing({"Events": []}, _lookup_events),
    ("logs", "ListLogGroups"): Missing({"logGroups": []}, _list_log_groups),
    ("ec2", "GetEbsDefaultKmsKeyId"): Missing({"KmsKeyId": "alias/aws/ebs"}),
    ("elasticache", "DescribeServerlessCaches"): Missing({"ServerlessCaches": []}),
    ("emr", "ListSecurityConfigurations"): Missing({"SecurityConfigurations": []}),
    ("keyspaces", "ListKeyspaces"): Missing({"keyspaces": []}),
    ("keyspaces", "ListTables"): Missing({"tables": []}),
    ("codeartifact", "ListDomains"): Missing({"domains": []}),
    ("redshift-serverless", "ListNamespaces"): Missing({"namespaces": []}),
    ("xray", "GetEncryptionConfig"): Missing({"EncryptionConfig": {"Type": "NONE", "Status": "ACTIVE"}}),
    ("backup", "ListRecoveryPointsByBackupVault"): Missing({"RecoveryPoints": []}),
}

# The same list answered as an empty account would answer (the benchmark's view).
EMPTY_ANSWERS: dict[tuple[str, str], dict[str, Any]] = {
    operation: missing.empty for operation, missing in MOTO_LACKS.items()
}


def _keep_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["emulation_params"] = dict(params)  # before-call sees the serialised request only


def _answer(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
    missing = MOTO_LACKS.get((model.service_model.service_name, model.name))
    if missing is None:
        return None  # moto answers
    parsed = missing.answer(
        {**(context.get("emulation_params") or {}), "_region": context.get("client_region")}
    )
    parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": 200, "RequestId": "emulated"})
    return AWSResponse("https://emulated.invalid/", 200, HTTPHeaders(), None), parsed


@contextmanager
def emulated_apis() -> Iterator[None]:
    """Answer the calls moto lacks for every botocore session created inside the block."""
    entries: list[tuple[str, Callable[..., Any]]] = [
        ("before-parameter-build", _keep_params),
        ("before-call", _answer),
    ]
    botocore.handlers.BUILTIN_HANDLERS.extend(entries)
    try:
        yield
    finally:
        for entry in entries:
            botocore.handlers.BUILTIN_HANDLERS.remove(entry)
