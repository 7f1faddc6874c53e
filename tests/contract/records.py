"""CloudTrail records as EventBridge delivers them, in the shape AWS documents.

The record layout follows the examples in the AWS documentation: the Lambda developer guide's
``DeleteFunction20150331`` entry (docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html),
the SNS guide's ``DeleteTopic`` entry and the KMS guide's ``TagResource`` entry: ``requestParameters``
carry the API's request members in lowerCamelCase (``functionName``, ``topicArn``, ``name``,
``alarmNames``, ``queueUrl``, ...). EventBridge delivers a record as the ``detail`` of an envelope
whose ``source`` is ``aws.<service>`` and ``detail-type`` "AWS API Call via CloudTrail"
(docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html).
"""

from __future__ import annotations

import uuid
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
ATTACKER = f"arn:aws:iam::{ACCOUNT}:user/Mallory"


def api_call(
    service: str, event_name: str, request_parameters: dict[str, Any] | None, **extra: Any
) -> dict[str, Any]:
    """An "AWS API Call via CloudTrail" event for ``<service>.amazonaws.com`` ``event_name``."""
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{service}/{event_name}/{request_parameters}"))
    record = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAEXAMPLEMALLORY",
            "arn": ATTACKER,
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "userName": "Mallory",
        },
        "eventTime": "2026-11-30T22:04:15Z",
        "eventSource": f"{service}.amazonaws.com",
        "eventName": event_name,
        "awsRegion": REGION,
        "sourceIPAddress": "192.0.2.0",
        "userAgent": "aws-cli/2.22.0",
        "requestParameters": request_parameters,
        "responseElements": None,
        "requestID": str(uuid.uuid5(uuid.NAMESPACE_DNS, event_id)),
        "eventID": event_id,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
        **extra,
    }
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "AWS API Call via CloudTrail",
        "source": f"aws.{service}",
        "account": ACCOUNT,
        "time": record["eventTime"],
        "region": REGION,
        "resources": [],
        "detail": record,
    }
