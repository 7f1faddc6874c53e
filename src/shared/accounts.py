"""Acting in a member account of the organization through its kms-keyguard roles.

The hub assumes ``arn:<partition>:iam::<account>:role/<role name>`` (org/member-roles.yaml)
through the STS endpoint of the event's Region (botocore's default ``sts_regional_endpoints`` is
``regional``), with ``SourceIdentity=kms-keyguard`` so every call the hub makes in the member
account carries it in CloudTrail (https://docs.aws.amazon.com/IAM/latest/UserGuide/
id_credentials_temp_control-access_monitor.html). Credentials are cached per account and role
and refreshed shortly before they expire; each (account, role) gets one ``ClientFactory`` whose
clients all share those credentials.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from shared.approval import Approval
from shared.aws import ClientFactory, error_code
from shared.config import Settings
from shared.document import DependenciesSection
from shared.key_inventory import KeyInventory, KeySnapshot
from shared.keyref import parse_key_reference
from shared.models import CloudTrailRecord
from shared.policy import Outcome, Remediation

SOURCE_IDENTITY = "kms-keyguard"
SESSION_NAME = "kms-keyguard"
# Fresh credentials are fetched this long before the cached ones expire (AssumeRole's default
# duration is one hour: https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html).
REFRESH_MARGIN = timedelta(minutes=5)


class MemberRoleUnavailable(Exception):
    """The member role could not be assumed; ``role_arn`` and the STS error ``code`` say which and why."""

    def __init__(self, role_arn: str, code: str) -> None:
        super().__init__(f"cannot assume {role_arn}: {code}")
        self.role_arn = role_arn
        self.code = code


def role_arn(account: str, role_name: str, region: str) -> str:
    """The member role's ARN, in the partition of ``region``."""
    partition = boto3.Session().get_partition_for_region(region)
    return f"arn:{partition}:iam::{account}:role/{role_name}"


class MemberAccounts:
    """Assumed-role credentials and client factories per (account, role), cached until expiry."""

    def __init__(
        self,
        clients: ClientFactory,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._clients = clients  # the hub's own: its STS clients make the AssumeRole calls
        self._clock = clock or (lambda: datetime.now(UTC))
        self._credentials: dict[tuple[str, str], dict[str, Any]] = {}
        self._factories: dict[tuple[str, str], ClientFactory] = {}
        self._lock = threading.Lock()

    def credentials(self, account: str, role_name: str, region: str) -> dict[str, Any]:
        """``AccessKeyId``, ``SecretAccessKey``, ``SessionToken``, ``Expiration``: cached, or fresh.

        Raises ``MemberRoleUnavailable`` naming the role when STS refuses (no such role, a trust
        policy that does not name the hub, an SCP).
        """
        key = (account, role_name)
        with self._lock:
            cached = self._credentials.get(key)
            if cached is not None and cached["Expiration"] - REFRESH_MARGIN > self._clock():
                return cached
            arn = role_arn(account, role_name, region)
            try:
                answer = self._clients.client("sts", region).assume_role(
                    RoleArn=arn, RoleSessionName=SESSION_NAME, SourceIdentity=SOURCE_IDENTITY
                )
            except (ClientError, BotoCoreError) as exc:
                raise MemberRoleUnavailable(arn, error_code(exc)) from exc
            fresh: dict[str, Any] = answer["Credentials"]
            self._credentials[key] = fresh
            return fresh

    def factory(self, account: str, role_name: str, region: str) -> ClientFactory:
        """A client factory acting as the member role; the role is assumed now (failing here)."""
        first = self.credentials(account, role_name, region)
        key = (account, role_name)
        with self._lock:
            factory = self._factories.get(key)
            if factory is None:
                factory = ClientFactory(self._session(account, role_name, region, first))
                self._factories[key] = factory
        return factory

    def _session(self, account: str, role_name: str, region: str, first: dict[str, Any]) -> boto3.Session:
        def refresh() -> dict[str, str]:
            return _metadata(self.credentials(account, role_name, region))

        credentials = RefreshableCredentials.create_from_metadata(
            metadata=_metadata(first), refresh_using=refresh, method="assume-role"
        )
        core = botocore.session.get_session()
        # botocore has no public setter for a session's credentials; this is how boto3's own
        # assume-role providers hand refreshable credentials to a session.
        core._credentials = credentials  # type: ignore[attr-defined]
        return boto3.Session(botocore_session=core, region_name=region)

    def clear(self) -> None:
        with self._lock:
            self._credentials.clear()
            self._factories.clear()


def _metadata(credentials: dict[str, Any]) -> dict[str, str]:
    expiration = credentials["Expiration"]
    return {
        "access_key": credentials["AccessKeyId"],
        "secret_key": credentials["SecretAccessKey"],
        "token": credentials["SessionToken"],
        "expiry_time": expiration.isoformat() if isinstance(expiration, datetime) else str(expiration),
    }


class UnreachableInventory(KeyInventory):
    """Stands in for the member account's key inventory when its discovery role cannot be assumed:
    the key is reported unreadable, naming the role and STS's answer (the alert is degraded, never
    dropped; nothing is read in the hub's own account instead)."""

    def __init__(self, failure: MemberRoleUnavailable, clients: ClientFactory) -> None:
        super().__init__(clients)
        self.failure = failure

    @property
    def reason(self) -> str:
        return f"{self.failure.code} assuming {self.failure.role_arn}"

    def read(self, reference: str, region: str) -> KeySnapshot:
        snapshot = KeySnapshot(reference=reference, region=region)
        snapshot.unavailable["describe"] = self.reason
        ref = parse_key_reference(reference)
        if ref and not ref.is_alias and ref.arn():
            snapshot.arn, snapshot.key_id = ref.arn(), ref.value
        return snapshot

    def key_policy(self, snapshot: KeySnapshot) -> tuple[str | None, str | None]:
        return None, self.reason


class RoleUnavailableRemediation:
    """The member's remediation role cannot be assumed: remediation failed, and says which role."""

    def __init__(self, mode: str, failure: MemberRoleUnavailable) -> None:
        self.mode = mode
        self.failure = failure

    def remediate(
        self,
        record: CloudTrailRecord,
        snapshot: KeySnapshot,
        dependencies: DependenciesSection,
        deadline: float | None = None,
        approval: Approval | None = None,
    ) -> Remediation:
        detail = f"{self.failure.code} assuming {self.failure.role_arn}"
        return Remediation(self.mode, Outcome.FAILED, detail=detail, resulting_state=snapshot.state)


def is_own_member_session(record: CloudTrailRecord, settings: Settings) -> bool:
    """Whether a member account's call was the hub's own remediation: made through the member
    remediation role in a session carrying the hub's source identity (set by ``MemberAccounts``;
    a source identity cannot be changed once set for a role session)."""
    if settings.organization_id is None:
        return False
    context = record.user_identity.session_context
    if context is None or context.source_identity != SOURCE_IDENTITY:
        return False
    issuer = context.session_issuer
    if issuer is None or not issuer.arn or record.account is None:
        return False
    # The role of the key's own account: a same-named role elsewhere (an account the person being
    # watched controls, where they may set any source identity) is not the hub.
    role = issuer.arn.split(":", 5)
    return (
        len(role) == 6
        and role[4] == record.account
        and role[5] == f"role/{settings.member_remediation_role_name}"
    )
