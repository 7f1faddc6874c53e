"""The pure parts of ``--organization``: which exit code is the worst, rows, the progress bar."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from keyguard_cli.audit import CHECK_TITLES, CheckResult, RegionAudit
from keyguard_cli.errors import SEVERITY, ExitCode, worst
from keyguard_cli.organization import region_exit_code
from keyguard_cli.render import organization_progress


def test_severity_orders_every_exit_code_once() -> None:
    assert sorted(SEVERITY) == sorted(ExitCode)


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ([], ExitCode.OK),
        ([ExitCode.OK, ExitCode.OK], ExitCode.OK),
        ([ExitCode.OK, ExitCode.INCOMPLETE], ExitCode.INCOMPLETE),
        ([ExitCode.INCOMPLETE, ExitCode.ROLE_UNAVAILABLE], ExitCode.ROLE_UNAVAILABLE),
        ([ExitCode.ROLE_UNAVAILABLE, ExitCode.ACCESS_DENIED], ExitCode.ACCESS_DENIED),
        (
            [ExitCode.AWS_UNAVAILABLE, ExitCode.FAILED_CHECKS, ExitCode.ROLE_UNAVAILABLE],
            ExitCode.FAILED_CHECKS,
        ),
        ([ExitCode.OK, ExitCode.DEPENDENCIES_FOUND, ExitCode.INCOMPLETE], ExitCode.DEPENDENCIES_FOUND),
    ],
)
def test_the_worst_exit_code_a_finding_outranks_not_knowing(
    codes: list[ExitCode], expected: ExitCode
) -> None:
    assert worst(codes) is expected


def _audit(*statuses: str) -> RegionAudit:
    ids = list(CHECK_TITLES)
    return RegionAudit(
        region="us-east-1",
        checks=[
            CheckResult(id=ids[i], title=CHECK_TITLES[ids[i]], status=status, reason="r")  # type: ignore[arg-type]
            for i, status in enumerate(statuses)
        ],
    )


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        (("PASS", "PASS"), ExitCode.OK),
        (("PASS", "UNKNOWN"), ExitCode.INCOMPLETE),
        (("UNKNOWN", "FAIL", "PASS"), ExitCode.FAILED_CHECKS),
    ],
)
def test_a_regions_exit_code_is_the_single_account_audits(
    statuses: tuple[str, ...], expected: ExitCode
) -> None:
    assert region_exit_code(_audit(*statuses)) is expected


def test_the_progress_bar_draws_on_a_terminal() -> None:
    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=100)
    with organization_progress(console, "Auditing the organization") as tick:
        tick(1, 4)
        tick(4, 4)
    assert "Auditing the organization" in stream.getvalue()


def test_the_default_role_is_the_member_templates_discovery_role_the_hub_assumes() -> None:
    from keyguard_cli.main import DEFAULT_ROLE_NAME
    from shared.config import Settings
    from tests.contract.test_org_templates import ROLES_PATH
    from tests.support.cfn_yaml import load

    role = load(ROLES_PATH)["Resources"]["DiscoveryRole"]["Properties"]["RoleName"]
    assert DEFAULT_ROLE_NAME == Settings.model_fields["member_role_name"].default == role
