"""Remediation outcomes are typed: the metric, the severity step-down and the wording read the type."""

from __future__ import annotations

import pytest

from shared.policy import Outcome, Remediation, danger_averted


@pytest.mark.parametrize(
    ("outcome", "detail", "text", "metric", "out_of_danger"),
    [
        (Outcome.OFF, None, "remediation is off", "None", False),
        (Outcome.LOOP_GUARD, None, "skipped: caused by kms-keyguard (loop guard)", "None", False),
        (Outcome.NOT_NEEDED, "the call failed", "not needed: the call failed", "None", False),
        (Outcome.EXEMPT, "approved deletion: CHG-1", "exempt: approved deletion: CHG-1", "None", False),
        (Outcome.NOT_IN_SCOPE, None, "not in scope", "None", False),
        (Outcome.NOT_ATTEMPTED, "no key id", "not attempted: no key id", "None", False),
        (Outcome.NOT_POSSIBLE, "the key is deleted", "not possible: the key is deleted", "None", False),
        (Outcome.WOULD_CANCEL, None, "would cancel the deletion and leave it Disabled", "DryRun", False),
        (
            Outcome.WOULD_CANCEL_AND_REENABLE,
            None,
            "would cancel the deletion and re-enable it",
            "DryRun",
            False,
        ),
        (Outcome.WOULD_REENABLE, None, "would re-enable the key", "DryRun", False),
        (Outcome.ALREADY_CANCELLED, None, "already cancelled", "AlreadyDone", False),
        (Outcome.ALREADY_ENABLED, None, "already enabled", "AlreadyDone", False),
        (
            Outcome.CANCELLED_EARLIER,
            None,
            "cancelled (on an earlier delivery of this event)",
            "Cancelled",
            True,
        ),
        (
            Outcome.REENABLED_EARLIER,
            None,
            "re-enabled (on an earlier delivery of this event)",
            "Reenabled",
            True,
        ),
        (Outcome.CANCELLED, None, "cancelled; left Disabled", "Cancelled", True),
        (Outcome.CANCELLED_AND_REENABLED, None, "cancelled and re-enabled", "CancelledReenabled", True),
        (
            Outcome.REENABLE_FAILED,
            "AccessDenied",
            "cancelled; re-enable failed: AccessDenied",
            "Cancelled",
            True,
        ),
        (Outcome.REENABLED, None, "re-enabled", "Reenabled", True),
        (Outcome.FAILED, "AccessDenied", "failed: AccessDenied", "Failed", False),
    ],
)
def test_outcome(outcome: Outcome, detail: str | None, text: str, metric: str, out_of_danger: bool) -> None:
    result = Remediation("enforce", outcome, detail=detail)

    assert result.outcome == text
    assert outcome.metric == metric
    assert danger_averted(result) is out_of_danger


def test_every_outcome_has_its_wording() -> None:
    for outcome in Outcome:
        assert outcome.text("x")


@pytest.mark.parametrize("mode", ["off", "dry-run"])
def test_only_enforce_mode_averts_danger(mode: str) -> None:
    assert not danger_averted(Remediation(mode, Outcome.REENABLED_EARLIER))
