"""Dependencies in other accounts of the organization: a key of account A used by account B.

Another account can name a key only by its key ARN (or alias ARN): "To use a KMS key in a different
AWS account, you must use the key ARN or alias ARN"
(https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying-external-accounts.html),
and it can use the key only if the key policy allows it, directly or through a grant. So the
accounts worth searching are the ones the key policy or a grant names. For each,
``organizations:DescribeAccount`` says whether it belongs to the organization
(``AccountNotFoundException``: it does not; callable from the management account or a delegated
administrator: https://docs.aws.amazon.com/organizations/latest/APIReference/API_DescribeAccount.html).
A member is searched through its discovery role, by the key's ARN alone; an outsider "may use the
key" and cannot be searched. An account that could not be searched makes the search incomplete,
and the alert says which account and why.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from shared.accounts import MemberAccounts, MemberRoleUnavailable
from shared.aws import ClientFactory, error_code
from shared.config import Settings
from shared.dependencies import discover
from shared.document import AccountSearch, DependenciesSection, GrantItem, UncheckedFinder
from shared.keyref import KeyIdentity

ACTIONS: tuple[str, ...] = ("organizations:DescribeAccount",)

# The share of the discovery budget the key's own account gets when the key policy names other
# accounts of the organization; they are searched, concurrently, in the rest.
HOME_SHARE = 0.6
MAX_ACCOUNTS_AT_ONCE = 4
# At most this many other accounts are searched for one alert. A key policy can name thousands of
# accounts (32 KB of account ids in a condition, none of them checked by KMS), and every account
# costs a membership read and an AssumeRole: padding the policy must not push the alert past its
# deadline. The accounts named by both the key policy and a grant come first, then by id.
MAX_ACCOUNTS_SEARCHED = 16
# Membership rarely changes; an account's answer is kept this long (seconds).
MEMBERSHIP_TTL = 3600.0
OUTSIDER = "outside the organization: may use the key, not searched"
TOO_MANY = "not searched: more accounts are named than are searched for one alert"

_ACCOUNT_IN_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")
_ACCOUNT = re.compile(r"^\d{12}$")
# Condition keys whose values are accounts allowed to call (kms:CallerAccount is how AWS services'
# "via service" statements name an account).
_ACCOUNT_CONDITIONS = frozenset({"kms:calleraccount", "aws:principalaccount", "aws:sourceaccount"})


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (v for v in value if isinstance(v, str))


def _account_of(principal: str) -> str | None:
    text = principal.strip()
    if _ACCOUNT.match(text):
        return text
    match = _ACCOUNT_IN_ARN.match(text)
    return match.group(1) if match else None


def policy_accounts(policy_text: str | None) -> set[str]:
    """The accounts an ``Allow`` statement of the key policy names, as principal or in a condition."""
    try:
        document = json.loads(policy_text or "")
    except ValueError:
        return set()
    raw = document.get("Statement", []) if isinstance(document, dict) else []
    found: set[str] = set()
    for statement in raw if isinstance(raw, list) else [raw]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if isinstance(principal, dict):
            found.update(filter(None, map(_account_of, _strings(principal.get("AWS")))))
        conditions = statement.get("Condition")
        for operator in conditions.values() if isinstance(conditions, dict) else ():
            for key, values in operator.items() if isinstance(operator, dict) else ():
                if key.lower() in _ACCOUNT_CONDITIONS:
                    found.update(filter(None, map(_account_of, _strings(values))))
    return found


def grant_accounts(grants: Iterable[GrantItem]) -> set[str]:
    """The accounts of the grantee and retiring principals (service principals name no account)."""
    principals = (p for g in grants for p in (g.grantee_principal, g.retiring_principal) if p)
    return {account for account in map(_account_of, principals) if account}


class Membership:
    """Whether an account belongs to the organization, from ``organizations:DescribeAccount`` (the
    hub must be the management account or a delegated administrator, as for the sweeps)."""

    def __init__(self, clients: ClientFactory, clock: Callable[[], float] = time.monotonic) -> None:
        self._clients = clients
        self._clock = clock
        self._known: dict[str, tuple[float, bool | None, str | None]] = {}
        self._lock = threading.Lock()

    def of(self, account: str) -> tuple[bool | None, str | None]:
        """``(True, None)`` a member, ``(False, None)`` an outsider, ``(None, error code)`` unknown."""
        with self._lock:
            known = self._known.get(account)
        if known is not None and known[0] > self._clock():
            return known[1], known[2]
        try:
            self._clients.client("organizations").describe_account(AccountId=account)
            answer: tuple[bool | None, str | None] = (True, None)
        except ClientError as exc:
            code = error_code(exc)
            answer = (False, None) if code == "AccountNotFoundException" else (None, code)
        except BotoCoreError as exc:
            answer = (None, error_code(exc))
        if answer[0] is not None:  # an error is asked again next time
            with self._lock:
                self._known[account] = (self._clock() + MEMBERSHIP_TTL, *answer)
        return answer


@dataclass
class CrossAccountSearch:
    """Extends a key's dependency search to the other accounts of the organization that may use it."""

    settings: Settings
    accounts: MemberAccounts  # the hub's: it assumes the members' discovery roles
    membership: Membership
    clock: Callable[[], float] = time.monotonic

    @classmethod
    def for_settings(
        cls, settings: Settings, clients: ClientFactory, accounts: MemberAccounts, clock: Callable[[], float]
    ) -> CrossAccountSearch | None:
        """The search, in organization mode only (a single account has no members to search)."""
        if settings.organization_id is None:
            return None
        return cls(settings, accounts, Membership(clients, clock), clock)

    def home_budget(self, identity: KeyIdentity, policy_text: str | None, budget: float) -> float:
        """What the key's own account may take: all of it, unless the policy names other accounts."""
        return budget * HOME_SHARE if policy_accounts(policy_text) - {identity.account} else budget

    def extend(
        self,
        identity: KeyIdentity,
        home: DependenciesSection,
        policy_text: str | None,
        policy_error: str | None,
        deadline: float,
    ) -> DependenciesSection:
        """``home`` with every named account's findings (by key ARN) and an account of each one."""
        named: dict[str, list[str]] = {}
        for account in sorted(policy_accounts(policy_text)):
            named.setdefault(account, []).append("key policy")
        for account in sorted(grant_accounts(home.grants)):
            named.setdefault(account, []).append("grant")
        named.pop(identity.account, None)
        unchecked = list(home.unchecked)
        if policy_text is None:
            reason = f"the key policy could not be read ({policy_error}): the accounts it names are unknown"
            unchecked.append(UncheckedFinder(finder="other accounts", reason=reason))
        if not named:
            complete = home.complete and policy_text is not None
            return home.model_copy(update={"unchecked": unchecked, "complete": complete})
        ordered = sorted(named.items(), key=lambda entry: (-len(entry[1]), entry[0]))
        chosen, skipped = ordered[:MAX_ACCOUNTS_SEARCHED], ordered[MAX_ACCOUNTS_SEARCHED:]
        foreign = KeyIdentity(identity.key_arn, related_arns=identity.related_arns, foreign=True)
        with ThreadPoolExecutor(min(MAX_ACCOUNTS_AT_ONCE, len(chosen)), "cross-account") as pool:
            searches = list(pool.map(partial(self._search, foreign, deadline), chosen))
        items = list(home.items)
        counts = dict(home.counts)
        for _, section in searches:
            for item in section.items if section else ():
                items.append(item)
                counts[item.resource_type] = counts.get(item.resource_type, 0) + 1
        found = [search for search, _ in searches]
        unchecked += [
            UncheckedFinder(finder=f"account {s.account}", reason=s.reason) for s in found if s.reason
        ]
        if skipped:
            reason = (
                f"{len(skipped)} of the {len(named)} accounts named by the key policy or grants were not "
                f"searched (at most {MAX_ACCOUNTS_SEARCHED} for one alert)"
            )
            unchecked.append(UncheckedFinder(finder="other accounts", reason=reason))
            # listed up to the same bound: the count above covers the rest
            found += [
                AccountSearch(account=account, named_by=named_by, searched=False, reason=TOO_MANY)
                for account, named_by in skipped[:MAX_ACCOUNTS_SEARCHED]
            ]
        return home.model_copy(
            update={
                "items": items,
                "counts": counts,
                "total": home.total + sum(s.found for s in found),
                "unchecked": unchecked,
                "accounts": found,
                "complete": home.complete
                and policy_text is not None
                and not skipped
                and not any(s.reason for s in found),
            }
        )

    def _search(
        self, identity: KeyIdentity, deadline: float, named: tuple[str, list[str]]
    ) -> tuple[AccountSearch, DependenciesSection | None]:
        account, named_by = named
        if deadline - self.clock() <= 0:  # before any call: late accounts cost nothing
            reason = "no time left to search it"
            return AccountSearch(account=account, named_by=named_by, searched=False, reason=reason), None
        member, code = self.membership.of(account)
        if member is False:
            return AccountSearch(account=account, named_by=named_by, searched=False, reason=OUTSIDER), None
        unknown = f"; membership of the organization could not be read ({code})" if code else ""
        try:
            clients = self.accounts.factory(account, self.settings.member_role_name, identity.region)
        except MemberRoleUnavailable as exc:
            reason = f"not searched: {exc.code} assuming {exc.role_arn}{unknown}"
            return AccountSearch(account=account, named_by=named_by, searched=False, reason=reason), None
        section = discover(
            identity,
            clients,
            deadline=deadline,
            max_workers=max(1, self.settings.discovery_max_workers // MAX_ACCOUNTS_AT_ONCE),
            evidence=False,  # grants, last use and CloudTrail belong to the key's own account
            config_index=self.settings.discovery_config_index,
            aggregator="none",  # this account's own index, not an aggregator's view of others
            rate_limits=self.settings.rate_limits,
            clock=self.clock,
        )
        items = [item.model_copy(update={"account": account}) for item in section.items]
        gaps = section.unchecked_as("incomplete")
        shown = "; ".join(f"{u.finder}: {u.reason}" for u in gaps[:3]) + ("; ..." if len(gaps) > 3 else "")
        search = AccountSearch(
            account=account,
            named_by=named_by,
            searched=True,
            found=section.total,
            reason=f"searched in part ({shown})" if gaps else None,
        )
        return search, section.model_copy(update={"items": items})
