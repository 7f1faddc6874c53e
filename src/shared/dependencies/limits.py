"""Documented request rates of the operations discovery calls often enough to reach them.

Each limit is per account and Region, as the service documents it; the engine spaces calls of the
operation to stay within it (``RateLimiter``). Operations with no documented per-operation rate are
not listed: their calls are not held back (botocore's standard retries cover an occasional
throttle). An account whose quota was raised can say so with ``DISCOVERY_RATE_LIMITS``.
"""

from __future__ import annotations

from shared.dependencies.base import RateLimit

KINESIS_DESCRIBE_STREAM_SUMMARY = RateLimit(
    "kinesis:DescribeStreamSummary",
    20,
    "https://docs.aws.amazon.com/kinesis/latest/APIReference/API_DescribeStreamSummary.html",
)
KINESIS_LIST_STREAMS = RateLimit(
    "kinesis:ListStreams",
    5,
    "https://docs.aws.amazon.com/kinesis/latest/APIReference/API_ListStreams.html",
)
# "DescribeLogGroups: 5 transactions per second (TPS/account/Region). You can request a quota increase."
LOGS_DESCRIBE_LOG_GROUPS = RateLimit(
    "logs:DescribeLogGroups",
    5,
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/cloudwatch_limits_cwl.html",
)
# "The rate of lookup requests is limited to two per second, per account, per Region."
CLOUDTRAIL_LOOKUP_EVENTS = RateLimit(
    "cloudtrail:LookupEvents",
    2,
    "https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html",
)

DOCUMENTED = (
    KINESIS_DESCRIBE_STREAM_SUMMARY,
    KINESIS_LIST_STREAMS,
    LOGS_DESCRIBE_LOG_GROUPS,
    CLOUDTRAIL_LOOKUP_EVENTS,
)


def parse_overrides(text: str) -> dict[str, float]:
    """``"logs:DescribeLogGroups=20, kinesis:DescribeStreamSummary=40"`` → rates by operation."""
    rates: dict[str, float] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        operation, sep, value = part.partition("=")
        operation = operation.strip()
        if not sep or ":" not in operation:
            raise ValueError(f"expected service:Operation=calls-per-second, got {part.strip()!r}")
        rate = float(value)
        if rate <= 0:
            raise ValueError(f"{operation}: the rate must be positive")
        rates[operation] = rate
    return rates
