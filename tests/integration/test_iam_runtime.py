"""Every AWS call the responder really makes is granted to its role in template.yaml.

The contract test compares the template with what the modules declare; this test closes the loop by
recording the calls of real runs under moto, so an undeclared call cannot slip through.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from keyguard_cli.demo.world import World, build_world, perform
from shared.aws import ClientFactory
from shared.config import Settings
from shared.dependencies import discover
from shared.document import DependenciesSection
from shared.keyref import KeyIdentity
from shared.responder import Responder
from tests.support.aws_calls import CallRecorder, answer
from tests.support.cfn_yaml import load

pytestmark = pytest.mark.integration

SCENARIOS = [
    "schedule_key_deletion",
    "disable_key_legacy",
    "schedule_key_deletion_failed",
    "disable_key_not_found",
    "cancel_key_deletion",
    "put_key_policy",
    "tripwire_decrypt",
    "key_deleted",
]


def _actions(node: Any) -> Iterator[str]:
    """Every action named anywhere in a (possibly conditional, possibly Fn::Sub JSON) policy tree."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Action":
                yield from [value] if isinstance(value, str) else value
            elif key == "Fn::Sub" and isinstance(value, str) and '"Action"' in value:
                for match in re.finditer(r'"Action"\s*:\s*(\[[^\]]*\]|"[^"]*")', value):
                    parsed = json.loads(match.group(1))
                    yield from [parsed] if isinstance(parsed, str) else parsed
            else:
                yield from _actions(value)
    elif isinstance(node, list):
        for item in node:
            yield from _actions(item)


def granted_to(role: str) -> set[str]:
    policies = load()["Resources"][role]["Properties"]["Policies"]
    return set(_actions(policies))


class DiscoverOnce:
    """Real discovery on the first call, its answer afterwards.

    Which calls discovery makes does not depend on the event (every finder runs for every key), so
    they are recorded on the first scenario; the scenarios after it exercise the rest of the path.
    """

    def __init__(self) -> None:
        self.answer: DependenciesSection | None = None

    def __call__(
        self, identity: KeyIdentity, clients: ClientFactory, *, deadline: float, max_workers: int = 16
    ) -> DependenciesSection:
        if self.answer is None:
            self.answer = discover(identity, clients, deadline=deadline, max_workers=max_workers)
        return self.answer


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield build_world()


@pytest.mark.parametrize("mode", ["off", "enforce"])
def test_every_call_the_responder_makes_is_granted(world: World, mode: str) -> None:
    session = boto3.Session(region_name=world.region)
    recorder = CallRecorder(session)
    answer(session, "cloudtrail", "LookupEvents", {"Events": []})  # moto lacks it: no history
    settings = Settings(
        alert_topic_arn=world.topic_arn,
        remediation_mode=mode,
        remediation_scope="all",
        reenable_disabled_keys=True,
    )
    responder = Responder(settings, ClientFactory(session), discoverer=DiscoverOnce())
    for name in SCENARIOS:
        event = world.event(name)
        perform(world, event)
        responder.handle(event, remaining_seconds=60)

    assert recorder.actions, "the scenarios made no AWS call at all"
    assert {"kms:DescribeKey", "sns:Publish"} <= recorder.actions
    missing = recorder.actions - granted_to("KeyEventsRole")
    assert not missing, f"called but not granted in template.yaml: {sorted(missing)}"
