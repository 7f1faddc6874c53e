"""Clients for discovery: not traced call by call, standard retries, built on first use.

In the function, Powertools' Tracer patches botocore (X-Ray's ``patch_all``), so every API call
becomes an X-Ray subsegment. For the few calls of the responder that is useful; for discovery's
hundreds or thousands it costs CPU in the one vCPU the search is bound by, and the trace document
grows past what X-Ray keeps. Discovery therefore builds its own clients from the caller's session,
whose calls bypass the patch (botocore's documented ``creating-client-class`` hook puts a base class
in front), and records one subsegment for the whole search instead.

Standard retry mode replaces adaptive: adaptive adds a client-side rate limiter that buys nothing
here, because rate-limited operations are already scheduled within their documented limits
(``RateLimiter``). An operator's ``AWS_RETRY_MODE`` still wins.

Outside the function (tests, CLI), botocore is not patched and the caller's factory is used as is.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any

import botocore.client
from botocore.client import BaseClient
from botocore.config import Config

from shared.aws import ClientFactory, default_config

_building = threading.local()
_derived: weakref.WeakKeyDictionary[ClientFactory, ClientFactory] = weakref.WeakKeyDictionary()
_derived_lock = threading.Lock()


def xray_patched() -> bool:
    """Whether X-Ray has wrapped botocore's ``BaseClient._make_api_call`` (its patch marks the module)."""
    return bool(getattr(botocore.client, "_xray_enabled", False))


class _Untraced:
    """Client base class: API calls go to botocore's own ``_make_api_call``, around X-Ray's wrapper
    (a wrapt proxy whose ``__wrapped__`` is the method it replaced)."""

    def _make_api_call(self, operation_name: str, api_params: dict[str, Any]) -> Any:
        method = BaseClient.__dict__["_make_api_call"]
        if xray_patched():
            method = method.__wrapped__
        return method(self, operation_name, api_params)


def _untraced_class(base_classes: list[type], **_: Any) -> None:
    if getattr(_building, "active", False):
        base_classes.insert(0, _Untraced)


class UntracedClients(ClientFactory):
    """A ``ClientFactory`` over the caller's session whose clients are not traced per call."""

    def __init__(self, base: ClientFactory, config: Config) -> None:
        super().__init__(base.session, config)
        self.session.events.register("creating-client-class", _untraced_class, unique_id="keyguard-untraced")

    def client(self, service: str, region: str | None = None) -> Any:
        _building.active = True
        try:
            return super().client(service, region)
        finally:
            _building.active = False


def discovery_config(max_workers: int, environ: dict[str, str] | None = None) -> Config:
    env = dict(os.environ if environ is None else environ)
    config = default_config(env)
    retries = dict(getattr(config, "retries", None) or {})  # set by default_config; not in the stubs
    if env.get("AWS_RETRY_MODE") not in ("legacy", "standard", "adaptive"):
        retries["mode"] = "standard"
    return config.merge(Config(retries=retries, max_pool_connections=max(10, max_workers)))  # type: ignore[arg-type]


def discovery_clients(clients: ClientFactory, max_workers: int) -> ClientFactory:
    """The factory discovery uses: ``clients`` itself unless X-Ray patches botocore, else untraced
    clients over the same session (one derived factory per caller's factory, kept while it lives)."""
    if not xray_patched() or isinstance(clients, UntracedClients):
        return clients
    with _derived_lock:
        derived = _derived.get(clients)
        if derived is None:
            derived = UntracedClients(clients, discovery_config(max_workers))
            _derived[clients] = derived
        return derived
