"""Representative alert documents, shared by the golden and behaviour tests.

Each builder returns a fresh ``AlertDocument``; tests may change it freely. Values are fixed (no
clock, no randomness) so that rendered output can be compared with the golden files.
"""

from __future__ import annotations

from collections.abc import Callable

from shared.assemble.headline import headline
from shared.assemble.steps import next_steps
from shared.document import (
    AccountSearch,
    ActorSection,
    AlertDocument,
    DependenciesSection,
    DependencyItem,
    EventSection,
    GrantItem,
    KeySection,
    RemediationSection,
    Severity,
    TagChangeItem,
    UncheckedFinder,
    UsageEvidence,
    UsagePrincipal,
)

ACCOUNT = "111122223333"
OTHER_ACCOUNT = "444455556666"
MEMBER_ACCOUNT = "222233334444"  # another account of the organization
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
    """A 7-day deletion of a production key with 12 dependants; dry-run says what enforce would do."""
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
            mode="dry-run",
            action="cancel-deletion",
            outcome="would cancel the deletion and leave it Disabled",
            result="would-cancel",
            resulting_state="PendingDeletion",
            reasons=[
                "key has 12 dependent resources",
                "restore evidence: no record of the key's state before the deletion was scheduled",
            ],
        ),
        notes=["The requested 7-day window is shorter than the 14-day threshold."],
        generated_at=GENERATED_AT,
    )


def enforce_cancelled() -> AlertDocument:
    """Enforce mode cancelled the deletion: the outcome leads, and the key is left Disabled."""
    items = _items(12)
    return AlertDocument(
        alert_id="9f1c2b7e-5d1a-4c51-9a55-3e0f4f8b2a11",
        kind="alert",
        severity=Severity.HIGH,  # critical, lowered one level: remediation averted the danger
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
            state="Disabled",
            days_until_deletion=None,
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
            outcome="cancelled; left Disabled",
            result="cancelled",
            resulting_state="Disabled",
            reasons=[
                "key has 12 dependent resources",
                "restore evidence: no record of the key's state before the deletion was scheduled",
            ],
        ),
        notes=["The requested 7-day window is shorter than the 14-day threshold."],
        generated_at=GENERATED_AT,
    )


def failed_access_denied() -> AlertDocument:
    """A denied attempt: nothing changed, low severity, still worth a look."""
    return AlertDocument(
        alert_id="2b8e0f55-77c3-4a5f-8d0a-9f3b6f7c0c22",
        kind="attempt",
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
        remediation=RemediationSection(
            mode="enforce", action="none", outcome="not needed: the call failed", result="not-needed"
        ),
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
            action="none",
            outcome="not needed: the key could not be read",
            result="not-needed",
            reasons=["the key could not be read"],
        ),
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
            mode="dry-run",
            action="cancel-deletion",
            outcome="would cancel the deletion and re-enable it",
            result="would-cancel-and-reenable",
            reasons=["restore evidence: the key was Enabled before the deletion was scheduled"],
        ),
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
            action="enable-key",
            outcome="would re-enable the key",
            result="would-reenable",
            reasons=["REENABLE_DISABLED_KEYS is true"],
        ),
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
            mode="enforce",
            action="cancel-deletion",
            outcome="cancelled; left Disabled",
            result="cancelled",
            resulting_state="Disabled",
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


def _finish(doc: AlertDocument) -> AlertDocument:
    """As the responder finishes a document: next steps, title and summary from its own fields."""
    doc = doc.model_copy(update={"next_steps": next_steps(doc)})
    title, summary = headline(doc)
    return doc.model_copy(update={"title": title, "summary": summary})


def _ops_admin(user_agent: str = "aws-cli/2.17.4 md/command#kms.schedule-key-deletion") -> ActorSection:
    return ActorSection(
        type="AssumedRole",
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/alice",
        account=ACCOUNT,
        principal="role/ops-admin",
        session_name="alice",
        source_ip="198.51.100.24",
        user_agent=user_agent,
        via_console=False,
        mfa=True,
    )


def _key(state: str, **changes: object) -> KeySection:
    base = KeySection(
        arn=KEY_ARN,
        id=KEY_ID,
        readable=True,
        aliases=["alias/prod-db"],
        state=state,
        manager="CUSTOMER",
        origin="AWS_KMS",
        multi_region=False,
    )
    return base.model_copy(update=changes)


