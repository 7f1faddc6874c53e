"""template.yaml as CloudFormation would deploy it: a physical name for every resource.

CloudFormation names a resource without an explicit name ``<stack>-<logical id>-<random>``, cut to
the service's length limit. ``physical_names`` builds such names (and the ARNs, URLs and ids that
``Ref`` / ``Fn::GetAtt`` return for each type), so event patterns that name the stack's own
resources can be resolved, measured against EventBridge's size limit and run by moto's matcher.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from tests.support.cfn_yaml import PSEUDO_PARAMETERS, Resolver

ACCOUNT = PSEUDO_PARAMETERS["AWS::AccountId"]
REGION = PSEUDO_PARAMETERS["AWS::Region"]
STACK = PSEUDO_PARAMETERS["AWS::StackName"]

# Longest name CloudFormation generates per type (the service's own limit).
_NAME_LIMITS = {
    "AWS::Serverless::Function": 64,
    "AWS::Lambda::Function": 64,
    "AWS::Events::Rule": 64,
    "AWS::SNS::Topic": 256,
    "AWS::SQS::Queue": 80,
    "AWS::DynamoDB::Table": 255,
    "AWS::IAM::Role": 64,
}


def generated_name(stack: str, logical_id: str, limit: int) -> str:
    """``<stack>-<logical id>-<13 characters>``, the first part cut when over ``limit``."""
    suffix = hashlib.sha256(f"{stack}/{logical_id}".encode()).hexdigest()[:13].upper()
    return f"{f'{stack}-{logical_id}'[: limit - len(suffix) - 1]}-{suffix}"


def physical_names(
    template: Mapping[str, Any], parameters: Mapping[str, str] | None = None
) -> dict[str, dict[str, str]]:
    """logical id -> {"Ref": ..., "<Attribute>": ...} for the resources event patterns can name."""
    plain = Resolver(template, parameters)
    stack = str(plain.resolve({"Ref": "AWS::StackName"}))
    names: dict[str, dict[str, str]] = {}
    for logical_id, body in template["Resources"].items():
        kind, props = body["Type"], body.get("Properties", {})
        name = generated_name(stack, logical_id, _NAME_LIMITS.get(kind, 128))
        if kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"
            names[logical_id] = {"Ref": name, "Arn": arn}
        elif kind == "AWS::Events::Rule":
            names[logical_id] = {"Ref": name, "Arn": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}"}
        elif kind == "AWS::SNS::Topic":
            arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"
            names[logical_id] = {"Ref": arn, "TopicArn": arn, "TopicName": name}
        elif kind == "AWS::SQS::Queue":
            names[logical_id] = {
                "Ref": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}",
                "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
                "QueueName": name,
            }
        elif kind == "AWS::DynamoDB::Table":
            names[logical_id] = {"Ref": name, "Arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"}
        elif kind == "AWS::KMS::Key":
            digest = hashlib.sha256(logical_id.encode()).hexdigest()
            key_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
            arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
            names[logical_id] = {"Ref": key_id, "Arn": arn, "KeyId": key_id}
        elif kind == "AWS::IAM::Role":
            names[logical_id] = {"Ref": name, "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}"}
        elif kind == "AWS::Logs::LogGroup":
            group = str(plain.resolve(props["LogGroupName"]))
            names[logical_id] = {"Ref": group, "Arn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:*"}
        elif kind == "AWS::CloudWatch::Alarm":
            alarm = str(plain.resolve(props["AlarmName"])) if "AlarmName" in props else name
            names[logical_id] = {"Ref": alarm, "Arn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{alarm}"}
    return names


def deployed(template: Mapping[str, Any], parameters: Mapping[str, str] | None = None) -> Resolver:
    """A resolver that answers every Ref and Fn::GetAtt the way the deployed stack would."""
    return Resolver(template, parameters, physical_names(template, parameters))


def pattern_rules(template: Mapping[str, Any]) -> list[str]:
    """The default bus's rules that match events by pattern (the scheduled rules have none).

    The organization's central bus holds copies of some of them (``EventBusName`` set, checked
    against their originals in test_organization.py); the default bus's rules are the originals.
    """
    return [
        name
        for name, body in template["Resources"].items()
        if body["Type"] == "AWS::Events::Rule"
        and "EventPattern" in body["Properties"]
        and "EventBusName" not in body["Properties"]
    ]


def event_patterns(
    template: Mapping[str, Any], parameters: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Each pattern rule's EventPattern with every intrinsic resolved."""
    resolver = deployed(template, parameters)
    return {
        name: resolver.resolve(template["Resources"][name]["Properties"]["EventPattern"])
        for name in pattern_rules(template)
    }
