"""CloudTrail lookups within a deadline: the key's Enabled/Disabled history, and the newest call of
one name on one key.

Remediation re-enables a key only on positive evidence that it was Enabled before the change; this
module reads CloudTrail's part of that evidence (keyguard's own journal is the other part). An
approval is honoured only when CloudTrail shows who tagged it and when (``shared.approval_check``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from shared.aws import BOTO_CONFIG, ClientFactory, error_code
from shared.models import CloudTrailRecord
from shared.parse import KMS_EVENT_SOURCE
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


# ----- the newest call of one name on one key ------------------------------------------------------
LOOKUP_PACE_SECONDS = 0.5  # LookupEvents allows 2 calls a second per account and Region
MAX_LOOKUP_PAGES = 20  # 1,000 records of one name: beyond that the lookup gives up, reported


@dataclass(frozen=True)
class TrailCall:
    """One successful call, as CloudTrail recorded it."""

    name: str
    time: datetime
    record: CloudTrailRecord


class CallLookup(Protocol):
    def newest(
        self,
        name: str,
        key_arn: str,
        region: str,
        since: datetime,
        deadline: float,
        wanted: Callable[[CloudTrailRecord], bool] = lambda record: True,
    ) -> tuple[TrailCall | None, str]:
        """The newest successful ``name`` call on the key since ``since`` that ``wanted`` accepts,
        and what was read (or why the lookup stopped) in words."""
        ...


class CloudTrailCalls:
    """``CallLookup`` from CloudTrail ``LookupEvents`` by event name (a lookup by the key as a resource
    returns every Decrypt), filtered to the key, newest first, page by page.

    Each page gets its own client bounded by the time left before ``deadline`` (no retries: a
    throttled or slow page is reported, not waited for), pages are spaced within the documented 2
    calls a second, and no page starts with less than ``MIN_LOOKUP_SECONDS`` left. A paginator cannot
    give each page its own timeout, hence the explicit ``NextToken`` loop.
    """

    def __init__(
        self,
        clients: ClientFactory,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        client_for: Callable[[str, float], Any] | None = None,
        max_pages: int = MAX_LOOKUP_PAGES,
    ) -> None:
        self._monotonic = monotonic
        self._sleep = sleep
        self._client_for = client_for or (
            lambda region, seconds: bounded_cloudtrail(clients, region, seconds)
        )
        self._max_pages = max_pages

    def newest(
        self,
        name: str,
        key_arn: str,
        region: str,
        since: datetime,
        deadline: float,
        wanted: Callable[[CloudTrailRecord], bool] = lambda record: True,
    ) -> tuple[TrailCall | None, str]:
        key_id = key_arn.rsplit("/", 1)[-1]
        token: str | None = None
        read = 0
        for page in range(self._max_pages):
            if page:
                self._sleep(LOOKUP_PACE_SECONDS)
            remaining = deadline - self._monotonic()
            if remaining < MIN_LOOKUP_SECONDS:
                return None, f"the time budget ran out after {read} {name} records"
            client = self._client_for(region, min(remaining, MAX_LOOKUP_SECONDS))
            request: dict[str, Any] = {
                "LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": name}],
                "StartTime": since,
                "MaxResults": 50,
            }
            if token:
                request["NextToken"] = token
            try:
                response = client.lookup_events(**request)
            except (ClientError, BotoCoreError) as exc:
                return None, f"CloudTrail lookup failed after {read} {name} records: {error_code(exc)}"
            for event in response.get("Events", []):
                read += 1
                call = _call_on_key(event, key_arn, key_id)
                if call is not None and wanted(call.record):
                    return call, f"found among {read} {name} records"
            token = response.get("NextToken")
            if not token:
                return None, f"none among {read} {name} records since {since.date().isoformat()}"
        return None, f"gave up after {read} {name} records ({self._max_pages} pages)"


def _call_on_key(event: dict[str, Any], key_arn: str, key_id: str) -> TrailCall | None:
    """The LookupEvents entry as a ``TrailCall`` when it is a successful KMS call on the key."""
    try:
        record = CloudTrailRecord.model_validate(json.loads(event.get("CloudTrailEvent") or "{}"))
    except (ValueError, ValidationError):
        return None
    if record.event_source != KMS_EVENT_SOURCE or record.failed or record.event_time is None:
        return None
    names = {str(r.get("ResourceName")) for r in event.get("Resources") or []}
    if not ({key_arn, key_id} & names or record.resolve_key_arn()[0] == key_arn):
        return None
    return TrailCall(record.event_name, record.event_time, record)