def _event(name: str, event_id: str, time: str, **changes: object) -> EventSection:
    base = EventSection(
        name=name, id=event_id, time=time, region=REGION, account=ACCOUNT, requested_key=KEY_ID
    )
    return base.model_copy(update=changes)


def deletion_alert_only() -> AlertDocument:
    """A 30-day deletion in alert-only mode: nothing was done, the earlier state is unknown."""
    items = _items(5)
    return AlertDocument(
        alert_id="6a0f1e2d-3c4b-4a59-8687-9a8b7c6d5e01",
        kind="alert",
        severity=Severity.CRITICAL,
        title="",
        summary="",
        event=_event(
            "ScheduleKeyDeletion",
            "6a0f1e2d-3c4b-4a59-8687-9a8b7c6d5e01",
            "2026-11-29T03:11:52Z",
            pending_window_days=30,
            pending_window_is_default=True,
            requested_key="alias/prod-db",
        ),
        actor=_ops_admin(),
        key=_key(
            "PendingDeletion",
            deletion_date="2026-12-29T03:11:52Z",
            days_until_deletion=30,
            pending_window_days=30,
        ),
        dependencies=DependenciesSection(
            complete=True, total=5, counts=_counts(items), items=items, regions_searched=[REGION]
        ),
        remediation=RemediationSection(
            mode="off",
            action="none",
            outcome="remediation is off",
            result="off",
            resulting_state="PendingDeletion",
        ),
        generated_at=GENERATED_AT,
    )


def enforce_failed() -> AlertDocument:
    """Enforce mode tried to cancel and KMS said no: the failure leads, with its real error."""
    items = _items(5)
    return AlertDocument(
        alert_id="7b1a2c3d-4e5f-4061-8273-8495a6b7c802",
        kind="alert",
        severity=Severity.CRITICAL,
        title="",
        summary="",
        event=_event(
            "ScheduleKeyDeletion",
            "7b1a2c3d-4e5f-4061-8273-8495a6b7c802",
            "2026-11-29T03:11:52Z",
            pending_window_days=7,
            pending_window_is_default=False,
            short_window=True,
        ),
        actor=_ops_admin(),
        key=_key(
            "PendingDeletion",
            deletion_date="2026-12-06T03:11:52Z",
            days_until_deletion=7,
            pending_window_days=7,
        ),
        dependencies=DependenciesSection(
            complete=True, total=5, counts=_counts(items), items=items, regions_searched=[REGION]
        ),
        remediation=RemediationSection(
            mode="enforce",
            action="cancel-deletion",
            outcome="failed: AccessDeniedException",
            result="failed",
            resulting_state="PendingDeletion",
            reasons=["scope with-dependencies: 5 dependent resources found"],
        ),
        generated_at=GENERATED_AT,
    )


def resolved() -> AlertDocument:
    """EnableKey after an earlier alert: the key is Enabled again, and only that is "resolved"."""
    return AlertDocument(
        alert_id="8c2b3d4e-5f60-4172-9384-95a6b7c8d903",
        kind="resolved",
        severity=Severity.LOW,
        title="",
        summary="",
        event=_event("EnableKey", "8c2b3d4e-5f60-4172-9384-95a6b7c8d903", "2026-11-29T03:20:05Z"),
        actor=_ops_admin("aws-cli/2.17.4 md/command#kms.enable-key"),
        key=_key("Enabled"),
        dependencies=DependenciesSection(complete=False, total=0),
        remediation=RemediationSection(
            mode="enforce", action="none", outcome="not needed: follow-up event", result="not-needed"
        ),
        notes=["Severity: follow-up: EnableKey restored the key."],
        generated_at=GENERATED_AT,
    )


def still_disabled_follow_up() -> AlertDocument:
    """CancelKeyDeletion by a person: no longer pending deletion, but still Disabled (not resolved)."""
    return AlertDocument(
        alert_id="9d3c4e5f-6071-4283-a495-a6b7c8d9ea04",
        kind="alert",
        severity=Severity.MEDIUM,
        title="",
        summary="",
        event=_event("CancelKeyDeletion", "9d3c4e5f-6071-4283-a495-a6b7c8d9ea04", "2026-11-29T03:18:40Z"),
        actor=_ops_admin("aws-cli/2.17.4 md/command#kms.cancel-key-deletion"),
        key=_key("Disabled"),
        dependencies=DependenciesSection(complete=False, total=0),
        remediation=RemediationSection(
            mode="enforce", action="none", outcome="not needed: follow-up event", result="not-needed"
        ),
        notes=["Severity: follow-up: the deletion is cancelled but the key is still Disabled."],
        generated_at=GENERATED_AT,
    )


