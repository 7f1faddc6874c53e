"""The audit's pure rules, table-driven: filter patterns, checker rules, trail selectors, the rule pattern.

No subprocess and no server; the denied path uses botocore's Stubber.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.stub import Stubber
from scripts import schema_export

from keyguard_cli.audit import Auditor, is_project_rule, management_coverage
from keyguard_cli.checkers import CIS_4_7_PATTERN, accepted_by, implements_4_7
from shared.aws import ClientFactory

ROOT = Path(__file__).resolve().parents[2]
SCOUTSUITE_TEXT = (
    "{ ($.eventSource = kms.amazonaws.com) && "
    "(($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }"
)
QUOTED_TEXT = (
    '{($.eventSource = "kms.amazonaws.com") && '
    '(($.eventName="DisableKey")||($.eventName="ScheduleKeyDeletion"))}'
)


@pytest.mark.parametrize(
    ("pattern", "implements", "accepted"),
    [
        (CIS_4_7_PATTERN, True, {"security-hub", "prowler", "steampipe", "trivy"}),
        (SCOUTSUITE_TEXT, True, {"prowler", "steampipe", "trivy", "scoutsuite"}),
        (
            QUOTED_TEXT,
            True,
            {"prowler"},
        ),
        (
            "{ ($.eventSource = kms.amazonaws.com) && (($.eventName = ScheduleKeyDeletion) || "
            "($.eventName = DisableKey)) }",
            True,
            set(),
        ),
        ("{ ($.eventSource = kms.amazonaws.com) && ($.eventName = DisableKey) }", False, set()),
        ("{ $.eventSource = kms* }", True, set()),
        ("DisableKey ScheduleKeyDeletion", False, set()),
    ],
    ids=[
        "cis-text",
        "scoutsuite-spacing",
        "quoted-values",
        "reversed-order",
        "disable-only",
        "wildcard",
        "not-json",
    ],
)
def test_filter_semantics_and_checker_acceptance(pattern: str, implements: bool, accepted: set[str]) -> None:
    assert implements_4_7(pattern)[0] is implements
    assert {name for name, ok in accepted_by(pattern).items() if ok} == accepted


def test_trivy_also_wants_the_alarm_metric_named_like_the_filter() -> None:
    assert accepted_by(CIS_4_7_PATTERN, "cis-4-7", {"cis-4-7"})["trivy"] is True
    assert accepted_by(CIS_4_7_PATTERN, "cis-4-7", {"OtherMetric"})["trivy"] is False


@pytest.mark.parametrize(
    ("selectors", "ok", "why"),
    [
        (
            {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]},
            True,
            "KMS included",
        ),
        (
            {"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]},
            False,
            "read",
        ),
        (
            {
                "EventSelectors": [
                    {
                        "ReadWriteType": "All",
                        "IncludeManagementEvents": True,
                        "ExcludeManagementEventSources": ["kms.amazonaws.com"],
                    }
                ]
            },
            False,
            "exclude KMS",
        ),
        (
            {"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False}]},
            False,
            "read or write",
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {"FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]}
                ]
            },
            True,
            "advanced",
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]},
                        ]
                    }
                ]
            },
            False,
            "exclude KMS",
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["true"]},
                        ]
                    },
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Management"]},
                            {"Field": "readOnly", "Equals": ["false"]},
                        ]
                    },
                ]
            },
            True,
            "KMS included",
        ),
        (
            {
                "AdvancedEventSelectors": [
                    {
                        "FieldSelectors": [
                            {"Field": "eventCategory", "Equals": ["Data"]},
                            {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                        ]
                    }
                ]
            },
            False,
            "read or write",
        ),
    ],
    ids=[
        "all",
        "write-only",
        "kms-excluded",
        "no-management",
        "advanced-all",
        "advanced-kms-excluded",
        "advanced-read-plus-write",
        "data-only",
    ],
)
def test_trail_selectors(selectors: dict, ok: bool, why: str) -> None:
    verdict, reason = management_coverage(selectors)
    assert verdict is ok
    assert why in reason


def test_the_templates_filter_and_rule_are_what_the_audit_recognises() -> None:
    # The template is the deployable half of this contract: its filter must be the CIS text the audit
    # reports on, and its rule must be recognised by pattern whatever CloudFormation names it.
    yaml.SafeLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.safe_load((ROOT / "template.yaml").read_text())
    resources = template["Resources"]
    patterns = [
        r["Properties"]["FilterPattern"] for r in resources.values() if r["Type"] == "AWS::Logs::MetricFilter"
    ]
    assert CIS_4_7_PATTERN in patterns
    rules = [
        r["Properties"].get("EventPattern") for r in resources.values() if r["Type"] == "AWS::Events::Rule"
    ]
    assert any(is_project_rule(json.dumps(p)) for p in rules if p)
    assert not is_project_rule(json.dumps({"source": ["aws.kms"], "detail": {"eventName": ["DisableKey"]}}))


def test_a_denied_call_makes_its_checks_unknown_never_pass_or_fail() -> None:
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1")
    clients = ClientFactory(session)
    cloudtrail = clients.client("cloudtrail", "us-east-1")
    with Stubber(cloudtrail) as stub:
        stub.add_client_error(
            "describe_trails", service_error_code="AccessDeniedException", http_status_code=400
        )
        checks = Auditor(clients, "123456789012")._cis_chain("us-east-1")
    assert {c.status for c in checks} == {"UNKNOWN"}
    assert checks[0].reason == "denied: DescribeTrails (AccessDeniedException)"


def test_committed_schemas_match_the_models() -> None:
    assert schema_export.main(["--check"]) == 0, "run: make schema"
