"""Key-policy lock-out analysis (pure).

``cancel_access``: does a key policy still let the account cancel the deletion and enable the key?
A ``PutKeyPolicy`` on a key pending deletion that removes this is a lock-out: only AWS Support can
then help, and only within the pending window. ``policy_after`` takes the new policy from the event,
or reads it back through the reader it is given.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.key_inventory import KeySnapshot
    from shared.models import CloudTrailRecord

CANCEL_ACTION = "kms:CancelKeyDeletion"
ENABLE_ACTION = "kms:EnableKey"
# Both are needed to put a key back: cancelling a deletion leaves the key Disabled.
RESTORE_ACTIONS = (CANCEL_ACTION, ENABLE_ACTION)


@dataclass(frozen=True)
class PolicyVerdict:
    allows_cancel: bool | None  # None: only under conditions keyguard does not evaluate
    reason: str

    @property
    def lockout(self) -> bool:
        return self.allows_cancel is False


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _action_matches(patterns: list[Any], action: str) -> bool:
    return any(isinstance(p, str) and fnmatchcase(action.lower(), p.lower()) for p in patterns)


def _names_account(principal: Any, account: str) -> bool:
    """Whether the principal element covers the account root or an IAM principal of the account."""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for value in _as_list(principal.get("AWS")):
        if not isinstance(value, str):
            continue
        if value in ("*", account):
            return True
        parts = value.split(":")
        if len(parts) >= 6 and parts[2] == "iam" and parts[4] == account:
            return True
    return False


def _applies(statement: Mapping[str, Any], account: str, action: str) -> bool:
    if "NotAction" in statement:
        if _action_matches(_as_list(statement["NotAction"]), action):
            return False
    elif not _action_matches(_as_list(statement.get("Action")), action):
        return False
    if "NotPrincipal" in statement:
        # "everyone except ...": for an Allow this is too unusual to count on; for a Deny it may
        # well cover the account, so it is taken as applying.
        return statement.get("Effect") == "Deny"
    return _names_account(statement.get("Principal"), account)


def cancel_access(policy: str | Mapping[str, Any] | None, account: str) -> PolicyVerdict:
    """Whether ``policy`` lets ``account`` (its root or its IAM principals) call CancelKeyDeletion
    and EnableKey: a lock-out when either is refused, unknown when either is only conditional."""
    if policy is None:
        return PolicyVerdict(None, "the new key policy is not known")
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return PolicyVerdict(None, "the new key policy could not be parsed")
    if not isinstance(document, Mapping):
        return PolicyVerdict(None, "the new key policy is not a JSON object")
    statements = [s for s in _as_list(document.get("Statement")) if isinstance(s, Mapping)]
    verdicts = [_access(statements, account, action) for action in RESTORE_ACTIONS]
    for wanted in (False, None):
        for verdict in verdicts:
            if verdict.allows_cancel is wanted:
                return verdict
    return PolicyVerdict(
        True, f"the new key policy still allows {' and '.join(RESTORE_ACTIONS)} to the account"
    )


def _access(statements: list[Mapping[str, Any]], account: str, action: str) -> PolicyVerdict:
    allow = conditional_allow = conditional_deny = False
    for statement in statements:
        if not _applies(statement, account, action):
            continue
        conditional = bool(statement.get("Condition"))
        if statement.get("Effect") == "Deny":
            if not conditional:
                return PolicyVerdict(False, f"a Deny statement blocks {action} for the account")
            conditional_deny = True
        elif statement.get("Effect") == "Allow":
            if conditional:
                conditional_allow = True
            else:
                allow = True
    if allow and not conditional_deny:
        return PolicyVerdict(True, f"the new key policy still allows {action} to the account")
    if allow or conditional_allow:
        return PolicyVerdict(None, f"{action} is allowed to the account only under conditions")
    return PolicyVerdict(False, f"no statement allows {action} to the account root or its IAM principals")


# ----- reminders ----------------------------------------------------------------------------


def policy_after(
    record: CloudTrailRecord,
    snapshot: KeySnapshot,
    read_policy: Callable[[KeySnapshot], tuple[str | None, str | None]],
) -> PolicyVerdict:
    """The verdict on the new policy: from the event, or read back when CloudTrail left it out."""
    account = snapshot.arn.split(":")[4] if snapshot.arn else record.account or ""
    policy = (record.request_parameters or {}).get("policy")
    if isinstance(policy, str) and policy.strip():
        return cancel_access(policy, account)
    text, code = read_policy(snapshot)
    if text is None:
        return PolicyVerdict(None, f"the key policy could not be read: {code}")
    return cancel_access(text, account)