def tripwire() -> AlertDocument:
    """A Decrypt rejected because the key is pending deletion: a workload still uses it."""
    return AlertDocument(
        alert_id="ae4d5f60-7182-4394-b5a6-b7c8d9eafb05",
        kind="tripwire",
        severity=Severity.CRITICAL,
        title="",
        summary="",
        event=_event(
            "Decrypt",
            "ae4d5f60-7182-4394-b5a6-b7c8d9eafb05",
            "2026-11-29T04:02:11Z",
            error_code="KMSInvalidStateException",
            error_message=f"{KEY_ARN} is pending deletion.",
            requested_key=None,
        ),
        actor=ActorSection(
            type="AssumedRole",
            arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/orders-api/i-0abc1234def567890",
            account=ACCOUNT,
            principal="role/orders-api",
            session_name="i-0abc1234def567890",
            source_ip="10.0.3.17",
            user_agent="aws-sdk-java/2.25.11 md/io#sync ua/2.0 os/Linux lang/java#17",
            via_console=False,
            mfa=None,
        ),
        key=_key(
            "PendingDeletion",
            deletion_date="2026-12-06T03:11:52Z",
            days_until_deletion=7,
            pending_window_days=7,
        ),
        dependencies=DependenciesSection(
            complete=True,
            total=0,
            regions_searched=[REGION],
            usage=UsageEvidence(
                lookback_days=14,
                events_examined=3120,
                principals=[
                    UsagePrincipal(
                        principal="role/orders-api",
                        calls=3100,
                        operations=["Decrypt"],
                        last_seen="2026-11-29T04:02:11Z",
                    ),
                    UsagePrincipal(
                        principal="role/reports-batch",
                        calls=20,
                        operations=["Decrypt"],
                        last_seen="2026-11-28T23:00:00Z",
                    ),
                ],
            ),
        ),
        remediation=RemediationSection(
            mode="dry-run",
            action="cancel-deletion",
            outcome="would cancel the deletion and leave it Disabled",
            result="would-cancel",
            resulting_state="PendingDeletion",
            reasons=["restore evidence: no record of the key's state before the deletion was scheduled"],
        ),
        generated_at=GENERATED_AT,
    )


def deleted() -> AlertDocument:
    """KMS deleted the key at the end of its waiting period (the native event)."""
    items = _items(2)
    return AlertDocument(
        alert_id="bf5e6071-8293-44a5-86b7-c8d9eafb0c06",
        kind="deleted",
        severity=Severity.CRITICAL,
        title="",
        summary="",
        event=EventSection(
            name="KMS CMK Deletion",
            id="bf5e6071-8293-44a5-86b7-c8d9eafb0c06",
            time="2026-12-06T03:12:40Z",
            region=REGION,
            account=ACCOUNT,
        ),
        actor=ActorSection(
            type="AWSService",
            arn=None,
            account=ACCOUNT,
            principal="kms.amazonaws.com",
            invoked_by="kms.amazonaws.com",
            source_ip=None,
            user_agent=None,
            via_console=False,
            mfa=None,
        ),
        key=KeySection(arn=KEY_ARN, id=KEY_ID, readable=False, state="Deleted"),
        dependencies=DependenciesSection(
            complete=True, total=2, counts=_counts(items), items=items, regions_searched=[REGION]
        ),
        remediation=RemediationSection(
            mode="enforce",
            action="none",
            outcome="not possible: the key is deleted",
            result="not-possible",
            resulting_state="Deleted",
        ),
        generated_at=GENERATED_AT,
    )


