"""``keyguard impact KEY``: what would break if this key stopped working.

Nothing here reads keys or searches for dependencies itself: the key is re-read by the project's
``KeyInventory``, searched by the responder's discover step and described by the same section
builder (``shared.assemble``), so the ``key`` and ``dependencies`` sections are exactly what an
alert for this key would carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from keyguard_cli.errors import CliError, ExitCode
from keyguard_cli.session import AwsContext
from shared.assemble import key_section
from shared.config import Settings
from shared.dependencies.base import DENIED_CODES
from shared.document import DependenciesSection, KeySection
from shared.key_inventory import KeyInventory, KeySnapshot
from shared.keyref import RefKind, parse_key_reference
from shared.responder import Responder

# The responder needs a topic to be constructible; impact never publishes, so none is contacted.
UNUSED_TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:keyguard-cli-not-published"


class ImpactDocument(BaseModel):
    """``keyguard impact --json``: the ``key`` and ``dependencies`` sections of the alert document."""

    model_config = ConfigDict(extra="forbid", title="keyguard impact --json")

    key: KeySection
    dependencies: DependenciesSection


@dataclass
class ImpactResult:
    document: ImpactDocument
    snapshot: KeySnapshot

    @property
    def found_something(self) -> bool:
        deps = self.document.dependencies
        usage = deps.usage.principals if deps.usage else []
        return bool(deps.total or deps.items or deps.grants or usage)

    @property
    def exit_code(self) -> ExitCode:
        if self.found_something:
            return ExitCode.DEPENDENCIES_FOUND
        if not self.document.dependencies.complete:
            return ExitCode.INCOMPLETE
        return ExitCode.OK


def check_reference(reference: str) -> None:
    ref = parse_key_reference(reference)
    if ref is None or ref.kind is RefKind.UNKNOWN:
        raise CliError(
            ExitCode.USAGE,
            f"not a key reference: {reference!r} (use a key id, key ARN, alias name or alias ARN)",
        )


def run_impact(
    ctx: AwsContext,
    reference: str,
    *,
    region: str | None,
    timeout: float,
    workers: int,
    wrap: Callable[[Callable[[], ImpactResult]], ImpactResult] | None = None,
) -> ImpactResult:
    """Re-read the key and search its dependencies; raise ``CliError`` for an unusable key."""
    check_reference(reference)
    ref = parse_key_reference(reference)
    key_region = (ref.region if ref else None) or ctx.require_region(region)
    # An id or alias name is completed to an ARN in the caller's account, as an event's would be.
    key_ref = (ref.arn(ctx.account(), key_region) if ref else None) or reference

    def work() -> ImpactResult:
        snapshot = KeyInventory(ctx.clients).read(key_ref, key_region)
        return search_key(ctx, snapshot, key_ref, timeout=timeout, workers=workers)

    result = wrap(work) if wrap else work()
    raise_if_unreadable(result.snapshot, reference, key_region)
    return result


def search_key(
    ctx: AwsContext, snapshot: KeySnapshot, key_ref: str, *, timeout: float, workers: int
) -> ImpactResult:
    """The impact document of a key already read: its dependencies searched as an alert's are."""
    settings = Settings(
        alert_topic_arn=UNUSED_TOPIC_ARN,
        discovery_max_seconds=timeout,
        discovery_max_workers=workers,
    )
    dependencies = Responder(settings, ctx.clients).find_dependencies(snapshot)
    key = key_section(snapshot, datetime.now(UTC)).model_copy(update={"arn": snapshot.arn or key_ref})
    return ImpactResult(ImpactDocument(key=key, dependencies=dependencies), snapshot)


def raise_if_unreadable(snapshot: KeySnapshot, reference: str, region: str) -> None:
    """Why the key could not be read, as the command's exit code (``KEY_NOT_FOUND``: not there)."""
    code = snapshot.unavailable.get("describe")
    if snapshot.readable or code is None:
        return
    if code in ("NotFoundException", "NotFound", "InvalidArnException"):
        raise CliError(ExitCode.KEY_NOT_FOUND, f"key not found: {reference} in {region} ({code})")
    if code in DENIED_CODES:
        raise CliError(ExitCode.ACCESS_DENIED, f"access denied: kms:DescribeKey on {reference} ({code})")
    if code in ("NoCredentialsError", "PartialCredentialsError"):
        raise CliError(ExitCode.NO_CREDENTIALS, "no AWS credentials found")
    raise CliError(ExitCode.AWS_UNAVAILABLE, f"the key could not be read: kms:DescribeKey ({code})")
