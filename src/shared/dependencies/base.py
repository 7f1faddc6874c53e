"""The finder interface and the engine that runs finders under a time budget.

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
got; the engine never claims completeness it does not have.
"""

from __future__ import annotations

import heapq
import itertools
import math
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from functools import partial
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
from shared.observability import logger

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
        return not self.unchecked


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


_EXPECTED = (ClientError, BotoCoreError, DeadlineExceeded)
Owner = tuple[str, str]  # (finder name, region)


@dataclass
class _Done:
    owner: Owner
    size: int = 0  # resources checked by a unit that completed
    root: bool = False
    error: BaseException | None = None


@dataclass
class _Progress:
    """Per finder and Region: resources handed out for checking and checked, and what stopped it."""

    planned: int = 0
    checked: int = 0
    listed: bool = False  # the finder's own listing ran to its end
    limit: tuple[RateLimit, float] | None = None  # a rate limit left work undone


class _Scheduler:
    """One bounded pool for every finder and every follow-up it yields.

    Results are collected as they are yielded, so whatever a unit found before the deadline is
    kept even if the unit itself does not finish. Work with a rate limit gets its call slot when it
    is handed in: due now, it goes to the pool; due later, it waits in a timer queue (no worker
    sleeps for it); due after the deadline, it is not run and the limit is recorded.

    The pool takes units by priority: rate-limited calls first (each slot they miss is lost for
    good), then the finders' own listings (each starts a chain of pages), then describes. A listing
    that has handed out enough describes to keep every worker busy for a while pauses (its
    generator waits in the queue behind them), so memory does not grow with the account.
    """

    def __init__(
        self, max_workers: int, deadline: float, clock: Callable[[], float], limiter: RateLimiter
    ) -> None:
        self._queue: queue.PriorityQueue[tuple[int, int, Callable[[], _Done | None] | None]] = (
            queue.PriorityQueue()
        )
        self._workers = max(1, max_workers)
        self._backlog = BACKLOG_PER_WORKER * self._workers
        for number in range(self._workers):
            threading.Thread(target=self._work, name=f"finder-{number}", daemon=True).start()
        self._done: queue.SimpleQueue[_Done] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._timer = threading.Condition(self._lock)
        self._due: list[
            tuple[float, int, Owner, Callable[[], Iterable[Any]], int, bool, RateLimit | None]
        ] = []
        self._sequence = itertools.count()
        self._dispatcher: threading.Thread | None = None
        self._outstanding: dict[Owner, int] = {}
        self._closed = False
        self._deadline = deadline
        self._clock = clock
        self._limiter = limiter
        self.results: list[Any] = []
        self.failures: dict[Owner, BaseException] = {}
        self.progress: dict[Owner, _Progress] = {}

    def submit(
        self,
        owner: Owner,
        run: Callable[[], Iterable[Any]],
        *,
        limit: RateLimit | None = None,
        size: int = 1,
        root: bool = False,
    ) -> None:
        with self._lock:
            if self._closed:
                return
            progress = self.progress.setdefault(owner, _Progress())
            if not root:
                progress.planned += size
            at = self._clock()
            if limit is not None:
                at = self._limiter.reserve(limit, owner[1])
                if at >= self._deadline:
                    progress.limit = (limit, self._limiter.rate(limit))
                    return
            self._outstanding[owner] = self._outstanding.get(owner, 0) + 1
            if at > self._clock():
                heapq.heappush(self._due, (at, next(self._sequence), owner, run, size, root, limit))
                self._start_dispatcher()
                self._timer.notify()
                return
        self._start(owner, run, size, root, limit)

    def _start(
        self, owner: Owner, run: Callable[[], Iterable[Any]], size: int, root: bool, limit: RateLimit | None
    ) -> None:
        priority = 0 if limit is not None else 1 if root else 2
        task = partial(self._execute, owner, run, size, root, limit)
        self._queue.put((priority, next(self._sequence), task))

    def _work(self) -> None:
        while True:
            _, _, task = self._queue.get()
            if task is None:
                return
            done = task()
            if done is not None:  # None: deferred to a later slot, still outstanding
                self._done.put(done)

    def _start_dispatcher(self) -> None:
        if self._dispatcher is None:
            self._dispatcher = threading.Thread(target=self._dispatch, name="finder-timer", daemon=True)
            self._dispatcher.start()

    def _dispatch(self) -> None:
        while True:
            with self._timer:
                while not self._closed and (not self._due or self._due[0][0] > self._clock()):
                    wait = self._due[0][0] - self._clock() if self._due else None
                    self._timer.wait(wait)
                if self._closed:
                    return
                _, _, owner, run, size, root, limit = heapq.heappop(self._due)
            self._start(owner, run, size, root, limit)

    def _execute(
        self, owner: Owner, run: Callable[[], Iterable[Any]], size: int, root: bool, limit: RateLimit | None
    ) -> _Done | None:
        done = _Done(owner, root=root)
        try:
            if self._clock() >= self._deadline:
                raise DeadlineExceeded
            if limit is not None:
                at = self._limiter.claim(limit, owner[1])
                if at >= self._deadline:
                    raise RateLimited(limit, self._limiter.rate(limit))
                if at > self._clock():  # it started late, right after another: its turn comes later
                    with self._timer:
                        if self._closed:
                            return None
                        heapq.heappush(self._due, (at, next(self._sequence), owner, run, size, root, limit))
                        self._timer.notify()
                    return None
            results = iter(run())
            handed_out = 0
            for result in results:
                if isinstance(result, Work):
                    if result.owner:  # started on behalf of another finder: that finder's own run
                        self.submit((result.owner, owner[1]), result.run, limit=result.limit, root=True)
                    else:
                        self.submit(owner, result.run, limit=result.limit, size=result.size)
                    handed_out += result.limit is None
                    if handed_out >= self._workers and self._queue.qsize() > self._backlog:
                        # Enough work is waiting: this listing goes on once the describes it handed
                        # out have been taken up (it queues behind them), so that a large account's
                        # describes are not all held in memory at once.
                        resume = partial(self._resume, owner, results, size, root)
                        self._queue.put((2, next(self._sequence), resume))
                        return None
                else:
                    with self._lock:
                        if not self._closed:
                            self.results.append(result)
            done.size = size
        except _EXPECTED as exc:  # recorded as data: the owner becomes "unchecked"
            done.error = exc
        except Exception as exc:  # a bug in a finder: logged with its traceback and reported unchecked
            logger.exception("finder crashed", finder=owner[0], region=owner[1])
            done.error = exc
        return done

    def _resume(self, owner: Owner, results: Iterator[Any], size: int, root: bool) -> _Done | None:
        return self._execute(owner, lambda: results, size, root, None)

    def drain(self) -> None:
        """Account for completed units until nothing is outstanding or the deadline passes."""
        while True:
            with self._lock:
                if not any(self._outstanding.values()):
                    return
            remaining = self._deadline - self._clock()
            if remaining <= 0:
                return
            try:
                done = self._done.get(timeout=remaining)
            except queue.Empty:
                return
            with self._lock:
                self._outstanding[done.owner] -= 1
                progress = self.progress.setdefault(done.owner, _Progress())
                if done.error is None:
                    progress.checked += 0 if done.root else done.size
                    progress.listed = progress.listed or done.root
                elif done.owner not in self.failures:
                    self.failures[done.owner] = done.error

    def records(self) -> tuple[list[Any], dict[Owner, BaseException], dict[Owner, _Progress]]:
        """What was found, what failed and how far each finder got (copies)."""
        with self._lock:
            return list(self.results), dict(self.failures), dict(self.progress)

    def close(self) -> list[Owner]:
        """Stop accepting work; the owners that still had work queued or running."""
        with self._timer:
            self._closed = True
            late = [owner for owner, count in self._outstanding.items() if count > 0]
            self._due.clear()
            self._timer.notify_all()
        while True:  # drop what was never started; running units see the deadline and stop
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        for _ in range(self._workers):
            self._queue.put((-1, next(self._sequence), None))
        return late