def imported_material() -> AlertDocument:
    """DeleteImportedKeyMaterial: the key is PendingImport (re-read) until the same material returns."""
    return AlertDocument(
        alert_id="c06f7182-93a4-45b6-97c8-d9eafb0c1d07",
        kind="alert",
        severity=Severity.CRITICAL,
        title="",
        summary="",
        event=_event(
            "DeleteImportedKeyMaterial", "c06f7182-93a4-45b6-97c8-d9eafb0c1d07", "2026-11-29T05:40:00Z"
        ),
        actor=_ops_admin("aws-cli/2.17.4 md/command#kms.delete-imported-key-material"),
        key=_key("PendingImport", origin="EXTERNAL", aliases=["alias/byok-payments"]),
        dependencies=DependenciesSection(complete=True, total=0, regions_searched=[REGION]),
        remediation=RemediationSection(
            mode="enforce",
            action="none",
            outcome="not needed: no remediation applies to DeleteImportedKeyMaterial",
            result="not-needed",
            resulting_state="PendingImport",
        ),
        generated_at=GENERATED_AT,
    )


def reminder() -> AlertDocument:
    """The daily reminder: the deletion is a day away."""
    items = _items(3)
    return AlertDocument(
        alert_id=f"reminder-{KEY_ID}-2026-12-05",
        kind="reminder",
        severity=Severity.CRITICAL,
        title="",
        summary="",
        event=EventSection(
            name="DeletionReminder", id=None, time="2026-12-05T09:00:00Z", region=REGION, account=ACCOUNT
        ),
        actor=ActorSection.nobody(),
        key=_key(
            "PendingDeletion",
            deletion_date="2026-12-06T03:11:52Z",
            days_until_deletion=1,
            pending_window_days=7,
        ),
        dependencies=DependenciesSection(complete=True, total=3, counts=_counts(items), items=items),
        remediation=RemediationSection(
            mode="enforce",
            action="none",
            outcome="not attempted: reminders never act",
            result="not-attempted",
            resulting_state="PendingDeletion",
        ),
        notes=["Dependencies as last discovered on 2026-11-29T03:12:09Z (not searched again)."],
        generated_at="2026-12-05T09:00:02Z",
    )


def invalid_event() -> AlertDocument:
    """An event the responder could not parse: reported, never dropped."""
    return AlertDocument(
        alert_id="sha256-0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        kind="invalid-event",
        severity=Severity.MEDIUM,
        title="",
        summary="",
        event=EventSection(
            name="AWS API Call via CloudTrail", id=None, time=None, region=REGION, account=ACCOUNT
        ),
        actor=ActorSection.nobody(),
        key=KeySection(arn=None, id=None, readable=False),
        dependencies=DependenciesSection(
            complete=False,
            total=0,
            unchecked=[UncheckedFinder(finder="all", reason="not searched: the event could not be parsed")],
        ),
        remediation=RemediationSection(
            mode="enforce",
            action="none",
            outcome="not attempted: the event could not be parsed",
            result="not-attempted",
        ),
        notes=["detail.eventName is missing"],
        generated_at=GENERATED_AT,
    )


def _finished(build: Callable[[], AlertDocument]) -> Callable[[], AlertDocument]:
    def finished() -> AlertDocument:
        return _finish(build())

    finished.__doc__ = build.__doc__
    return finished


# One sample per kind of alert (and per remediation outcome that changes what to do), each finished
# as the responder finishes it; ``hostile_input`` keeps its forged title, summary and steps.
def missed_event() -> AlertDocument:
    """The reconciliation pass finds a Disabled key that no alert was sent for."""
    from datetime import UTC, datetime

    from shared.assemble import missed_event_alert
    from shared.config import Settings
    from shared.key_inventory import KeySnapshot

    snapshot = KeySnapshot(
        reference=KEY_ARN,
        region=REGION,
        readable=True,
        arn=KEY_ARN,
        key_id=KEY_ID,
        state="Disabled",
        manager="CUSTOMER",
        origin="AWS_KMS",
        enabled=False,
        description="Production payments database",
        aliases=["alias/prod-db"],
        tags={},
    )
    settings = Settings.from_env({"ALERT_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:kms-keyguard-alerts"})
    return missed_event_alert(snapshot, settings, datetime(2026, 11, 29, 3, 30, 0, tzinfo=UTC))


