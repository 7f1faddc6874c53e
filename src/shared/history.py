"""The key's Enabled/Disabled history from CloudTrail, read within a deadline.

Remediation re-enables a key only on positive evidence that it was Enabled before the change; this
module reads CloudTrail's part of that evidence (keyguard's own journal is the other part).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from shared.aws import BOTO_CONFIG, ClientFactory, error_code
from shared.restore import Transition, transition_state

HISTORY_DAYS = 90  # what LookupEvents keeps
HISTORY_MAX_EVENTS = 500


class KeyHistory(Protocol):
    def transitions(
        self, key_arn: str, region: str, before: datetime, deadline: float | None = None
    ) -> tuple[list[Transition], str | None]:
        """Transitions before ``before``, and why the history is incomplete (``None`` if it is not);
        ``deadline`` (monotonic seconds) bounds the lookups."""
        ...


# The calls that leave a key Enabled or Disabled, looked up by event name: a lookup by the key as
# a resource returns every Decrypt and GenerateDataKey as well. LookupEvents takes one attribute
# per call and allows 2 calls a second per account and Region
# (https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html).
HISTORY_EVENT_NAMES = ("DisableKey", "EnableKey", "CancelKeyDeletion")
MIN_LOOKUP_SECONDS = 1.0  # below this much budget no lookup is started
MAX_LOOKUP_SECONDS = 10.0  # and none may take longer than this


def bounded_cloudtrail(clients: ClientFactory, region: str, seconds: float) -> Any:
    """A CloudTrail client whose one call cannot outlast ``seconds``: read and connect timeouts
    within it, no retries (a throttled or slow lookup is reported, not waited for)."""
    config = BOTO_CONFIG.merge(
        Config(
            connect_timeout=max(0.5, min(seconds / 2, 3.0)),
            read_timeout=max(0.5, seconds),
            retries={"mode": "standard", "total_max_attempts": 1},
        )
    )
    return clients.session.client("cloudtrail", region_name=region, config=config)


class CloudTrailHistory:
    """Enabled/Disabled transitions of one key from CloudTrail ``LookupEvents`` (newest first),
    within a deadline: each call is bounded by the time left, and none starts without enough."""

    def __init__(
        self,
        clients: ClientFactory,
        max_events: int = HISTORY_MAX_EVENTS,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        client_for: Callable[[str, float], Any] | None = None,
    ) -> None:
        self._clients = clients
        self._max_events = max_events
        self._monotonic = monotonic
        self._client_for = client_for or (
            lambda region, seconds: bounded_cloudtrail(clients, region, seconds)
        )

    def transitions(
        self, key_arn: str, region: str, before: datetime, deadline: float | None = None
    ) -> tuple[list[Transition], str | None]:
        found: list[Transition] = []
        key_id = key_arn.rsplit("/", 1)[-1]
        for name in HISTORY_EVENT_NAMES:
            remaining = MAX_LOOKUP_SECONDS if deadline is None else deadline - self._monotonic()
            if remaining < MIN_LOOKUP_SECONDS:
                return found, "CloudTrail lookup stopped: the time budget is spent"
            client = self._client_for(region, min(remaining, MAX_LOOKUP_SECONDS))
            try:
                response = client.lookup_events(
                    LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}],
                    StartTime=before - timedelta(days=HISTORY_DAYS),
                    EndTime=before + timedelta(seconds=1),
                    MaxResults=50,
                )
            except (ClientError, BotoCoreError) as exc:
                return found, f"CloudTrail unavailable: {error_code(exc)}"
            for event in response.get("Events", []):
                names = {str(r.get("ResourceName")) for r in event.get("Resources") or []}
                if key_arn not in names and key_id not in names:
                    continue
                when = event.get("EventTime")
                detail = json.loads(event.get("CloudTrailEvent") or "{}")
                if not isinstance(when, datetime) or detail.get("errorCode"):
                    continue
                state = transition_state(name)
                when = when if when.tzinfo else when.replace(tzinfo=UTC)
                if state:
                    found.append(Transition(when, state, name, "CloudTrail", event.get("EventId")))
                break  # newest first: the latest of this name decides
        return found, None
