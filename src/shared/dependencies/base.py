"""The finder interface and the engine that runs finders under a time budget.

A finder declares the service it reads, the IAM actions it needs, and yields ``DependencyItem``s
with the evidence that ties each resource to the key. Most finders are rows of a declarative table
(``table.py``); a few are code. The engine runs them concurrently, records every finder that was
denied, failed or ran out of time as *unchecked*, and never claims completeness it does not have.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from shared.alert import DependencyItem, UncheckedFinder
from shared.aws import ClientFactory
from shared.keyref import KeyIdentity
from shared.observability import logger


class DeadlineExceeded(Exception):
    """A finder noticed that the discovery deadline has passed."""


@dataclass(frozen=True)
class FinderContext:
    identity: KeyIdentity
    clients: ClientFactory
    region: str
    deadline: float  # time.monotonic() value

    def client(self, service: str) -> Any:
        return self.clients.client(service, self.region)

    def check_deadline(self) -> None:
        if time.monotonic() >= self.deadline:
            raise DeadlineExceeded

    def paginate(self, service: str, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        """Pages of a paginated call, checking the deadline between pages."""
        paginator = self.client(service).get_paginator(operation)
        for page in paginator.paginate(**kwargs):
            yield page
            self.check_deadline()


class Finder(Protocol):
    name: str  # unique, e.g. "ebs-volumes"
    service: str  # botocore service name
    actions: tuple[str, ...]  # IAM actions the finder needs
    resource_types: tuple[str, ...]  # what it reports, for documentation

    def find(self, ctx: FinderContext) -> Iterable[DependencyItem]: ...


@dataclass
class DiscoveryOutcome:
    items: list[DependencyItem]
    unchecked: list[UncheckedFinder]
    regions: list[str]
    elapsed_seconds: float

    @property
    def complete(self) -> bool:
        return not self.unchecked


def describe_failure(exc: BaseException) -> str:
    """A short, stable reason for the alert: the AWS error code, never the message text."""
    if isinstance(exc, DeadlineExceeded):
        return "timed out: discovery time budget exhausted"
    if isinstance(exc, ClientError):
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        return f"unavailable: {code}"
    if isinstance(exc, EndpointConnectionError):
        return "unavailable: service endpoint not reachable in this region"
    if isinstance(exc, BotoCoreError):
        return f"unavailable: {type(exc).__name__}"
    return f"failed: {type(exc).__name__}"


def run_finders(
    finders: Iterable[Finder],
    identity: KeyIdentity,
    clients: ClientFactory,
    deadline: float,
    regions: list[str] | None = None,
    max_workers: int = 16,
    clock: Callable[[], float] = time.monotonic,
) -> DiscoveryOutcome:
    """Run every finder in every region concurrently until ``deadline`` (a monotonic time)."""
    started = clock()
    search = regions or identity.regions
    jobs = [(finder, region) for region in search for finder in finders]
    items: list[DependencyItem] = []
    unchecked: list[UncheckedFinder] = []
    seen: set[tuple[str, str | None, str]] = set()

    pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="finder")
    futures: dict[Future[list[DependencyItem]], tuple[Finder, str]] = {}
    try:
        for finder, region in jobs:
            ctx = FinderContext(identity, clients, region, deadline)
            futures[pool.submit(lambda f=finder, c=ctx: list(f.find(c)))] = (finder, region)
        pending = set(futures)
        while pending:
            remaining = deadline - clock()
            if remaining <= 0:
                break
            done, pending = wait(pending, timeout=remaining, return_when=FIRST_COMPLETED)
            for future in done:
                finder, region = futures[future]
                exc = future.exception()
                if exc is not None:
                    reason = describe_failure(exc)
                    logger.warning("finder unchecked", finder=finder.name, region=region, reason=reason)
                    unchecked.append(UncheckedFinder(finder=finder.name, reason=reason, region=region))
                    continue
                for item in future.result():
                    ident = (item.resource_type, item.arn, item.name)
                    if ident not in seen:
                        seen.add(ident)
                        items.append(item)
        for future in pending:
            finder, region = futures[future]
            future.cancel()
            unchecked.append(UncheckedFinder(
                finder=finder.name, reason="timed out: discovery time budget exhausted", region=region))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return DiscoveryOutcome(items=items, unchecked=unchecked, regions=search,
                            elapsed_seconds=round(clock() - started, 3))
