"""One botocore configuration and a cached, lazily built client factory.

Every component that talks to AWS receives a ``ClientFactory`` (or a client) in its constructor;
nothing creates a client at import time, so tests can activate moto before the first client exists.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

DEFAULT_RETRIES: dict[str, Any] = {"mode": "adaptive", "max_attempts": 5}

BOTO_CONFIG = Config(  # type: ignore[call-arg]  # user_agent_appid is newer than the stubs
    retries=dict(DEFAULT_RETRIES),  # type: ignore[arg-type]
    connect_timeout=3,
    read_timeout=10,
    max_pool_connections=32,
    user_agent_appid="kms-keyguard",
)


def default_config(environ: Mapping[str, str] | None = None) -> Config:
    """``BOTO_CONFIG``, with the standard ``AWS_RETRY_MODE`` / ``AWS_MAX_ATTEMPTS`` honoured when set.

    An explicit ``retries`` in a Config overrides the SDK's own environment variables, so they are
    applied here: an operator (or a test against a local endpoint) can still choose the retry policy.
    """
    env = os.environ if environ is None else environ
    retries = dict(DEFAULT_RETRIES)
    if env.get("AWS_RETRY_MODE") in ("legacy", "standard", "adaptive"):
        retries["mode"] = env["AWS_RETRY_MODE"]
    if env.get("AWS_MAX_ATTEMPTS", "").isdigit() and int(env["AWS_MAX_ATTEMPTS"]) >= 1:
        retries["max_attempts"] = int(env["AWS_MAX_ATTEMPTS"])
    return BOTO_CONFIG.merge(Config(retries=retries))  # type: ignore[arg-type]


class ClientFactory:
    """Builds one client per (service, region) and hands the same one out afterwards.

    botocore clients are thread-safe once created; creation itself is not, so it is locked.
    """

    def __init__(self, session: boto3.Session | None = None, config: Config | None = None) -> None:
        self._session = session
        self._config = config or default_config()
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    @property
    def session(self) -> boto3.Session:
        if self._session is None:
            self._session = boto3.Session()
        return self._session

    @property
    def default_region(self) -> str | None:
        return self.session.region_name

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self.session.client(service, region_name=region, config=self._config)  # type: ignore[call-overload]
                    self._clients[key] = client
        return client

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()


def error_code(exc: BaseException) -> str:
    """The AWS error code of a failed call (never its message text)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "ClientError")
    return type(exc).__name__
