"""Rate-limited operations are scheduled within their documented limits, and a finder a limit stops
says which limit and how far it got; discovery's clients are not traced call by call."""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.client
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber

from shared.aws import ClientFactory
from shared.dependencies import REGISTRY, discover, run_finders
from shared.dependencies.base import HEADROOM, FinderContext, RateLimit, RateLimited, RateLimiter, Work
from shared.dependencies.clients import UntracedClients, discovery_clients, discovery_config
from shared.dependencies.limits import DOCUMENTED, KINESIS_DESCRIBE_STREAM_SUMMARY, parse_overrides
from shared.keyref import KeyIdentity

from .conftest import ACCOUNT, FAST_FAIL, REGION

KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IDENTITY = KeyIdentity(key_arn=KEY)
FINDERS = {finder.name: finder for finder in REGISTRY}
SESSION = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")


class FakeTime:
    """A clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_slots_are_spaced_by_the_documented_rate_with_headroom_per_operation_and_region() -> None:
    time = FakeTime()
    limiter = RateLimiter(time.clock)
    limit = RateLimit("cloudtrail:LookupEvents", 2)
    gap = 1 / (2 * HEADROOM)  # 2 calls a second, kept at 90 % of it
    assert [round(limiter.reserve(limit, REGION), 3) for _ in range(3)] == [
        0.0,
        round(gap, 3),
        round(2 * gap, 3),
    ]
    assert limiter.reserve(limit, "eu-west-1") == 0.0  # another Region has its own budget
    raised = RateLimiter(time.clock, {"cloudtrail:LookupEvents": 10})
    assert limiter.rate(limit) == 2
    assert raised.rate(limit) == 10
    assert [round(raised.reserve(limit, REGION), 3) for _ in range(2)] == [0.0, round(1 / (10 * HEADROOM), 3)]


def test_a_call_that_starts_too_soon_after_the_last_one_is_told_when_it_may_go() -> None:
    time = FakeTime()
    limiter = RateLimiter(time.clock)
    limit = RateLimit("kinesis:DescribeStreamSummary", 20)
    assert limiter.claim(limit, REGION) == 0.0  # goes now
    assert limiter.claim(limit, REGION) == pytest.approx(1 / 20)  # not yet: the limit itself
    time.now = 1.0
    assert limiter.claim(limit, REGION) == 1.0


def test_paced_calls_wait_for_their_slot_and_refuse_one_past_the_deadline() -> None:
    time = FakeTime()
    limit = RateLimit("logs:DescribeLogGroups", 5 / HEADROOM)  # slots 0.2 s apart
    ctx = FinderContext(
        IDENTITY, ClientFactory(SESSION), REGION, 1.0, time.clock, RateLimiter(time.clock), time.sleep
    )
    for _ in range(5):
        ctx.pace(limit)
    assert time.slept == [0.2, 0.2, 0.2, 0.2]
    with pytest.raises(RateLimited) as stopped:
        ctx.pace(limit)  # the sixth slot would be at 1.0 s, the deadline
    assert stopped.value.per_second == pytest.approx(5 / HEADROOM)


def test_every_documented_limit_is_used_by_a_finder_or_the_evidence() -> None:
    used = {s.rate_limit for f in REGISTRY for s in f.steps if s.rate_limit}
    assert {limit.operation for limit in DOCUMENTED} == {limit.operation for limit in used} | {
        "cloudtrail:LookupEvents"
    }
    assert all(limit.source.startswith("https://docs.aws.amazon.com/") for limit in DOCUMENTED)


@pytest.mark.parametrize(
    ("text", "rates"),
    [
        ("", {}),
        ("logs:DescribeLogGroups=20", {"logs:DescribeLogGroups": 20.0}),
        (
            "logs:DescribeLogGroups=20, kinesis:DescribeStreamSummary=40",
            {"logs:DescribeLogGroups": 20.0, "kinesis:DescribeStreamSummary": 40.0},
        ),
    ],
)
def test_raised_quotas_are_read_from_one_setting(text: str, rates: dict[str, float]) -> None:
    assert parse_overrides(text) == rates


@pytest.mark.parametrize(
    "text", ["DescribeLogGroups=20", "logs:DescribeLogGroups", "logs:DescribeLogGroups=0"]
)
def test_a_malformed_quota_setting_is_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  # the message is for the operator
        parse_overrides(text)


def _streams(n: int) -> dict[str, Any]:
    return {
        "StreamNames": [f"s{i}" for i in range(n)],
        "StreamSummaries": [
            {
                "StreamName": f"s{i}",
                "StreamARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s{i}",
                "StreamStatus": "ACTIVE",
            }
            for i in range(n)
        ],
        "HasMoreStreams": False,
    }


def test_a_rate_limited_finder_that_cannot_finish_names_the_limit_and_how_far_it_got() -> None:
    # Given 5 Kinesis streams, and describes allowed once every 10 seconds with 5 seconds left
    clock = FakeTime()
    factory = ClientFactory(SESSION, config=FAST_FAIL)
    with Stubber(factory.client("kinesis", REGION)) as kinesis:
        kinesis.add_response("list_streams", _streams(5))
        kinesis.add_response(
            "describe_stream_summary",
            {
                "StreamDescriptionSummary": {
                    "StreamName": "s0",
                    "StreamARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/s0",
                    "StreamStatus": "ACTIVE",
                    "RetentionPeriodHours": 24,
                    "StreamCreationTimestamp": "2026-01-01T00:00:00Z",
                    "EnhancedMonitoring": [],
                    "EncryptionType": "KMS",
                    "KeyId": KEY,
                    "OpenShardCount": 1,
                }
            },
        )
        # When the finder runs
        outcome = run_finders(
            [FINDERS["kinesis-streams"]],
            IDENTITY,
            factory,
            deadline=5.0,
            clock=clock.clock,
            rate_limits={KINESIS_DESCRIBE_STREAM_SUMMARY.operation: 0.1},
        )
        kinesis.assert_no_pending_responses()

    # Then the one stream it could describe is reported, the others are not described at all (not
    # sent to be throttled), and the alert names the limit and the progress
    assert [i.name for i in outcome.items] == ["s0"]
    (unchecked,) = outcome.unchecked
    assert unchecked.finder == "kinesis-streams"
    assert unchecked.limit == "kinesis:DescribeStreamSummary, 0.1 calls a second"
    assert (
        unchecked.reason == "rate-limited: kinesis:DescribeStreamSummary, 0.1 calls a second; 1 of 5 checked"
    )
    assert (unchecked.checked, unchecked.listed) == (1, 5)


def test_calls_due_later_wait_in_the_engine_not_in_a_worker() -> None:
    # Given one worker, two describes limited to 2 a second (the second due in 0.5 s) and then a
    # quick unit of work with no limit
    order: list[str] = []
    limit = RateLimit("test:Describe", 2)

    class Paced:
        name = "paced"
        service = "test"
        actions: tuple[str, ...] = ()
        resource_types: tuple[str, ...] = ()

        def applies_to(self, region: str) -> bool:
            return True

        def find(self, ctx: FinderContext) -> Iterator[Any]:
            yield Work(lambda: order.append("describe-0") or [], limit=limit)
            yield Work(lambda: order.append("describe-1") or [], limit=limit)
            yield Work(lambda: order.append("quick") or [])

    # When they run
    outcome = run_finders([Paced()], IDENTITY, ClientFactory(SESSION), time.monotonic() + 30, max_workers=1)

    # Then the quick unit did not wait behind the second describe's slot
    assert outcome.complete
    assert order == ["describe-0", "quick", "describe-1"]


# -- discovery's clients -------------------------------------------------------------------------


def test_without_xray_patching_discovery_uses_the_callers_clients() -> None:
    factory = ClientFactory(SESSION)
    assert discovery_clients(factory, 16) is factory


def test_with_xray_patching_discovery_calls_bypass_the_tracing_wrapper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given X-Ray has wrapped botocore's _make_api_call (as Tracer's patch_all does in Lambda)
    traced: list[str] = []
    original = BaseClient.__dict__["_make_api_call"]

    @functools.wraps(original)
    def wrapper(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        traced.append(operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(BaseClient, "_make_api_call", wrapper)
    monkeypatch.setattr(botocore.client, "_xray_enabled", True, raising=False)
    session = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    factory = ClientFactory(session, config=FAST_FAIL)

    # When discovery builds its clients and calls an API, and the responder calls one
    clients = discovery_clients(factory, 16)
    assert isinstance(clients, UntracedClients)
    assert discovery_clients(factory, 16) is clients  # built once per caller's factory
    for client in (clients.client("sqs", REGION), factory.client("sqs", REGION)):
        with Stubber(client) as stub:
            stub.add_response("list_queues", {"QueueUrls": []})
            client.list_queues()

    # Then only the responder's call went through the tracing wrapper
    assert traced == ["ListQueues"]
    # And discovery retries in standard mode (adaptive would add a second rate limiter)
    assert clients.client("sqs", REGION).meta.config.retries["mode"] == "standard"


def test_an_operators_retry_mode_wins() -> None:
    assert discovery_config(16, {"AWS_RETRY_MODE": "adaptive"}).retries["mode"] == "adaptive"  # type: ignore[attr-defined]
    assert discovery_config(16, {}).retries["mode"] == "standard"  # type: ignore[attr-defined]


def test_discovery_can_override_documented_rates(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.update(kwargs)
        raise RuntimeError("stop")

    monkeypatch.setattr("shared.dependencies.run_finders", spy)
    with pytest.raises(RuntimeError):
        discover(
            IDENTITY, ClientFactory(SESSION), deadline=0, finders=[], evidence=False, rate_limits={"a:B": 1}
        )
    assert seen["rate_limits"] == {"a:B": 1}


def test_raised_quotas_come_from_the_settings_and_a_bad_value_fails_fast() -> None:
    from shared.config import Settings
    from shared.errors import ConfigurationError

    topic = "arn:aws:sns:us-east-1:111122223333:alerts"
    settings = Settings.from_env(
        {"ALERT_TOPIC_ARN": topic, "DISCOVERY_RATE_LIMITS": "logs:DescribeLogGroups=20"}
    )
    assert settings.rate_limits == {"logs:DescribeLogGroups": 20.0}
    with pytest.raises(ConfigurationError, match="DISCOVERY_RATE_LIMITS"):
        Settings.from_env({"ALERT_TOPIC_ARN": topic, "DISCOVERY_RATE_LIMITS": "twenty"})


def test_the_benchmark_runs_discovery_with_the_templates_worker_count() -> None:
    from bench.discovery import template_workers

    from shared.config import Settings

    assert template_workers() == Settings.model_fields["discovery_max_workers"].default == 16
