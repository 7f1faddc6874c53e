"""Representative alert documents, shared by the golden and behaviour tests.

Each builder returns a fresh ``AlertDocument``; tests may change it freely. Values are fixed (no
clock, no randomness) so that rendered output can be compared with the golden files.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.document import (
    ActorSection,
    AlertDocument,
    DependenciesSection,
    DependencyItem,
    EventSection,
    GrantItem,
    KeySection,
    RemediationSection,
    Severity,
    UncheckedFinder,
    UsageEvidence,
    UsagePrincipal,
)

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
REGION = "eu-west-1"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}"
MRK_ID = "mrk-1234abcd12ab34cd56ef1234567890ab"
MRK_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/{MRK_ID}"
GENERATED_AT = "2026-11-29T03:12:09Z"


def _cancel_steps(key_id: str, region: str) -> list[str]:
    return [
        f"aws kms cancel-key-deletion --key-id {key_id} --region {region}",
        f"aws kms enable-key --key-id {key_id} --region {region}",
    ]


def _items(count: int, region: str = REGION) -> list[DependencyItem]:
    kinds = [
        ("rds", "AWS::RDS::DBInstance", "arn:aws:rds:{r}:{a}:db:orders-{n}", "orders-{n}", "KmsKeyId"),
        (
            "s3",
            "AWS::S3::Bucket",
            "arn:aws:s3:::billing-exports-{n}",
            "billing-exports-{n}",
            "default encryption SSEKMSKeyId",
        ),
        ("ebs", "AWS::EC2::Volume", "arn:aws:ec2:{r}:{a}:volume/vol-0{n:07d}", "vol-0{n:07d}", "KmsKeyId"),
        (
            "secretsmanager",
            "AWS::SecretsManager::Secret",
            "arn:aws:secretsmanager:{r}:{a}:secret:db-{n}",
            "db-{n}",
            "KmsKeyId",
        ),
    ]
    items = []
    for n in range(count):
        service, rtype, arn, name, evidence = kinds[n % len(kinds)]
        items.append(
            DependencyItem(
                service=service,
                resource_type=rtype,
                region=region,
                arn=arn.format(r=region, a=ACCOUNT, n=n),
                name=name.format(n=n),
                evidence=evidence,
            )
        )
    return items


def _counts(items: list[DependencyItem]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item.resource_type] = counts.get(item.resource_type, 0) + 1
    return counts


def critical_scheduled_deletion() -> AlertDocument:
    """A 7-day deletion of a production key with 12 dependants; enforce mode cancelled it."""
    items = _items(12)
    return AlertDocument(
        alert_id="9f1c2b7e-5d1a-4c51-9a55-3e0f4f8b2a11",
        kind="alert",
        severity=Severity.CRITICAL,
        title="KMS key alias/prod-db scheduled for deletion",
        summary="Deletion of a key used by 12 resources was cancelled automatically; the key is Disabled.",
        event=EventSection(
            name="ScheduleKeyDeletion",
            id="0d5c6a77-3a4e-4c6c-8f3f-6b1e0d2c9f10",
            time="2026-11-29T03:11:52Z",
            region=REGION,
            account=ACCOUNT,
            pending_window_days=7,
            pending_window_is_default=False,
            short_window=True,
            requested_key="alias/prod-db",
            key_resolved_from="responseElements.keyId",
            event_deletion_date="Dec 6, 2026, 3:11:52 AM",
            event_key_state="PendingDeletion",
            event_version="1.11",
        ),
        actor=ActorSection(
            type="AssumedRole",
            arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/alice",
            account=ACCOUNT,
            principal="role/ops-admin",
            session_name="alice",
            source_ip="198.51.100.24",
            user_agent="aws-cli/2.17.4 md/command#kms.schedule-key-deletion",
            via_console=False,
            mfa=True,
        ),
        key=KeySection(
            arn=KEY_ARN,
            id=KEY_ID,
            readable=True,
            aliases=["alias/prod-db"],
            tags={"Environment": "prod", "Owner": "payments-team"},
            state="PendingDeletion",
            deletion_date="2026-12-06T03:11:52Z",
            days_until_deletion=7,
            pending_window_days=7,
            manager="CUSTOMER",
            origin="AWS_KMS",
            spec="SYMMETRIC_DEFAULT",
            usage="ENCRYPT_DECRYPT",
            multi_region=False,
            creation_date="2023-04-02T10:00:00Z",
            description="Orders database encryption key",
            rotation_enabled=True,
        ),
        dependencies=DependenciesSection(
            complete=True,
            total=len(items),
            counts=_counts(items),
            items=items,
            regions_searched=[REGION],
            grants=[
                GrantItem(
                    grant_id="0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60",
                    grantee_principal="rds.eu-west-1.amazonaws.com",
                    operations=["Decrypt", "Encrypt"],
                    service="rds",
                    resource="db:orders-0",
                )
            ],
            usage=UsageEvidence(
                last_usage="2026-11-29T02:58:00Z",
                last_usage_operation="Decrypt",
                lookback_days=14,
                events_examined=48211,
                principals=[
                    UsagePrincipal(
                        principal="role/orders-api",
                        calls=48000,
                        operations=["Decrypt", "GenerateDataKey"],
                        invoked_by=["rds.amazonaws.com"],
                        last_seen="2026-11-29T02:58:00Z",
                    )
                ],
            ),
            elapsed_seconds=4.2,
        ),
        remediation=RemediationSection(
            mode="enforce",
            action="CancelKeyDeletion",
            outcome="succeeded",
            resulting_state="Disabled",
            reasons=["key has 12 dependent resources"],
        ),
        next_steps=[
            "Deletion was cancelled; the key is Disabled. Re-enable it once the owner confirms:",
            f"aws kms enable-key --key-id {KEY_ID} --region {REGION}",
            "Ask alice (role/ops-admin) why the key was scheduled for deletion.",
        ],
        notes=["The requested 7-day window is shorter than the 14-day threshold."],
        generated_at=GENERATED_AT,
    )


def failed_access_denied() -> AlertDocument:
    """A denied attempt: nothing changed, low severity, still worth a look."""
    return AlertDocument(
        alert_id="2b8e0f55-77c3-4a5f-8d0a-9f3b6f7c0c22",
        kind="alert",
        severity=Severity.LOW,
        title="Denied attempt to schedule deletion",
        summary="",
        event=EventSection(
            name="ScheduleKeyDeletion",
            id="7f3d9c1e-1111-4e7a-9b9b-2a2a2a2a2a2a",
            time="2026-11-29T01:02:03Z",
            region=REGION,
            account=ACCOUNT,
            error_code="AccessDenied",
            error_message=(
                f"User: arn:aws:iam::{ACCOUNT}:user/intern is not authorized to "
                f"perform: kms:ScheduleKeyDeletion on resource: {KEY_ARN}"
            ),
            pending_window_days=30,
            pending_window_is_default=True,
            requested_key=KEY_ID,
            key_resolved_from="requestParameters.keyId",
        ),
        actor=ActorSection(
            type="IAMUser",
            arn=f"arn:aws:iam::{ACCOUNT}:user/intern",
            account=ACCOUNT,
            principal="user/intern",
            source_ip="203.0.113.9",
            user_agent="Boto3/1.35.0 md/Botocore#1.35.0 ua/2.0 os/linux#6.1 lang/python#3.12",
            via_console=False,
            mfa=False,
        ),
        key=KeySection(
            arn=KEY_ARN,
            id=KEY_ID,
            readable=True,
            aliases=["alias/prod-db", "alias/orders"],
            tags={"Environment": "prod"},
            state="Enabled",
            manager="CUSTOMER",
            multi_region=False,
        ),
        dependencies=DependenciesSection(complete=True, total=0, regions_searched=[REGION]),
        remediation=RemediationSection(mode="enforce", action="none", outcome="not needed: the call failed"),
        next_steps=["No change to the key. Confirm with the owner of user/intern that this was expected."],
        generated_at=GENERATED_AT,
    )


def unreadable_key() -> AlertDocument:
    """DescribeKey was denied: everything about the key comes from the event and is unverified."""
    return AlertDocument(
        alert_id="c4d1a9b0-0e57-4f0b-bd4c-5d6e7f809a33",
        kind="alert",
        severity=Severity.HIGH,
        title="KMS key scheduled for deletion (key unreadable)",
        summary="The function could not read the key; details come from the CloudTrail event.",
        event=EventSection(
            name="ScheduleKeyDeletion",
            id="aa11bb22-cc33-4d44-8e55-ff6677889900",
            time="2026-11-28T22:40:00Z",
            region=REGION,
            account=ACCOUNT,
            pending_window_days=None,
            pending_window_is_default=None,
            requested_key=KEY_ARN,
            key_resolved_from="resources",
            event_deletion_date="Dec 28, 2026, 10:40:00 PM",
            event_key_state="PendingDeletion",
        ),
        actor=ActorSection(
            type="AssumedRole",
            arn=f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/deployer/ci-pipeline-8841",
            account=OTHER_ACCOUNT,
            principal="role/deployer",
            session_name="ci-pipeline-8841",
            source_ip="cloudformation.amazonaws.com",
            user_agent="cloudformation.amazonaws.com",
            via_console=False,
            mfa=None,
            cross_account=True,
            invoked_by="cloudformation.amazonaws.com",
        ),
        key=KeySection(arn=KEY_ARN, id=KEY_ID, readable=False),
        dependencies=DependenciesSection(
            complete=False,
            total=0,
            regions_searched=[REGION],
            unchecked=[
                UncheckedFinder(
                    finder="key-inventory", reason="unavailable: AccessDeniedException", region=REGION
                ),
                UncheckedFinder(finder="rds-instances", reason="deadline exceeded", region=REGION),
            ],
        ),
        remediation=RemediationSection(
            mode="enforce",
            action="CancelKeyDeletion",
            outcome="failed: AccessDeniedException",
            resulting_state=None,
            reasons=["the key policy does not allow this function to cancel deletion"],
        ),
        next_steps=_cancel_steps(KEY_ID, REGION),
        notes=["The deletion date is CloudTrail's display string and was not verified."],
        generated_at=GENERATED_AT,
    )


def pending_replica_deletion() -> AlertDocument:
    """A multi-Region primary key with replicas: state PendingReplicaDeletion."""
    replicas = [
        f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/{MRK_ID}",
        f"arn:aws:kms:ap-south-1:{ACCOUNT}:key/{MRK_ID}",
    ]
    items = _items(3, region="us-east-1")
    return AlertDocument(
        alert_id="5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a844",
        kind="alert",
        severity=Severity.HIGH,
        title="Multi-Region primary key scheduled for deletion",
        summary="",
        event=EventSection(
            name="ScheduleKeyDeletion",
            id="de305d54-75b4-431b-adb2-eb6b9e546014",
            time="2026-11-29T00:15:00Z",
            region="us-east-1",
            account=ACCOUNT,
            pending_window_days=30,
            pending_window_is_default=True,
            requested_key=MRK_ID,
        ),
        actor=ActorSection(
            type="AssumedRole",
            arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/bob",
            account=ACCOUNT,
            principal="role/Admin",
            session_name="bob",
            source_ip="192.0.2.44",
            user_agent="AWS Internal",
            via_console=True,
            mfa=True,
        ),
        key=KeySection(
            arn=MRK_ARN,
            id=MRK_ID,
            readable=True,
            aliases=["alias/global-tokens"],
            state="PendingReplicaDeletion",
            pending_window_days=30,
            manager="CUSTOMER",
            multi_region=True,
            multi_region_role="PRIMARY",
            primary_arn=MRK_ARN,
            replica_arns=replicas,
            spec="SYMMETRIC_DEFAULT",
            usage="ENCRYPT_DECRYPT",
        ),
        dependencies=DependenciesSection(
            complete=True,
            total=3,
            counts=_counts(items),
            items=items,
            regions_searched=["us-east-1", "eu-west-1", "ap-south-1"],
        ),
        remediation=RemediationSection(
            mode="dry-run", action="CancelKeyDeletion", outcome="would cancel deletion (dry-run)"
        ),
        next_steps=[
            *_cancel_steps(MRK_ID, "us-east-1")[:1],
            f"aws kms cancel-key-deletion --key-id {MRK_ID} --region eu-west-1",
            f"aws kms cancel-key-deletion --key-id {MRK_ID} --region ap-south-1",
        ],
        generated_at=GENERATED_AT,
    )


def disabled_key_dry_run() -> AlertDocument:
    """DisableKey by the root user in the console; remediation in dry-run."""
    return AlertDocument(
        alert_id="0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c55",
        kind="alert",
        severity=Severity.MEDIUM,
        title="KMS key disabled",
        summary="",
        event=EventSection(
            name="DisableKey",
            id="11111111-2222-4333-8444-555555555555",
            time="2026-11-29T02:00:00Z",
            region=REGION,
            account=ACCOUNT,
            requested_key=KEY_ID,
        ),
        actor=ActorSection(
            type="Root",
            arn=f"arn:aws:iam::{ACCOUNT}:root",
            account=ACCOUNT,
            source_ip="192.0.2.7",
            user_agent="signin.amazonaws.com",
            via_console=True,
            mfa=False,
            is_root=True,
        ),
        key=KeySection(
            arn=KEY_ARN,
            id=KEY_ID,
            readable=True,
            aliases=[],
            state="Disabled",
            manager="CUSTOMER",
            multi_region=False,
        ),
        dependencies=DependenciesSection(
            complete=False,
            total=2,
            counts={"AWS::Lambda::Function": 2},
            items=[
                DependencyItem(
                    service="lambda",
                    resource_type="AWS::Lambda::Function",
                    region=REGION,
                    arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:invoice-{n}",
                    name=f"invoice-{n}",
                    evidence="KMSKeyArn",
                )
                for n in range(2)
            ],
            unchecked=[
                UncheckedFinder(
                    finder="dynamodb-tables", reason="unavailable: ThrottlingException", region=REGION
                )
            ],
        ),
        remediation=RemediationSection(
            mode="dry-run",
            action="EnableKey",
            outcome="would re-enable the key",
            reasons=["REENABLE_DISABLED_KEYS is true"],
        ),
        next_steps=[f"aws kms enable-key --key-id {KEY_ID} --region {REGION}"],
        generated_at=GENERATED_AT,
    )


HOSTILE_LINK = "[Cancel was already done, click here](https://evil.example/login)"


def hostile_input() -> AlertDocument:
    """Values written by someone who wants the responder to look away or to page everybody."""
    forged = "prod\n\nWHAT WAS DONE\n  Outcome: deletion cancelled, no action needed"
    return AlertDocument(
        alert_id="ffffeeee-dddd-4ccc-bbbb-aaaa99998866",
        kind="alert",
        severity=Severity.CRITICAL,
        title="<!channel> everything is fine",
        summary="@here *ignore this alert* " + HOSTILE_LINK,
        event=EventSection(
            name="ScheduleKeyDeletion",
            id="12121212-3434-4565-8787-909090909090",
            time="2026-11-29T03:00:00Z",
            region=REGION,
            account=ACCOUNT,
            pending_window_days=7,
            pending_window_is_default=False,
            short_window=True,
            requested_key="alias/`evil` <@U0123ABCD>",
            error_message=None,
        ),
        actor=ActorSection(
            type="AssumedRole",
            arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/dev/@everyone",
            account=ACCOUNT,
            principal="role/dev",
            session_name="@everyone<!here>",
            source_ip="203.0.113.66",
            user_agent="\x1b[2J\x1b[31mcurl/8.0\x1b[0m\r\nX-Injected: yes \u202eevil\u202c \u200bzw",
            via_console=False,
            mfa=False,
        ),
        key=KeySection(
            arn=KEY_ARN,
            id=KEY_ID,
            readable=True,
            aliases=["alias/prod-db"],
            tags={
                "Owner": "<!here> please ignore",
                "Runbook": HOSTILE_LINK,
                "Environment": forged,
                "Note": "*URGENT* _see_ <https://evil.example|the runbook> `code` ~strike~",
                "Big": "A" * 10_000,
                "\u2066Hidden\u2069": "www.evil.example/x <#C024BE7LR>",
            },
            state="PendingDeletion",
            deletion_date="2026-12-06T03:00:00Z",
            days_until_deletion=7,
            pending_window_days=7,
            manager="CUSTOMER",
            multi_region=False,
            description="## Resolved\n> nothing to do <script>alert(1)</script> <img src=x onerror=alert(1)>",
        ),
        dependencies=DependenciesSection(
            complete=True,
            total=1,
            counts={"AWS::S3::Bucket": 1},
            items=[
                DependencyItem(
                    service="s3",
                    resource_type="AWS::S3::Bucket",
                    region=REGION,
                    arn="arn:aws:s3:::payroll",
                    name="payroll [x](http://evil.example) @channel",
                    evidence="default encryption",
                )
            ],
            unchecked=[
                UncheckedFinder(
                    finder="ssm-parameters", reason="unavailable: <@U999> visit https://evil.example/fix"
                )
            ],
        ),
        remediation=RemediationSection(
            mode="enforce", action="CancelKeyDeletion", outcome="succeeded", resulting_state="Disabled"
        ),
        next_steps=_cancel_steps(KEY_ID, REGION),
        notes=["Tag Owner says: @channel *all clear* https://evil.example"],
        generated_at=GENERATED_AT,
    )


def tamper_stop_logging() -> AlertDocument:
    """StopLogging on the account's trail by an assumed-role session: the guard goes blind."""
    from datetime import UTC, datetime

    from shared.assemble import tamper_alert
    from shared.events import tamper_call
    from shared.models import CloudTrailRecord

    # The CloudTrail user guide's StopLogging example, in an assumed-role session.
    record = CloudTrailRecord.model_validate(
        {
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLEID:mallory",
                "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/mallory",
                "accountId": ACCOUNT,
                "accessKeyId": "ASIAIOSFODNN7EXAMPLE",
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": "AROAEXAMPLEID",
                        "arn": f"arn:aws:iam::{ACCOUNT}:role/Admin",
                        "accountId": ACCOUNT,
                        "userName": "Admin",
                    },
                    "attributes": {"creationDate": "2026-11-29T02:58:12Z", "mfaAuthenticated": "false"},
                },
            },
            "eventTime": "2026-11-29T03:11:58Z",
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": "StopLogging",
            "awsRegion": REGION,
            "sourceIPAddress": "192.0.2.10",
            "userAgent": "aws-cli/2.22.0",
            "requestParameters": {"name": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/management-events"},
            "responseElements": None,
            "requestID": "2c8b5e0a-6a1c-4f4e-9b44-3f3a1c8f1d2e",
            "eventID": "b3c1c8f5-1f7a-4e0b-9a55-0d3f7e1c2a4b",
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": ACCOUNT,
            "eventCategory": "Management",
        }
    )
    call = tamper_call(record.event_source, record.event_name)
    assert call is not None
    now = datetime(2026, 11, 29, 3, 12, 9, tzinfo=UTC)
    return tamper_alert(record, call, "enforce", now)


SAMPLES: dict[str, Callable[[], AlertDocument]] = {
    "critical_scheduled_deletion": critical_scheduled_deletion,
    "failed_access_denied": failed_access_denied,
    "unreadable_key": unreadable_key,
    "pending_replica_deletion": pending_replica_deletion,
    "disabled_key_dry_run": disabled_key_dry_run,
    "hostile_input": hostile_input,
    "tamper_stop_logging": tamper_stop_logging,
}
