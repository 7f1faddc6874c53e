"""``make demo``: the real responder, end to end, against an embedded moto AWS.

It builds a realistic account (a production key with aliases, tags and dependent resources), sends
a sample event from ``events/`` through the real ``lambda_handler``, reads the published alert back
from the SQS queue subscribed to the alert topic, and prints it as an on-call engineer sees it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from keyguard_cli.emulation import emulated_apis
from keyguard_cli.world import EVENTS_DIR, build_world, perform
from shared.document import AlertDocument

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
class FakeLambdaContext:
    """Just enough of the Lambda context for Powertools and the time budget (demo and tests)."""

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
        os.environ["ALERT_TOPIC_ARN"] = world.topic_arn
        os.environ["REMEDIATION_MODE"] = mode
        from handlers import key_events
        from shared.config import get_settings

        get_settings.cache_clear()
        key_events._responder = None
        event = world.event(event_name)
        perform(world, event)
        with contextlib.redirect_stdout(sys.stderr):  # the function's EMF metrics and logs
            key_events.lambda_handler(event, FakeLambdaContext())
        return world.read_alerts()


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


def replay_in_world(events: list[dict[str, Any]], *, enforce: bool = False) -> list[AlertDocument]:
    """``keyguard replay --demo``: each event pointed at the demo account's key, made to happen there,
    then assessed by the real responder (dry-run unless ``enforce``). Nothing is published."""
    _demo_environment()
    from moto import mock_aws

    from keyguard_cli.replay import replay_settings
    from shared.responder import Responder

    region = next((str(e["region"]) for e in events if e.get("region")), "us-east-1")
    documents: list[AlertDocument] = []
    with mock_aws(), emulated_apis():
        world = build_world(region)
        settings = replay_settings(enforce=enforce, publish=False, topic_arn=world.topic_arn)
        responder = Responder(settings)
        for event in events:
            adopted = world.adopt(event)
            perform(world, adopted)
            documents.append(responder.assess(adopted))
    return documents


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo ARGS=...", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--event",
        default="schedule_key_deletion",
        choices=available_events(),
        help="sample event from events/ (default: schedule_key_deletion)",
    )
    parser.add_argument(
        "--mode", default="off", choices=["off", "dry-run", "enforce"], help="remediation mode (default: off)"
    )
    parser.add_argument("--json-only", action="store_true", help="print only the JSON alert document")
    args = parser.parse_args(argv)

    envelopes = run_demo(args.event, args.mode)
    if not envelopes:
        print("no alert reached the subscriber queue", file=sys.stderr)
        return 1
    from shared.alerting import render_text

    for envelope in envelopes:
        document = json.loads(envelope["Message"])
        if not args.json_only:
            print(f"=== Subject: {envelope.get('Subject')}")
            attributes = {k: v.get("Value") for k, v in envelope.get("MessageAttributes", {}).items()}
            print(f"=== Message attributes: {json.dumps(attributes, sort_keys=True)}")
            print("=== Email / plain text (rendered from the document read back from SQS)")
            print(render_text(AlertDocument.model_validate(document)))
            print("=== JSON document (the SQS subscriber's message)")
        print(json.dumps(document, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
