"""Exit codes of the ``keyguard`` command and the one error type that carries them.

Every failure the user can cause or fix (a bad argument, an unknown key, a missing credential, a
denied call, an unreadable file) becomes a ``CliError``: one line on stderr and a distinct exit code.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from shared.dependencies.base import DENIED_CODES


class ExitCode(IntEnum):
    OK = 0  # impact: nothing depends on the key and the search was complete; audit: all PASS
    FAILED_CHECKS = 1  # audit: at least one check FAILed
    USAGE = 2  # bad arguments (argparse uses 2 as well)
    DEPENDENCIES_FOUND = 3  # impact: at least one dependency or grant found
    INCOMPLETE = 4  # impact: nothing found but the search was incomplete; audit: UNKNOWN, no FAIL
    KEY_NOT_FOUND = 5
    NO_CREDENTIALS = 6  # no credentials found, or credentials rejected/expired
    ACCESS_DENIED = 7
    BAD_INPUT_FILE = 8  # unreadable file or invalid JSON
    NOT_A_KMS_EVENT = 9
    AWS_UNAVAILABLE = 10  # endpoint unreachable or an unexpected AWS error
    ROLE_UNAVAILABLE = 11  # --account / --organization: the member role could not be assumed
    INTERNAL_ERROR = 70  # a bug: one line by default, the traceback with --debug


# How bad each outcome is, best first, for the one exit code of several accounts (``--organization``).
# A definite finding outranks not knowing: an account whose checks FAIL decides the answer to "is
# CIS 4.7 met everywhere?" even when another account could not be read, as FAIL outranks UNKNOWN
# within one account. Among the ones that leave an account unknown, UNKNOWN checks come first, then
# an account whose role cannot be assumed, then the errors that stopped a command outright.
SEVERITY: tuple[ExitCode, ...] = (
    ExitCode.OK,
    ExitCode.INCOMPLETE,
    ExitCode.ROLE_UNAVAILABLE,
    ExitCode.KEY_NOT_FOUND,
    ExitCode.ACCESS_DENIED,
    ExitCode.NO_CREDENTIALS,
    ExitCode.AWS_UNAVAILABLE,
    ExitCode.NOT_A_KMS_EVENT,
    ExitCode.BAD_INPUT_FILE,
    ExitCode.USAGE,
    ExitCode.INTERNAL_ERROR,
    ExitCode.DEPENDENCIES_FOUND,
    ExitCode.FAILED_CHECKS,
)


def worst(codes: Iterable[ExitCode]) -> ExitCode:
    """The worst of several exit codes by ``SEVERITY`` (``OK`` for none)."""
    return max(codes, key=SEVERITY.index, default=ExitCode.OK)


# Codes AWS (and STS in particular) returns for credentials that exist but do not work.
REJECTED_CREDENTIAL_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "RequestExpired",
    }
)


NO_CREDENTIALS_MESSAGE = "no AWS credentials found (use --profile or set up the standard credential chain)"


class CliError(Exception):
    """A failure reported as one line on stderr with a distinct exit code."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def aws_error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or "ClientError")


def from_aws_error(exc: BotoCoreError | ClientError, doing: str) -> CliError:
    """A botocore failure as a ``CliError``; ``doing`` names the call (``sts:GetCallerIdentity``)."""
    if isinstance(exc, ClientError):
        code = aws_error_code(exc)
        if code in DENIED_CODES:
            return CliError(ExitCode.ACCESS_DENIED, f"access denied: {doing} ({code})")
        if code in REJECTED_CREDENTIAL_CODES:
            return CliError(ExitCode.NO_CREDENTIALS, f"AWS rejected the credentials: {doing} ({code})")
        if code in ("NotFoundException", "NotFound"):
            return CliError(ExitCode.KEY_NOT_FOUND, f"not found: {doing} ({code})")
        return CliError(ExitCode.AWS_UNAVAILABLE, f"AWS call failed: {doing} ({code})")
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return CliError(
            ExitCode.NO_CREDENTIALS,
            NO_CREDENTIALS_MESSAGE,
        )
    if isinstance(exc, ProfileNotFound):
        return CliError(ExitCode.NO_CREDENTIALS, f"AWS profile not found: {exc.kwargs.get('profile')}")
    if isinstance(exc, NoRegionError):
        return CliError(ExitCode.USAGE, "no AWS region: pass --region or set AWS_DEFAULT_REGION")
    if isinstance(exc, EndpointConnectionError):
        return CliError(ExitCode.AWS_UNAVAILABLE, f"cannot reach the AWS endpoint for {doing}")
    return CliError(ExitCode.AWS_UNAVAILABLE, f"AWS call failed: {doing} ({type(exc).__name__})")
