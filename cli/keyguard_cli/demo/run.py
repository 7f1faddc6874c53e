"""The demo's two runs, inside moto with the APIs moto lacks emulated: ``make demo`` and
``keyguard replay --demo``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from keyguard_cli.demo.emulation import emulated_apis
from keyguard_cli.demo.organization import OrganizationWorld, build_organization
from keyguard_cli.demo.world import EVENTS_DIR, build_world, perform

if TYPE_CHECKING:
    from shared.responder import Evaluation

DEMO_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "KmsKeyguard",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",  # no EMF lines between the report's lines
    "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",  # the demo account needs no AMI catalogue (seconds saved)
}


@dataclass
class DemoLambdaContext:
    """Just enough of the Lambda context for Powertools and the time budget."""

    function_name: str = "kms-keyguard-demo"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:kms-keyguard-demo"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    timeout_seconds: float = 60.0

    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_seconds * 1000)


def available_events() -> list[str]:
    return sorted(path.stem for path in EVENTS_DIR.glob("*.json"))


def run_demo(event_name: str, mode: str = "off", region: str = "us-east-1") -> list[dict[str, Any]]:
    """Run one event through the handler inside moto; return the SNS envelopes the queue received."""
    _demo_environment()
    from moto import mock_aws

    with mock_aws(), emulated_apis():
        world = build_world(region)
        event = world.event(event_name)
        perform(world, event)
        _handle(event, {"ALERT_TOPIC_ARN": world.topic_arn, "REMEDIATION_MODE": mode})
        return world.read_alerts()


def run_organization_demo(
    mode: str = "off", region: str = "us-east-1"
) -> tuple[OrganizationWorld, list[dict[str, Any]]]:
    """The hub and two member accounts inside moto: the payments account's ``ScheduleKeyDeletion``,
    forwarded to the hub, through the handler in organization mode. Returns the organization (its
    account ids, key and resources) and the SNS envelopes the hub's queue received."""
    _demo_environment()
    from moto import mock_aws

    with mock_aws(), emulated_apis():
        world = build_organization(region, remediation=mode != "off")
        event = world.event()
        world.perform(event)
        _handle(
            event,
            {
                "ALERT_TOPIC_ARN": world.topic_arn,
                "REMEDIATION_MODE": mode,
                "ORGANIZATION_ID": world.organization_id,
                "FUNCTION_ROLE_ARN": world.function_role_arn,  # how the hub knows its own account
            },
        )
        return world, world.read_alerts()


def _handle(event: dict[str, Any], settings: dict[str, str]) -> None:
    """One invocation of the real handler with the function's environment ``settings``."""
    os.environ.update(settings)
    from handlers import key_events
    from shared.config import get_settings

    get_settings.cache_clear()
    key_events.default_responder.cache_clear()  # settings changed: a fresh "cold start"
    with contextlib.redirect_stdout(sys.stderr):  # the function's EMF metrics and logs
        key_events.lambda_handler(event, DemoLambdaContext())


def _demo_environment() -> None:
    from shared.observability import logger

    handler = logger.registered_handler
    if isinstance(handler, logging.StreamHandler):
        handler.setStream(sys.stderr)  # logs apart from the report on stdout
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", DEMO_ENV["POWERTOOLS_LOG_LEVEL"]))
    for name, value in DEMO_ENV.items():
        os.environ.setdefault(name, value)
    os.environ.pop("AWS_PROFILE", None)
    for name in [n for n in os.environ if n.startswith("AWS_ENDPOINT_URL")]:
        os.environ.pop(name)  # the embedded account must not be confused with a real endpoint


def replay_in_world(events: list[dict[str, Any]], *, enforce: bool = False) -> list[Evaluation]:
    """``keyguard replay --demo``: each event pointed at the demo account's key, made to happen there,
    then assessed by the real responder (dry-run unless ``enforce``). Nothing is published."""
    _demo_environment()
    from moto import mock_aws

    from keyguard_cli.replay import replay_settings
    from shared.responder import Responder

    region = next((str(e["region"]) for e in events if e.get("region")), "us-east-1")
    documents: list[Evaluation] = []
    with mock_aws(), emulated_apis():
        world = build_world(region)
        settings = replay_settings(enforce=enforce, publish=False, topic_arn=world.topic_arn)
        responder = Responder(settings)
        for event in events:
            adopted = world.adopt(event)
            perform(world, adopted)
            documents.append(responder.evaluate(adopted))
    return documents
