"""The AWS side of the command line: one session from the standard credential chain.

``--profile`` and ``--region`` go to ``boto3.Session``; ``AWS_ENDPOINT_URL`` (and the per-service
variants) are honoured by botocore itself. Clients come from the project's ``ClientFactory``.
``--account ID`` acts in another account of the organization through a role assumed exactly as the
hub assumes it (``shared.accounts.MemberAccounts``: regional STS, ``SourceIdentity=kms-keyguard``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from keyguard_cli.errors import NO_CREDENTIALS_MESSAGE, CliError, ExitCode, from_aws_error
from shared.accounts import MemberAccounts, MemberRoleUnavailable
from shared.aws import ClientFactory

ACCOUNT_ID = re.compile(r"^\d{12}$")


class CountingClientFactory(ClientFactory):
    """A ``ClientFactory`` that reports every API call it makes (for the progress display)."""

    def __init__(self, session: boto3.Session, on_call: Callable[[str], None] | None = None) -> None:
        super().__init__(session)
        self.on_call = on_call

    def client(self, service: str, region: str | None = None) -> Any:
        existing = (service, region) in self._clients
        client = super().client(service, region)
        if not existing:
            client.meta.events.register("before-call.*.*", self._before_call)
        return client

    def _before_call(self, model: Any = None, **_: Any) -> None:
        if self.on_call is not None and model is not None:
            self.on_call(f"{model.service_model.service_name}:{model.name}")


@dataclass
class AwsContext:
    session: boto3.Session
    clients: CountingClientFactory
    _account: str | None = field(default=None, init=False)

    @property
    def region(self) -> str | None:
        return self.session.region_name

    def require_region(self, explicit: str | None = None) -> str:
        region = explicit or self.region or os.environ.get("AWS_REGION")
        if not region:
            raise CliError(ExitCode.USAGE, "no AWS region: pass --region or set AWS_DEFAULT_REGION")
        return region

    def require_credentials(self) -> None:
        try:
            credentials = self.session.get_credentials()
        except BotoCoreError as exc:
            raise from_aws_error(exc, "loading credentials") from None
        if credentials is None:
            raise CliError(
                ExitCode.NO_CREDENTIALS,
                NO_CREDENTIALS_MESSAGE,
            )

    def assume(self, account: str, role_name: str, region: str) -> AwsContext:
        """This context's credentials turned into the member role's in ``account`` (assumed now).

        The caller's own credentials are proven first, so that a missing credential is reported
        as such and not as a role that cannot be assumed. STS answers ``AccessDenied`` both for a
        role that does not exist and for one that does not trust the caller
        (https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html: errors): one
        exit code, ``ROLE_UNAVAILABLE``, and the message names the role.
        """
        if not ACCOUNT_ID.match(account):
            raise CliError(ExitCode.USAGE, f"not an account id: {account!r} (12 digits)")
        self.account()
        try:
            member = MemberAccounts(self.clients).factory(account, role_name, region)
        except MemberRoleUnavailable as exc:
            cause = exc.__cause__
            if isinstance(cause, BotoCoreError):  # not STS's answer: no endpoint, no network
                raise from_aws_error(cause, "sts:AssumeRole") from None
            raise CliError(
                ExitCode.ROLE_UNAVAILABLE,
                f"cannot assume {exc.role_arn}: {exc.code} (no such role, or it does not trust you)",
            ) from None
        assumed = AwsContext(session=member.session, clients=CountingClientFactory(member.session))
        assumed._account = account
        return assumed

    def account(self) -> str:
        """The caller's account id (one STS call, cached); also proves the credentials work."""
        if self._account is None:
            self.require_credentials()
            try:
                sts = self.clients.client("sts", self.region or os.environ.get("AWS_REGION") or "us-east-1")
                self._account = str(sts.get_caller_identity()["Account"])
            except (ClientError, BotoCoreError) as exc:
                raise from_aws_error(exc, "sts:GetCallerIdentity") from None
        return self._account


def aws_context(profile: str | None, region: str | None) -> AwsContext:
    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except BotoCoreError as exc:
        raise from_aws_error(exc, "creating the session") from None
    return AwsContext(session=session, clients=CountingClientFactory(session))
