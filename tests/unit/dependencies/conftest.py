"""Shared fixtures: a moto account with our key (two aliases) and another key, and helpers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from shared.aws import ClientFactory
from shared.keyref import KeyIdentity

REGION = "us-east-1"
ACCOUNT = "123456789012"
FAST_FAIL = Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1, read_timeout=1)


@dataclass(frozen=True)
class Keys:
    """Our key (with one alias) and another key, unique to one test."""

    identity: KeyIdentity
    alias: str
    other_arn: str

    @property
    def forms(self) -> dict[str, str]:
        """Every way a resource can name our key."""
        return {
            "key-id": self.identity.key_id,
            "key-arn": self.identity.key_arn,
            "alias-name": self.alias,
            "alias-arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:{self.alias}",
        }


def fresh_keys() -> Keys:
    ours, other = uuid.uuid4(), uuid.uuid4()
    alias = f"alias/app-{ours.hex[:8]}"
    identity = KeyIdentity(key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{ours}", aliases=frozenset({alias}))
    return Keys(identity=identity, alias=alias, other_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{other}")


ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
}


@pytest.fixture(autouse=True)
def _aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def moto() -> Iterator[boto3.Session]:
    """One emulated account per test module (moto's backends are slow to start); tests keep apart by
    using their own keys and resource names."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in ENV.items():
            patch.setenv(name, value)
        with mock_aws():
            yield boto3.Session(region_name=REGION)


@pytest.fixture
def keys() -> Keys:
    return fresh_keys()


@pytest.fixture
def clients(moto: boto3.Session) -> ClientFactory:
    return ClientFactory(moto, config=FAST_FAIL)


def identity_for_stubs() -> KeyIdentity:
    return KeyIdentity(
        key_arn=f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        aliases=frozenset({"alias/app-data"}),
    )


def later(seconds: float = 30.0) -> float:
    return time.monotonic() + seconds
