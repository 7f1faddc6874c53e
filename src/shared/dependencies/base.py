"""The finder interface and the engine that runs finders under a time budget.

A finder declares the service it reads and the IAM actions it needs, and yields what it finds:
``DependencyItem``s (and, for the evidence finders, grants and usage records). A finder that needs
one call per resource (describe this table, read this queue's attributes) does not make those calls
itself: it yields ``Work`` units, and the engine schedules them on the same bounded pool. No task
ever waits for another, so a small pool cannot deadlock, describes start while the listing is
still paging, and the whole discovery shares one deadline.

Whatever was denied, failed, is not offered in the region or ran out of time is recorded as
*unchecked* for its finder and region; the engine never claims completeness it does not have.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
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
class Work:
    """A follow-up unit of work (typically one describe call) handed back to the engine."""

    run: Callable[[], Iterable[Any]]


@dataclass(frozen=True)
class FinderContext:
    identity: KeyIdentity
    clients: ClientFactory
    region: str
    deadline: float  # a value of ``clock``
    clock: Callable[[], float] = time.monotonic

    def client(self, service: str) -> Any:
        return self.clients.client(service, self.region)

    def check_deadline(self) -> None:
        if self.clock() >= self.deadline:
            raise DeadlineExceeded

    def paginate(
        self,
        service: str,
        operation: str,
        *,
        page_size: int | None = None,
        config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Pages of a paginated call, checking the deadline before each page.

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
        for page in paginator.paginate(**kwargs, PaginationConfig=pagination):
            yield page
            self.check_deadline()


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


def describe_failure(exc: BaseException) -> str:
    """A short, stable reason for the alert: a category and the AWS error code, never the message."""
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
    results: list[Any] = field(default_factory=list)
    error: BaseException | None = None


class _Scheduler:
    """One bounded pool for every finder and every follow-up it yields."""

    def __init__(self, max_workers: int, deadline: float, clock: Callable[[], float]) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="finder")
        self._done: queue.SimpleQueue[Future[_Done]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._outstanding: dict[Owner, int] = {}
        self._closed = False
        self._deadline = deadline
        self._clock = clock

    def submit(self, owner: Owner, run: Callable[[], Iterable[Any]]) -> None:
        with self._lock:
            if self._closed:
                return
            self._outstanding[owner] = self._outstanding.get(owner, 0) + 1
        future = self._pool.submit(self._execute, owner, run)
        future.add_done_callback(self._done.put)

    def _execute(self, owner: Owner, run: Callable[[], Iterable[Any]]) -> _Done:
        done = _Done(owner)
        try:
            if self._clock() >= self._deadline:
                raise DeadlineExceeded
            for result in run():
                if isinstance(result, Work):
                    self.submit(owner, result.run)
                else:
                    done.results.append(result)
        except _EXPECTED as exc:  # recorded as data: the owner becomes "unchecked"
            done.error = exc
        except Exception as exc:  # a bug in a finder: logged with its traceback and reported unchecked
            logger.exception("finder crashed", finder=owner[0], region=owner[1])
            done.error = exc
        return done

    def drain(self) -> Iterator[_Done]:
        """Completed units until nothing is outstanding or the deadline passes."""
        while True:
            with self._lock:
                if not any(self._outstanding.values()):
                    return
            remaining = self._deadline - self._clock()
            if remaining <= 0:
                return
            try:
                future = self._done.get(timeout=remaining)
            except queue.Empty:
                return
            done = future.result()
            with self._lock:
                self._outstanding[done.owner] -= 1
            yield done

    def close(self) -> list[Owner]:
        """Stop accepting work; the owners that still had work queued or running."""
        with self._lock:
            self._closed = True
            late = [owner for owner, count in self._outstanding.items() if count > 0]
        self._pool.shutdown(wait=False, cancel_futures=True)
        return late


def run_finders(
    finders: Iterable[Finder],
    identity: KeyIdentity,
    clients: ClientFactory,
    deadline: float,
    regions: list[str] | None = None,
    max_workers: int = 16,
    clock: Callable[[], float] = time.monotonic,
) -> DiscoveryOutcome:
    """Run every finder in every region on one bounded pool until ``deadline`` (a ``clock`` value)."""
    started = clock()
    search = list(regions or identity.regions)
    scheduler = _Scheduler(max_workers, deadline, clock)
    results: list[Any] = []
    failures: dict[Owner, str] = {}
    finder_list = list(finders)
    try:
        for region in search:
            ctx = FinderContext(identity, clients, region, deadline, clock)
            for finder in finder_list:
                if finder.applies_to(region):
                    scheduler.submit((finder.name, region), partial(finder.find, ctx))
        for done in scheduler.drain():
            results.extend(done.results)
            if done.error is not None and done.owner not in failures:
                reason = describe_failure(done.error)
                logger.warning("finder unchecked", finder=done.owner[0], region=done.owner[1], reason=reason)
                failures[done.owner] = reason
    finally:
        late = scheduler.close()
    for owner in late:
        failures.setdefault(owner, TIMED_OUT)
    unchecked = [
        UncheckedFinder(finder=name, reason=reason, region=region)
        for (name, region), reason in sorted(failures.items())
    ]
    return DiscoveryOutcome(
        results=results, unchecked=unchecked, regions=search, elapsed_seconds=round(clock() - started, 3)
    )
