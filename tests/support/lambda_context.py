"""A stand-in for the Lambda context object: what Powertools and the time budget read from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class FakeLambdaContext:
    function_name: str = "kms-keyguard-test"
    memory_limit_in_mb: int = 1769
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:kms-keyguard-test"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    timeout_seconds: float = 60.0

    def get_remaining_time_in_millis(self) -> int:
        return int(self.timeout_seconds * 1000)
