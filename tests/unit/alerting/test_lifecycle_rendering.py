"""Follow-up notices read as what they are: a tripwire, a resolution, a completed deletion."""

from __future__ import annotations

from shared.alerting import render_subject, render_text, verdict
from shared.document import AlertDocument, DependenciesSection, UncheckedFinder
from tests.unit.alerting import samples


def _variant(kind: str, event_name: str, error_code: str | None = None, **key: object) -> AlertDocument:
    doc = samples.critical_scheduled_deletion()
    return doc.model_copy(
        update={
            "kind": kind,
            "event": doc.event.model_copy(update={"name": event_name, "error_code": error_code}),
            "key": doc.key.model_copy(update=key),
        }
    )


def test_tripwire_says_the_key_is_still_in_use_not_that_someone_tried() -> None:
    # Given a Decrypt that failed because the key is pending deletion
    doc = _variant("tripwire", "Decrypt", "KMSInvalidStateException", state="PendingDeletion")

    # Then the verdict and the report name the live dependency
    assert "is PendingDeletion and still in use: Decrypt" in verdict(doc)
    assert "failed attempt" not in verdict(doc)
    text = render_text(doc)
    assert "a workload still depends on the key" in text
    assert "someone tried" not in text
    assert "in use while PendingDeletion" in render_subject(doc)


def test_a_cancelled_deletion_with_the_key_still_disabled_says_so_and_does_not_cry_incomplete() -> None:
    doc = _variant("alert", "CancelKeyDeletion", state="Disabled").model_copy(
        update={
            "dependencies": DependenciesSection(
                complete=False,
                total=0,
                unchecked=[UncheckedFinder(finder="all", reason="not searched: a follow-up notice")],
            )
        }
    )
    line = verdict(doc)
    assert "deletion cancelled, key still Disabled" in line
    assert "resolved" not in line
    assert "dependency" not in line
    text = render_text(doc)
    assert "Not searched again for this follow-up" in text
    assert "NOT evidence" not in text


def test_deletion_notice_does_not_blame_describe_key() -> None:
    doc = _variant("deleted", "KMS CMK Deletion", readable=False, state=None)
    text = render_text(doc)
    assert "The key has been deleted" in text
    assert "DescribeKey failed" not in text
    assert "has been deleted" in verdict(doc)
