"""The alert's next steps: the right ones for its kind and state, as exact commands.

Pure: read from the finished document (kind, event, key state after remediation, remediation
result and its restore evidence, usage evidence), so every notice, the golden files and the tests
share one source. AWS behaviour relied on here:

- Cancelling a deletion leaves the key ``Disabled``; a key pending deletion accepts no
  ``TagResource`` (``KMSInvalidStateException``), so recording an approval on it means cancel, tag,
  reschedule. "Key states of AWS KMS keys":
  https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html
- After ``DeleteImportedKeyMaterial`` the key is ``PendingImport`` and only the same key material
  can be imported again (other material cannot decrypt what the key encrypted):
  https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html
"""

from __future__ import annotations

from shared.document import AlertDocument
from shared.events import KEY_DELETED, Kind, SeverityRule, kms_event
from shared.policy import PENDING_STATES, Outcome

DEFAULT_ALLOW_TAG = "keyguard:allow-deletion"

# What a failed KMS call's error code means to the person reading the alert (by code, never text).
_ERROR_MEANING = {
    "AccessDenied": "a permission problem: the caller's IAM policy or the key policy does not allow it",
    "AccessDeniedException": "a permission problem: the caller's IAM policy "
    "or the key policy does not allow it",
    "NotFoundException": "not a permission problem: the key id does not exist in this account and Region "
    "(a typo, or the wrong account or Region)",
    "KMSInvalidStateException": "the key's state did not allow the call",
    "DisabledException": "the key is disabled",
    "InvalidArnException": "the key ARN in the request is malformed",
    "DependencyTimeoutException": "a transient KMS error; the call may be retried",
    "KMSInternalException": "a transient KMS error; the call may be retried",
}


def error_meaning(code: str | None) -> str:
    """What an error code means, in a few words (by code; unknown codes say where to look)."""
    if not code:
        return "see the function's logs"
    return _ERROR_MEANING.get(code, "see the error message and the function's logs")


def _target(doc: AlertDocument) -> str | None:
    key_id = doc.key.id
    region = doc.event.region or (doc.key.arn.split(":")[3] if doc.key.arn else None)
    return f"--key-id {key_id} --region {region}" if key_id and region else None


def _restore(doc: AlertDocument) -> bool | None:
    """Was the key Enabled before the deletion was scheduled? ``None``: unknown (as enforce mode decides)."""
    result = doc.remediation.result
    if result in (
        Outcome.CANCELLED_AND_REENABLED,
        Outcome.WOULD_CANCEL_AND_REENABLE,
        Outcome.REENABLE_FAILED,
    ):
        return True
    for reason in doc.remediation.reasons:
        if reason.startswith("restore evidence:") and "already Disabled" in reason:
            return False
    return None


def _earlier_state_steps(doc: AlertDocument, target: str) -> list[str]:
    """Re-enable only on evidence that the key was Enabled; otherwise say how to find out."""
    restore = _restore(doc)
    if restore is True:
        return [
            f"It was Enabled before the deletion was scheduled; re-enable it: aws kms enable-key {target}"
        ]
    if restore is False:
        return ["It was already Disabled before the deletion was scheduled: leave it Disabled."]
    where = doc.key.arn or doc.key.id or "<key-arn>"
    region = doc.event.region or ""
    return [
        "Its state before the deletion was scheduled is unknown: find the latest EnableKey or DisableKey "
        f"before {doc.event.time or 'the event'}: aws cloudtrail lookup-events --region {region} "
        f"--lookup-attributes AttributeKey=ResourceName,AttributeValue={where}",
        f"Only if it was Enabled: aws kms enable-key {target}",
    ]


def _approval_step(doc: AlertDocument, target: str, allow_tag: str, pending: bool) -> str:
    window = doc.key.pending_window_days or doc.event.pending_window_days or 30
    tag = (
        f"aws kms tag-resource {target} --tags 'TagKey={allow_tag},TagValue=YOUR-CHANGE-REF until=YYYY-MM-DD'"
    )
    reschedule = f"aws kms schedule-key-deletion {target} --pending-window-in-days {window}"
    approver = (
        f"a principal other than the one who schedules it records the approval: {tag}; once CloudTrail "
        f"event history shows that TagResource (minutes), schedule it again: {reschedule}"
    )
    if pending:
        return (
            "If the deletion is intended, record the approval (a key pending deletion cannot be tagged: "
            f"cancel, tag, reschedule): aws kms cancel-key-deletion {target}; then {approver}"
        )
    return f"If the deletion was intended, {approver}"


def _tag_steps(doc: AlertDocument, target: str) -> list[str]:
    """A change to the protect or approval tag: how to undo it if nobody meant it."""
    steps: list[str] = []
    who = doc.actor.principal or doc.actor.arn or "the caller"
    for change in doc.event.tag_changes:
        if change.weakens_protection:
            steps.append(
                f"If the key should stay protected, restore the tag: aws kms tag-resource {target} "
                f"--tags TagKey={change.tag},TagValue=true; ask {who} why it was changed (a DisableKey or "
                "ScheduleKeyDeletion often follows)."
            )
        elif change.role == "approval" and change.change == "set":
            steps.append(
                "Confirm the change reference with its owner. The approval is honoured only if CloudTrail "
                "shows this TagResource before the deletion is scheduled, by a different principal than "
                "the one who schedules it."
            )
            steps.append(
                f"If nobody approved this deletion: aws kms untag-resource {target} --tag-keys {change.tag}"
            )
    return steps or ["No action needed if the change was intended."]


