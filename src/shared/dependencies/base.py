"""The finder interface: what a finder declares, the work units it yields, rate limits, failures.

A finder declares the service it reads and the IAM actions it needs, and yields what it finds:
``DependencyItem``s (and, for the evidence finders, grants and usage records). A finder that needs
one call per resource (describe this table, read this queue's attributes) does not make those calls
itself: it yields ``Work`` units, and the engine schedules them on the same bounded pool. No task
ever waits for another, so a small pool cannot deadlock, describes start while the listing is
still paging, and the whole discovery shares one deadline.

Results are kept as they are yielded, so a unit cut short by the deadline still contributes what
it found. Calls of operations with a documented rate limit are scheduled within it (``RateLimiter``:
a slot per call, held in a timer queue, never sent closer together than the limit); a call whose
slot falls after the deadline is not made.

Whatever was denied, failed, is not offered in the region, ran out of time or was stopped by a rate
limit is recorded as *unchecked* for its finder and region, with the limit and how far the finder
got; the engine never claims completeness it does not have. Two kinds of unchecked finder leave the
search complete (``UncheckedFinder.effect``): a service that is not offered in the Region (its
endpoint is unknown or does not resolve: nothing there can use the key), and the evidence-only
readers (``evidence_only``: last usage, CloudTrail usage), which add evidence but search no
resource. A finder whose ``applies_to`` is false for a Region is not run there and not listed.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    UnknownEndpointError,
)
from botocore.paginate import Paginator

from shared.aws import ClientFactory
from shared.document import DependencyItem, UncheckedFinder
from shared.keyref import KeyIdentity

TIMED_OUT = "timed out: discovery time budget exhausted"

DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedException",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "ForbiddenException",
        "NotAuthorized",
        "AllAccessDisabled",
    }
)
THROTTLED_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottled",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
        "SlowDown",
        "LimitExceededException",
    }
)
UNAVAILABLE_CODES = frozenset(
    {
        "OptInRequired",
        "SubscriptionRequiredException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "UnsupportedOperation",
        "UnsupportedOperationException",
        "InvalidAction",
        "UnknownOperationException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
    }
)


class DeadlineExceeded(Exception):
    """A finder noticed that the discovery deadline has passed."""


@dataclass(frozen=True)
class RateLimit:
    """A documented request rate of one operation, per account and Region.

    Calls of a rate-limited operation are scheduled no closer together than the limit allows,
    instead of being sent at once, throttled and retried; when the next free slot lies beyond the
    deadline, the call is not made and the finder says which limit stopped it.
    """

    operation: str  # IAM-style "kinesis:DescribeStreamSummary"
    per_second: float
    source: str = ""  # where the limit is documented


HEADROOM = 0.9  # fraction of a documented rate the scheduler uses
BACKLOG_PER_WORKER = 16  # describes waiting per worker before the listings that hand them out pause


class RateLimited(DeadlineExceeded):
    """The next call allowed by a rate limit would come after the deadline."""

    def __init__(self, limit: RateLimit, per_second: float) -> None:
        super().__init__(limit.operation)
        self.limit = limit
        self.per_second = per_second


class RateLimiter:
    """Call slots per (operation, Region), spaced ``1 / rate`` apart; ``rates`` overrides the
    documented rate of an operation (an account whose quota was raised).

    ``reserve`` plans: it hands out the slot a call will get, so the engine can hold the call until
    then or know it would come after the deadline. ``claim`` enforces, just before the call is
    sent: a call that starts late (it waited for a free worker) must not follow the previous one
    closer than ``1 / rate``, or late calls would go out in a burst and be throttled; the engine
    puts such a call back in its timer queue instead of holding a worker.

    Rates are used at ``HEADROOM`` of their documented value: a client's own scheduling jitter
    (threads, the interpreter lock) must not push two calls closer than the service allows.
    """

    def __init__(self, clock: Callable[[], float], rates: Mapping[str, float] | None = None) -> None:
        self._clock = clock
        self._rates = dict(rates or {})
        self._next: dict[tuple[str, str], float] = {}
        self._sent: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def rate(self, limit: RateLimit) -> float:
        """The operation's limit: documented, or raised by the operator."""
        return self._rates.get(limit.operation, limit.per_second)

    def spacing(self, limit: RateLimit) -> float:
        """Seconds between two calls, the headroom kept (``inf`` for a rate of zero)."""
        rate = self.rate(limit) * HEADROOM
        return 1.0 / rate if rate > 0 else math.inf

    def reserve(self, limit: RateLimit, region: str) -> float:
        """The ``clock`` time at which one more call may be made (now or later)."""
        spacing = self.spacing(limit)
        with self._lock:
            now = self._clock()
            if spacing == math.inf:
                return math.inf
            key = (limit.operation, region)
            slot = max(now, self._next.get(key, now))
            self._next[key] = slot + spacing
            return slot

    def claim(self, limit: RateLimit, region: str) -> float:
        """Just before a call: ``now`` (and the call is recorded as sent) when it follows the
        previous one by at least ``1 / rate`` (the limit itself: calls planned with headroom that
        start late may catch up at the limit), else the time it may go (nothing recorded)."""
        rate = self.rate(limit)
        with self._lock:
            now = self._clock()
            if rate <= 0:
                return math.inf
            key = (limit.operation, region)
            earliest = self._sent.get(key, -math.inf) + 1.0 / rate
            if now < earliest:
                return earliest
            self._sent[key] = now
            return now

    def admit(self, limit: RateLimit, region: str, sleep: Callable[[float], None]) -> None:
        """Wait until ``claim`` lets the call go (for a caller that makes its calls one after
        another, such as a paced listing)."""
        while True:
            at = self.claim(limit, region)
            now = self._clock()
            if at <= now:
                return
            sleep(at - now)