def protect_tag_removed() -> AlertDocument:
    """UntagResource of the protect tag: the key leaves the tagged scope, its own high alert."""
    return AlertDocument(
        alert_id="0e4d5f60-7182-4394-b5a6-b7c8d9eafb05",
        kind="alert",
        severity=Severity.HIGH,
        title="",
        summary="",
        event=_event(
            "UntagResource",
            "0e4d5f60-7182-4394-b5a6-b7c8d9eafb05",
            "2026-11-29T03:09:27Z",
            tag_changes=[
                TagChangeItem(
                    tag="keyguard:protect", role="protect", change="removed", weakens_protection=True
                )
            ],
        ),
        actor=_ops_admin("aws-cli/2.17.4 md/command#kms.untag-resource"),
        key=_key("Enabled"),
        dependencies=DependenciesSection(
            complete=False,
            total=0,
            unchecked=[
                UncheckedFinder(
                    finder="all",
                    reason="not searched: a tag change (dependencies are searched when the key is "
                    "disabled or scheduled for deletion)",
                )
            ],
        ),
        remediation=RemediationSection(
            mode="enforce", action="none", outcome="not needed: a tag change", result="not-needed"
        ),
        notes=[
            "Severity: the protect tag was removed: remediation in scope tagged no longer covers the key."
        ],
        generated_at=GENERATED_AT,
    )


def cross_account_dependencies() -> AlertDocument:
    """Organization mode: the key policy lets another member use the key, whose bucket is found
    there by the key's ARN; an account outside the organization is named, and cannot be searched."""
    items = _items(3)
    items.append(
        DependencyItem(
            service="s3",
            resource_type="AWS::S3::Bucket",
            region=REGION,
            arn="arn:aws:s3:::analytics-exports",
            name="analytics-exports",
            evidence="default encryption SSEKMSKeyId",
            account=MEMBER_ACCOUNT,
        )
    )
    outsider = f"account {OTHER_ACCOUNT}"
    doc = deletion_alert_only()
    doc.alert_id = "8c2b3d4e-5f60-4172-8384-95a6b7c8d903"
    doc.event.id = doc.alert_id
    doc.dependencies = DependenciesSection(
        complete=False,
        total=len(items),
        counts=_counts(items),
        items=items,
        regions_searched=[REGION],
        unchecked=[
            UncheckedFinder(finder=outsider, reason="outside the organization: may use the key, not searched")
        ],
        accounts=[
            AccountSearch(account=MEMBER_ACCOUNT, named_by=["key policy"], searched=True, found=1),
            AccountSearch(
                account=OTHER_ACCOUNT,
                named_by=["key policy", "grant"],
                searched=False,
                reason="outside the organization: may use the key, not searched",
            ),
        ],
    )
    return doc


SAMPLES: dict[str, Callable[[], AlertDocument]] = {
    "deletion_alert_only": _finished(deletion_alert_only),
    "critical_scheduled_deletion": _finished(critical_scheduled_deletion),
    "enforce_cancelled": _finished(enforce_cancelled),
    "enforce_failed": _finished(enforce_failed),
    "failed_access_denied": _finished(failed_access_denied),  # an attempt
    "unreadable_key": _finished(unreadable_key),
    "pending_replica_deletion": _finished(pending_replica_deletion),
    "disabled_key_dry_run": _finished(disabled_key_dry_run),
    "resolved": _finished(resolved),
    "still_disabled_follow_up": _finished(still_disabled_follow_up),
    "tripwire": _finished(tripwire),
    "deleted": _finished(deleted),
    "imported_material": _finished(imported_material),
    "reminder": _finished(reminder),
    "invalid_event": _finished(invalid_event),
    "hostile_input": hostile_input,
    "tamper_stop_logging": tamper_stop_logging,
    "missed_event": missed_event,
    "protect_tag_removed": _finished(protect_tag_removed),
    "cross_account_dependencies": _finished(cross_account_dependencies),
}
# The kind each sample stands for (the golden layout test covers every one).
KINDS = {
    "deletion": "deletion_alert_only",
    "disable": "disabled_key_dry_run",
    "enforce-cancelled": "enforce_cancelled",
    "enforce-failed": "enforce_failed",
    "attempt": "failed_access_denied",
    "resolved": "resolved",
    "still-disabled follow-up": "still_disabled_follow_up",
    "tripwire": "tripwire",
    "deleted": "deleted",
    "imported material": "imported_material",
    "reminder": "reminder",
    "invalid event": "invalid_event",
    "tamper": "tamper_stop_logging",
    "missed event": "missed_event",
}