def _deletion_steps(doc: AlertDocument, target: str, allow_tag: str) -> list[str]:
    rem, state = doc.remediation, doc.key.state
    if rem.result == Outcome.FAILED:
        code = rem.outcome.removeprefix("failed: ")
        steps = [f"Automatic cancel FAILED with {code} ({error_meaning(code)}). Cancel it yourself:"]
    else:
        steps = []
    if state is None or not doc.key.readable:
        steps.append(f"The key could not be read; check its state: aws kms describe-key {target}")
        steps.append(f"If it is PendingDeletion, to keep it: aws kms cancel-key-deletion {target}")
        return steps
    if state in PENDING_STATES:
        steps.append(f"To keep the key: aws kms cancel-key-deletion {target} (this leaves it Disabled)")
        steps.extend(_earlier_state_steps(doc, target))
        steps.append(_approval_step(doc, target, allow_tag, pending=True))
        return steps
    if state == "Disabled":
        steps.append("The deletion is cancelled; the key is Disabled.")
        steps.extend(_earlier_state_steps(doc, target))
    elif state == "Enabled":
        steps.append("The deletion is cancelled and the key is Enabled: no restore needed.")
    if state in ("Disabled", "Enabled"):
        steps.append(_approval_step(doc, target, allow_tag, pending=False))
    return steps


def _who_uses(doc: AlertDocument) -> str:
    names: list[str] = []
    caller = doc.actor.principal or doc.actor.arn or doc.actor.invoked_by
    if caller:
        names.append(caller)
    if doc.dependencies.usage:
        names.extend(p.principal for p in doc.dependencies.usage.principals if p.principal not in names)
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return shown or "an unknown caller"


def next_steps(doc: AlertDocument, allow_tag: str = DEFAULT_ALLOW_TAG) -> list[str]:
    """Exact commands for this alert's key and Region, in the order an engineer runs them."""
    target = _target(doc)
    event, key, kind = doc.event, doc.key, doc.kind
    if kind == Kind.INVALID_EVENT:
        return [
            "Check the EventBridge rule pattern and the event source; the raw event is in the "
            "function's log under this alert id."
        ]
    if kind == Kind.DELETED or event.name == KEY_DELETED:
        return [
            "Data encrypted under this key cannot be decrypted any more. For each resource listed, "
            "restore from a copy encrypted under another key, or retire the resource.",
        ]
    if kind == Kind.ATTEMPT:
        code = event.error_code or "an error"
        return [
            f"No change was made: {event.name} failed with {code} ({error_meaning(event.error_code)}).",
            "Confirm with the caller that this was expected; if not, review who may call "
            f"kms:{event.name} on this key.",
        ]
    if target is None:
        return ["The key could not be identified; check the event in CloudTrail and the function's logs."]
    if kind == Kind.TRIPWIRE:
        steps = [f"Still using the key: {_who_uses(doc)}. Their calls fail until the key is usable again."]
        if key.state in PENDING_STATES:
            steps.append(f"To keep the key: aws kms cancel-key-deletion {target}")
            steps.append(f"Then re-enable it so those calls succeed: aws kms enable-key {target}")
        elif key.state == "Disabled":
            steps.append(f"If they should keep working: aws kms enable-key {target}")
        return steps
    if kind == Kind.RESOLVED:
        return ["No action needed: the key is Enabled."]
    rule = kms_event(event.name).severity
    if event.name == "CancelKeyDeletion":  # a follow-up; the key is not back to Enabled
        return [
            f"The deletion is cancelled but the key is still {key.state or 'not Enabled'}.",
            *_earlier_state_steps(doc, target),
        ]
    if rule is SeverityRule.MATERIAL_DELETED:
        return [
            f"The key is {key.state or 'unusable'} until its key material is imported again; only the "
            "same material works (other material cannot decrypt what the key encrypted).",
            f"Get a wrapping key and import token: aws kms get-parameters-for-import {target} "
            "--wrapping-algorithm RSAES_OAEP_SHA_256 --wrapping-key-spec RSA_4096",
            "Wrap the original key material with the returned public key, then: aws kms import-key-material "
            f"{target} --encrypted-key-material fileb://EncryptedKeyMaterial.bin "
            "--import-token fileb://ImportToken.bin --expiration-model KEY_MATERIAL_DOES_NOT_EXPIRE",
        ]
    if kind == Kind.REMINDER or rule is SeverityRule.DELETION_SCHEDULED:
        return _deletion_steps(doc, target, allow_tag)
    if rule is SeverityRule.TAG_CHANGED and event.tag_changes:
        return _tag_steps(doc, target)
    if rule is SeverityRule.KEY_DISABLED:
        if key.state == "Enabled":
            return ["The key is Enabled again: no restore needed. Ask the caller why it was disabled."]
        return [
            f"If workloads need the key: aws kms enable-key {target}",
            "Check the dependencies listed below before leaving it Disabled.",
        ]
    if key.state in PENDING_STATES:
        return _deletion_steps(doc, target, allow_tag)
    if key.state == "Disabled":
        return [f"The key is Disabled. If workloads need it: aws kms enable-key {target}"]
    return ["Review the change with the key's owner."]
