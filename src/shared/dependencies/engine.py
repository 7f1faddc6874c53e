"""The engine that runs finders under one deadline, on one bounded pool of work units.

Finders (``shared.dependencies.base``) yield items and ``Work`` units; the scheduler here runs
every unit of every finder on the same pool, keeps results as they are yielded, holds calls of
rate-limited operations to their slots (``RateLimiter``) and records whatever could not be checked
(denied, unavailable, timed out, rate-limited) as an ``UncheckedFinder`` with how far it got.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from shared.aws import ClientFactory
from shared.dependencies.base import (
    BACKLOG_PER_WORKER,
    TIMED_OUT,
    DeadlineExceeded,
    DiscoveryOutcome,
    Finder,
    FinderContext,
    RateLimit,
    RateLimited,
    RateLimiter,
    Work,
    describe_failure,
    describe_limit,
    is_evidence_only,
    not_offered,
)
from shared.document import UncheckedEffect, UncheckedFinder
from shared.keyref import KeyIdentity
from shared.observability import logger

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


def _unchecked(
    owner: Owner, error: BaseException | None, progress: _Progress | None, evidence_only: bool = False
) -> UncheckedFinder:
    """Why a finder is unchecked, naming the limit that stopped it and how far it got, and what that
    means for the search (``effect``)."""
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
    effect: UncheckedEffect = (
        "evidence-only" if evidence_only else "not-offered" if not_offered(error) else "incomplete"
    )
    return UncheckedFinder(
        finder=owner[0],
        reason=reason,
        region=owner[1],
        effect=effect,
        limit=limit,
        checked=checked,
        listed=listed,
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
    evidence = {finder.name for finder in finder_list if is_evidence_only(finder)}
    unchecked = [
        _unchecked(owner, failures.get(owner), progress.get(owner), owner[0] in evidence) for owner in owners
    ]
    for entry in unchecked:
        logger.warning(
            "finder unchecked",
            finder=entry.finder,
            region=entry.region,
            reason=entry.reason,
            effect=entry.effect,
        )
    return DiscoveryOutcome(
        results=results, unchecked=unchecked, regions=search, elapsed_seconds=round(clock() - started, 3)
    )