@dataclass(frozen=True)
class Work:
    """A follow-up unit of work (typically one describe call) handed back to the engine.

    ``owner`` names another finder the work is done for (the index starts the finders it cannot
    replace this way); ``limit`` is the rate limit of the one call the unit makes; ``size`` is how
    many resources the unit checks, for "400 of 1,500 checked".
    """

    run: Callable[[], Iterable[Any]]
    owner: str | None = None
    limit: RateLimit | None = None
    size: int = 1


@dataclass(frozen=True)
class FinderContext:
    identity: KeyIdentity
    clients: ClientFactory
    region: str
    deadline: float  # a value of ``clock``
    clock: Callable[[], float] = time.monotonic
    limiter: RateLimiter | None = None
    sleep: Callable[[float], None] = time.sleep

    def client(self, service: str) -> Any:
        return self.clients.client(service, self.region)

    def check_deadline(self) -> None:
        if self.clock() >= self.deadline:
            raise DeadlineExceeded

    def with_deadline(self, deadline: float) -> FinderContext:
        """The same context with an earlier deadline of its own (never a later one)."""
        return replace(self, deadline=min(self.deadline, deadline))

    def pace(self, limit: RateLimit | None) -> None:
        """Wait for the next call slot ``limit`` allows; ``RateLimited`` if it is past the deadline."""
        if limit is None or self.limiter is None:
            return
        at = self.limiter.reserve(limit, self.region)
        if at >= self.deadline:
            raise RateLimited(limit, self.limiter.rate(limit))
        wait = at - self.clock()
        if wait > 0:
            self.sleep(wait)
        self.limiter.admit(limit, self.region, self.sleep)

    def paginate(
        self,
        service: str,
        operation: str,
        *,
        page_size: int | None = None,
        config: dict[str, Any] | None = None,
        limit: RateLimit | None = None,
        first_slot_reserved: bool = False,
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Pages of a paginated call, checking the deadline (and pacing ``limit``) before each page.

        ``config`` is a botocore pagination config for operations botocore does not paginate
        (``input_token``/``output_token``/``limit_key``/``result_key``).
        """
        client = self.client(service)
        if config is None:
            paginator = client.get_paginator(operation)
        else:
            model = client.meta.service_model.operation_model(client.meta.method_to_api_mapping[operation])
            paginator = Paginator(getattr(client, operation), config, model)
        pagination = {"PageSize": page_size} if page_size else {}
        self.check_deadline()
        if not first_slot_reserved:
            self.pace(limit)
        for page in paginator.paginate(**kwargs, PaginationConfig=pagination):
            yield page
            self.check_deadline()
            if limit is not None and any(page.get(name) for name in NEXT_TOKENS):
                self.pace(limit)  # only when another page (another call) follows


# Response fields that carry "there is another page" in the APIs whose pages are rate-limited.
NEXT_TOKENS = ("NextToken", "nextToken", "NextMarker")


class Finder(Protocol):
    @property
    def name(self) -> str: ...  # unique, e.g. "ebs-volumes"

    @property
    def service(self) -> str: ...  # botocore service name

    @property
    def actions(self) -> tuple[str, ...]: ...  # IAM actions the finder needs

    @property
    def resource_types(self) -> tuple[str, ...]: ...  # what it reports, for documentation

    def applies_to(self, region: str) -> bool: ...

    def find(self, ctx: FinderContext) -> Iterable[Any]: ...


@dataclass
class DiscoveryOutcome:
    results: list[Any]  # everything the finders yielded except Work: items, grants, usage records
    unchecked: list[UncheckedFinder]
    regions: list[str]
    elapsed_seconds: float

    @property
    def items(self) -> list[DependencyItem]:
        return [r for r in self.results if isinstance(r, DependencyItem)]

    @property
    def complete(self) -> bool:
        """No resource finder was left incomplete (denied, throttled, timed out, failed)."""
        return not any(u.effect == "incomplete" for u in self.unchecked)


def not_offered(exc: BaseException | None) -> bool:
    """The service is not offered in the Region: botocore knows no endpoint for it there
    (``UnknownEndpointError``), or the endpoint's host does not answer (``EndpointConnectionError``,
    which a service missing from a Region raises when its regional host name does not resolve). A
    connect or read timeout (``ConnectTimeoutError``, ``ReadTimeoutError``) is not this: it stays
    incomplete."""
    return isinstance(exc, UnknownEndpointError | EndpointConnectionError)


def is_evidence_only(finder: Finder) -> bool:
    """A usage-evidence reader (``evidence_only = True`` on the finder class), not a resource search."""
    return bool(getattr(finder, "evidence_only", False))


def describe_limit(operation: str, per_second: float) -> str:
    return f"{operation}, {per_second:g} calls a second"


def describe_failure(exc: BaseException) -> str:
    """A short, stable reason for the alert: a category and the AWS error code, never the message."""
    if isinstance(exc, RateLimited):
        return f"rate-limited: {describe_limit(exc.limit.operation, exc.per_second)}"
    if isinstance(exc, DeadlineExceeded):
        return TIMED_OUT
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "ClientError"))
        if code == "IncompleteListing":
            return "incomplete: the listing holds more than a single call returns"
        if code in DENIED_CODES:
            return f"denied: {code}"
        if code in THROTTLED_CODES:
            return f"throttled: {code} (retries exhausted)"
        if code in UNAVAILABLE_CODES:
            return f"unavailable: {code}"
        return f"failed: {code}"
    if isinstance(exc, EndpointConnectionError | UnknownEndpointError):
        return "unavailable: service endpoint not reachable in this region"
    if isinstance(exc, ConnectTimeoutError | ReadTimeoutError):
        return f"failed: {type(exc).__name__}"
    if isinstance(exc, BotoCoreError):
        return f"failed: {type(exc).__name__}"
    return f"failed: {type(exc).__name__}"
