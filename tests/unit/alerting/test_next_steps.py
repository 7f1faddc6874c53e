"""The next steps are the right ones for the alert's kind and the key's state (``assemble.steps``)."""

from __future__ import annotations

import pytest

from shared.assemble.steps import next_steps
from tests.unit.alerting import samples


def _steps(sample: str) -> str:
    return "\n".join(samples.SAMPLES[sample]().next_steps)


def test_re_enabling_is_advised_outright_only_on_evidence_that_the_key_was_enabled() -> None:
    # Evidence (dry-run would cancel and re-enable): re-enable it
    assert "It was Enabled before the deletion was scheduled; re-enable it" in _steps(
        "pending_replica_deletion"
    )
    # No evidence: the earlier state is unknown, and how to check it comes first
    unknown = _steps("deletion_alert_only")
    assert "state before the deletion was scheduled is unknown" in unknown
    assert "aws cloudtrail lookup-events" in unknown
    assert "Only if it was Enabled: aws kms enable-key" in unknown


def test_a_key_already_disabled_before_is_left_disabled() -> None:
    doc = samples.enforce_cancelled()
    doc.remediation.reasons = [
        "restore evidence: the key was already Disabled before the deletion was scheduled"
    ]
    steps = "\n".join(next_steps(doc))
    assert "leave it Disabled" in steps
    assert "enable-key" not in steps


@pytest.mark.parametrize("sample", ["disabled_key_dry_run", "tripwire", "resolved", "imported_material"])
def test_the_approved_deletion_step_appears_only_on_deletion_alerts(sample: str) -> None:
    assert "keyguard:allow-deletion" not in _steps(sample)


def test_approving_a_pending_deletion_is_cancel_tag_reschedule() -> None:
    steps = _steps("deletion_alert_only")
    assert "a key pending deletion cannot be tagged: cancel, tag, reschedule" in steps
    approval = next(line for line in steps.splitlines() if "allow-deletion" in line)
    assert (
        approval.index("cancel-key-deletion")
        < approval.index("tag-resource")
        < approval.index("schedule-key-deletion")
    )


def test_the_approval_step_asks_for_an_expiry_and_another_principal() -> None:
    # An approval without until= is invalid, and one tagged by the scheduler is not honoured.
    approval = next(line for line in _steps("deletion_alert_only").splitlines() if "allow-deletion" in line)
    assert "TagValue=YOUR-CHANGE-REF until=YYYY-MM-DD'" in approval
    assert "a principal other than the one who schedules it" in approval
    assert approval.index("CloudTrail event history shows that TagResource") < approval.index(
        "schedule-key-deletion"
    )


def test_a_not_found_error_is_not_called_a_permission_problem() -> None:
    doc = samples.failed_access_denied()
    doc.event.error_code = "NotFoundException"
    steps = "\n".join(next_steps(doc))
    assert "not a permission problem" in steps
    assert "NotFoundException" in steps


def test_a_failed_remediation_names_its_error_first() -> None:
    first = samples.SAMPLES["enforce_failed"]().next_steps[0]
    assert first.startswith("Automatic cancel FAILED with AccessDeniedException (a permission problem")


def test_imported_material_steps_re_import_the_same_material_and_show_the_re_read_state() -> None:
    steps = _steps("imported_material")
    assert "The key is PendingImport" in steps
    assert "only the same material works" in steps
    assert "aws kms get-parameters-for-import" in steps
    assert "aws kms import-key-material" in steps


def test_tripwire_names_who_still_uses_the_key_and_the_cancel_command() -> None:
    steps = _steps("tripwire")
    assert "Still using the key: role/orders-api, role/reports-batch" in steps
    assert "aws kms cancel-key-deletion" in steps
