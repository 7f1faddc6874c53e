"""Shared fixtures: no test reaches a real AWS endpoint, and no cached client outlives its test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.botocore_models import one_loader_for_every_session
from tests.support.lambda_context import FakeLambdaContext
from tests.support.moto_keys import one_key_pair_for_symmetric_keys

FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SECURITY_TOKEN": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "KmsKeyguard",
    "POWERTOOLS_SERVICE_NAME": "kms-keyguard",
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",  # seconds per test otherwise; no test needs AMIs
}


@pytest.fixture(scope="session", autouse=True)
def _cheaper_emulation() -> Iterator[None]:
    """Costs the tests would pay hundreds of times over for nothing they observe (see each helper)."""
    with one_loader_for_every_session(), one_key_pair_for_symmetric_keys():
        yield


@pytest.fixture(autouse=True)
def _isolated_aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fake credentials, a fixed region, and fresh settings and handler state for every test."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    for name, value in FAKE_ENV.items():
        monkeypatch.setenv(name, value)
    from handlers import key_events, reconcile, reminders
    from shared.config import get_settings

    caches = (
        get_settings,
        key_events.default_responder,
        reminders.default_reminders,
        reconcile.default_reconciler,
    )
    for cached in caches:
        cached.cache_clear()
    yield
    for cached in caches:
        cached.cache_clear()


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
