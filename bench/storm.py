"""What a storm of key deletions does to the responder (``python -m bench.storm``).

Two parts, written to ``bench/results/storm.json`` and quoted in docs/operations.md:

1. **Measured**: ``--events`` ScheduleKeyDeletion events (distinct event ids) go one after the
   other through the real ``lambda_handler`` (idempotency table, key re-read, the whole dependency
   search, assembly, SNS publish) against moto in-process, in an account seeded with the demo's
   resources; the alerts are read back from the topic's SQS subscriber. This is the function's own
   cost per event with no network latency: a floor.
2. **Computed** from the template's settings (reserved concurrency, timeout, the async queue's
   maximum event age and retries, the rules' retry policy) and the discovery benchmark's wall time
   for an account with 5,000 resources at 20 ms per call (``bench/results/discovery.json``): how
   many events a minute the function can alert on, and what a storm of ``--rate`` deletions a
   minute for ``--minutes`` minutes does.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
import uuid
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def measure(events: int) -> dict[str, Any]:
    """Events per second through the real handler, in-process against moto."""
    import boto3
    from moto import mock_aws

    with mock_aws():
        from tests.support.lambda_context import FakeLambdaContext
        from tests.unit.remediation.support import create_table

        from handlers.key_events import lambda_handler
        from keyguard_cli.demo.world import build_world
        from shared.aws import ClientFactory
        from shared.config import Settings
        from shared.responder import Responder

        world = build_world(with_resources=True, protect=False)
        boto3.client("kms", region_name=world.region).schedule_key_deletion(
            KeyId=world.key_id, PendingWindowInDays=7
        )
        table = create_table(world.region)
        settings = Settings(
            alert_topic_arn=world.topic_arn, idempotency_table_name=table, usage_lookback_days=0
        )
        responder = Responder(settings, ClientFactory())
        batch = []
        for _ in range(events):
            event = world.event("schedule_key_deletion")
            event["id"] = str(uuid.uuid4())
            event["detail"]["eventID"] = str(uuid.uuid4())
            batch.append(event)
        lambda_handler(world.event("disable_key"), FakeLambdaContext(), responder=responder)  # warm up
        world.read_alerts()
        started = time.perf_counter()
        for event in batch:
            lambda_handler(event, FakeLambdaContext(), responder=responder)
        wall = time.perf_counter() - started
        alerts = 0
        while True:
            read = world.read_alerts()
            if not read:
                break
            alerts += len(read)
    return {
        "events": events,
        "alerts_read_back": alerts,
        "resources_in_account": len(world.resources),
        "wall_seconds": round(wall, 3),
        "events_per_second": round(events / wall, 1),
        "ms_per_event": round(1000 * wall / events, 1),
        "method": "in-process, sequential, moto (no network latency): the function's own floor",
    }


def settings_from_template() -> dict[str, Any]:
    from tests.support.cfn_yaml import load

    template = load()
    resources = template["Resources"]
    props = resources["KeyEventsFunction"]["Properties"]
    invoke = props["EventInvokeConfig"]
    (target,) = resources["KeyEventsRule"]["Properties"]["Targets"]
    member = load(Path(__file__).resolve().parents[1] / "org" / "member-rules.yaml")["Resources"]
    (forward,) = member["KeyEventsRule"]["Properties"]["Targets"]
    return {
        "reserved_concurrency": int(template["Parameters"]["ReservedConcurrency"]["Default"]),
        "timeout_seconds": int(props["Timeout"]),
        "discovery_max_seconds": int(template["Parameters"]["DiscoveryMaxSeconds"]["Default"]),
        "async_max_event_age_seconds": int(invoke["MaximumEventAgeInSeconds"]),
        "async_max_retries": int(invoke["MaximumRetryAttempts"]),
        "rule_retry_attempts": int(target["RetryPolicy"]["MaximumRetryAttempts"]),
        "rule_max_event_age_seconds": int(target["RetryPolicy"]["MaximumEventAgeInSeconds"]),
        "rule_dead_letter_queue": "DeadLetterConfig" in target,
        "member_forward_retry_attempts": int(forward["RetryPolicy"]["MaximumRetryAttempts"]),
        "member_forward_max_event_age_seconds": int(forward["RetryPolicy"]["MaximumEventAgeInSeconds"]),
        "member_forward_dead_letter_queue": "DeadLetterConfig" in forward,
    }


def storm(
    rate_per_minute: int, minutes: int, concurrency: int, seconds_per_event: float, max_age: int
) -> dict[str, Any]:
    """A storm of ``rate_per_minute`` events for ``minutes`` minutes against ``concurrency``
    executions that each take ``seconds_per_event``: when the last alert goes out, and how many
    events outlive the async queue's maximum age (they go to the failure queue, not lost)."""
    capacity = concurrency * 60 / seconds_per_event  # alerts a minute
    total = rate_per_minute * minutes
    drain_minutes = total / capacity
    # The event that waits longest is the last one in: it waits (total / capacity - minutes) min.
    longest_wait = max(0.0, drain_minutes - minutes)
    expired = 0
    if capacity < rate_per_minute:
        # First in, first served: the event arriving at minute t waits t * (rate / capacity - 1)
        # minutes; those arriving after t* = max_age / (rate / capacity - 1) would wait longer than
        # the async queue keeps an event. An upper bound: expired events free capacity for the rest.
        cutoff = (max_age / 60) / (rate_per_minute / capacity - 1)
        expired = max(0, math.ceil(rate_per_minute * (minutes - cutoff)))
    return {
        "events": total,
        "alerts_per_minute_capacity": round(capacity, 1),
        "last_alert_after_minutes": round(drain_minutes, 1),
        "longest_delay_minutes": round(longest_wait, 1),
        "to_failure_queue_at_most": expired,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200)
    parser.add_argument("--rate", type=int, default=1000, help="deletions a minute")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--out", type=Path, default=RESULTS / "storm.json")
    args = parser.parse_args(argv)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "kms-keyguard")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "KmsKeyguard")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    # moto lacks a few finders' APIs: their "finder crashed" errors are expected here, not shown
    os.environ["LOG_LEVEL"] = os.environ["POWERTOOLS_LOG_LEVEL"] = "CRITICAL"
    os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"

    measured = measure(args.events)
    config = settings_from_template()
    discovery = json.loads((RESULTS / "discovery.json").read_text(encoding="utf-8"))
    per_event = {
        # The function's own work per event, plus the dependency search of an account with 5,000
        # resources at 20 ms per call (the discovery benchmark), plus publishing.
        "typical_seconds": round(measured["ms_per_event"] / 1000 + float(discovery["wall_seconds"]), 2),
        # Discovery stops at its budget; the rest of the work is small next to it.
        "worst_seconds": round(float(config["discovery_max_seconds"]) + measured["ms_per_event"] / 1000, 2),
    }
    scenarios = {
        name: storm(
            args.rate,
            args.minutes,
            config["reserved_concurrency"],
            seconds,
            config["async_max_event_age_seconds"],
        )
        for name, seconds in per_event.items()
    }
    scenarios["worst_seconds_60_minutes"] = storm(
        args.rate,
        60,
        config["reserved_concurrency"],
        per_event["worst_seconds"],
        config["async_max_event_age_seconds"],
    )
    result = {
        "measured": measured,
        "template": config,
        "discovery_wall_seconds_5k_resources": discovery["wall_seconds"],
        "seconds_per_event": per_event,
        "storm": {"rate_per_minute": args.rate, "minutes": args.minutes, **scenarios},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