def _unchecked(owner: Owner, error: BaseException | None, progress: _Progress | None) -> UncheckedFinder:
    """Why a finder is unchecked, naming the limit that stopped it and how far it got."""
    limit: str | None = None
    if error is not None and not isinstance(error, DeadlineExceeded):
        reason = describe_failure(error)
    elif isinstance(error, RateLimited):
        limit = describe_limit(error.limit.operation, error.per_second)
        reason = f"rate-limited: {limit}"
    elif progress is not None and progress.limit is not None:
        limit = describe_limit(progress.limit[0].operation, progress.limit[1])
        reason = f"rate-limited: {limit}"
    else:
        reason = TIMED_OUT
    checked = listed = None
    if progress is not None and progress.planned and not reason.startswith(("denied", "unavailable")):
        checked, listed = progress.checked, progress.planned
        more = "" if progress.listed else "at least "
        reason = f"{reason}; {checked:,} of {more}{listed:,} checked"
    if limit is None and reason.startswith(TIMED_OUT):
        limit = "the discovery time budget"
    return UncheckedFinder(
        finder=owner[0], reason=reason, region=owner[1], limit=limit, checked=checked, listed=listed
    )


def run_finders(
    finders: Iterable[Finder],
    identity: KeyIdentity,
    clients: ClientFactory,
    deadline: float,
    regions: list[str] | None = None,
    max_workers: int = 16,
    clock: Callable[[], float] = time.monotonic,
    rate_limits: Mapping[str, float] | None = None,
) -> DiscoveryOutcome:
    """Run every finder in every region on one bounded pool until ``deadline`` (a ``clock`` value).

    ``rate_limits`` overrides documented rates by operation (``{"logs:DescribeLogGroups": 20}``).
    """
    started = clock()
    search = list(regions or identity.regions)
    limiter = RateLimiter(clock, rate_limits)
    scheduler = _Scheduler(max_workers, deadline, clock, limiter)
    finder_list = list(finders)
    try:
        for region in search:
            ctx = FinderContext(identity, clients, region, deadline, clock, limiter)
            for finder in finder_list:
                if finder.applies_to(region):
                    scheduler.submit((finder.name, region), partial(finder.find, ctx), root=True)
        scheduler.drain()
    finally:
        late = scheduler.close()
    results, failures, progress = scheduler.records()
    limited = {owner for owner, p in progress.items() if p.limit is not None}
    owners = sorted(set(failures) | set(late) | limited)
    unchecked = [_unchecked(owner, failures.get(owner), progress.get(owner)) for owner in owners]
    for entry in unchecked:
        logger.warning("finder unchecked", finder=entry.finder, region=entry.region, reason=entry.reason)
    return DiscoveryOutcome(
        results=results, unchecked=unchecked, regions=search, elapsed_seconds=round(clock() - started, 3)
    )
