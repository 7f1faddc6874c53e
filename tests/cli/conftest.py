"""One moto server for the CLI tests, seeded with a compliant account; scenarios reset it.

The CLI talks to the server through ``AWS_ENDPOINT_URL``, exactly as a user would point it at AWS.
It runs in the test process (``run_cli``: ``keyguard_cli.main.main`` with exactly the environment a
subprocess would get, and its stdout, stderr and exit code captured); one smoke test per command
runs it as a real subprocess (``run_cli_process``). The server runs in a process of its own, so
that what it prints never mixes with the CLI's captured output.

The compliant account ("A") has, in us-east-1: a multi-Region trail logging read and write
management events into a log group, the CIS 4.7 metric filter with the exact CIS text, an alarm on
its metric notifying a topic with a confirmed (SQS) subscription, the project's EventBridge rule
targeting a function whose alert and health topics have confirmed (SQS) subscriptions, and the demo
world's keys and encrypted resources.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

from keyguard_cli.checkers import CIS_4_7_PATTERN
from keyguard_cli.main import main
from tests.support.process_state import restored_process_state

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
REGION = "us-east-1"
OTHER_REGION = "eu-west-1"
PROJECT_PATTERN = {
    "source": ["aws.kms"],
    "detail-type": ["AWS API Call via CloudTrail"],
    "detail": {"eventSource": ["kms.amazonaws.com"], "eventName": ["DisableKey", "ScheduleKeyDeletion"]},
}
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass
class Account:
    endpoint: str
    key_id: str = ""
    key_arn: str = ""
    unused_key_id: str = ""
    topic_arn: str = ""
    trail_bucket: str = "org-cloudtrail-logs"  # bucket names are global: one per account

    def client(self, service: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.endpoint, **_creds())


def _creds() -> dict[str, str]:
    return {
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "aws_session_token": "testing",
    }


def cli_env(endpoint: str | None, **extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": REGION,
        "PYTHONDONTWRITEBYTECODE": "1",
        "COLUMNS": "160",
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        "DISCOVERY_MAX_SECONDS": "2",
        # A local moto server never throttles; APIs it lacks answer 500, which must not hold
        # discovery workers in back-off.
        "AWS_MAX_ATTEMPTS": "1",
        **CREDENTIALS,
    }
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    env.update(extra)
    return env


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


def run_cli(*args: str, env: dict[str, str]) -> Result:
    """``keyguard ARGS`` in this process, in exactly the environment ``env``."""
    out, err = io.StringIO(), io.StringIO()
    with restored_process_state():
        os.environ.clear()
        os.environ.update(env)
        with redirect_stdout(out), redirect_stderr(err):
            code = main(list(args))
    return Result(code, out.getvalue(), err.getvalue())


def run_cli_process(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``python -m keyguard_cli ARGS`` as a subprocess, as a user runs it."""
    return subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "keyguard_cli", *args],
        env={**env, "PYTHONPATH": os.pathsep.join(str(ROOT / root) for root in ("src", "cli"))},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / name).read_text())


def seed_trail(account: Account, *, multi_region: bool = True) -> tuple[str, str]:
    s3 = account.client("s3")
    s3.create_bucket(Bucket=account.trail_bucket)
    logs = account.client("logs")
    logs.create_log_group(logGroupName="cloudtrail/management")
    group_arn = f"arn:aws:logs:{REGION}:123456789012:log-group:cloudtrail/management:*"
    cloudtrail = account.client("cloudtrail")
    cloudtrail.create_trail(
        Name="management-events",
        S3BucketName=account.trail_bucket,
        IsMultiRegionTrail=multi_region,
        CloudWatchLogsLogGroupArn=group_arn,
        CloudWatchLogsRoleArn="arn:aws:iam::123456789012:role/cloudtrail-to-logs",
    )
    cloudtrail.put_event_selectors(
        TrailName="management-events",
        EventSelectors=[{"ReadWriteType": "All", "IncludeManagementEvents": True}],
    )
    cloudtrail.start_logging(Name="management-events")
    return "cloudtrail/management", group_arn


def seed_alarm(account: Account, metric: str, actions: list[str]) -> None:
    account.client("cloudwatch").put_metric_alarm(
        AlarmName=metric,
        MetricName=metric,
        Namespace="CISBenchmark",
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=actions,
    )


def seed_compliant(account: Account) -> None:
    from keyguard_cli.demo.world import build_world

    previous = os.environ.get("AWS_ENDPOINT_URL")
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update({"AWS_ENDPOINT_URL": account.endpoint, **CREDENTIALS})
    try:
        world = build_world(REGION)
    finally:
        for name, value in {"AWS_ENDPOINT_URL": previous, **saved}.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    account.key_id, account.key_arn, account.topic_arn = world.key_id, world.key_arn, world.topic_arn
    account.unused_key_id = account.client("kms").create_key(Description="unused")["KeyMetadata"]["KeyId"]

    group, _ = seed_trail(account)
    metric = "CIS-4.7-DisableOrScheduleDeletionOfCMK"
    account.client("logs").put_metric_filter(
        logGroupName=group,
        filterName=metric,
        filterPattern=CIS_4_7_PATTERN,
        metricTransformations=[{"metricName": metric, "metricNamespace": "CISBenchmark", "metricValue": "1"}],
    )
    seed_alarm(account, metric, [world.topic_arn])
    events = account.client("events")
    events.put_rule(Name="kms-keyguard-KeyEventsRule-ABC123", EventPattern=json.dumps(PROJECT_PATTERN))
    queue_arn = account.client("sqs").get_queue_attributes(
        QueueUrl=world.queue_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    events.put_targets(Rule="kms-keyguard-KeyEventsRule-ABC123", Targets=[{"Id": "fn", "Arn": queue_arn}])
    function_arn = seed_guard_function(account, alert_topic=world.topic_arn, queue_arn=queue_arn)
    events.put_targets(
        Rule="kms-keyguard-KeyEventsRule-ABC123", Targets=[{"Id": "responder", "Arn": function_arn}]
    )


def seed_guard_function(account: Account, *, alert_topic: str, queue_arn: str) -> str:
    """The responder as the audit sees it: a function configured with its alert and health topics
    (the health topic with a confirmed SQS subscription)."""
    health = account.client("sns").create_topic(Name="kms-keyguard-health")["TopicArn"]
    account.client("sns").subscribe(TopicArn=health, Protocol="sqs", Endpoint=queue_arn)
    role = account.client("iam").create_role(
        RoleName="kms-keyguard-KeyEventsRole",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    return str(
        account.client("lambda").create_function(
            FunctionName="kms-keyguard-KeyEventsFunction-1A2B3C",
            Runtime="python3.13",
            Role=role,
            Handler="handlers.key_events.lambda_handler",
            Code={
                "ZipFile": _zip({"handlers/key_events.py": "def lambda_handler(event, context):\n    pass\n"})
            },
            Environment={"Variables": {"ALERT_TOPIC_ARN": alert_topic, "HEALTH_TOPIC_ARN": health}},
        )["FunctionArn"]
    )


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


def seed_noncompliant(account: Account) -> None:
    """Account "B": a filter that misses an event, an alarm without actions, no rule, a pending key."""
    group, _ = seed_trail(account)
    account.client("logs").put_metric_filter(
        logGroupName=group,
        filterName="kms-disable-only",
        filterPattern="{ ($.eventSource = kms.amazonaws.com) && ($.eventName = DisableKey) }",
        metricTransformations=[
            {"metricName": "KmsDisable", "metricNamespace": "Security", "metricValue": "1"}
        ],
    )
    seed_alarm(account, "KmsDisable", [])
    kms = account.client("kms", OTHER_REGION)
    key = kms.create_key(Description="old reporting data")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/reporting-2019", TargetKeyId=key)
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)


def reset(endpoint: str) -> None:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603 (our own interpreter and moto's server module)
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(server, endpoint)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_up(server: subprocess.Popen[bytes], endpoint: str, attempts: int = 300) -> None:
    for _ in range(attempts):
        if server.poll() is not None:
            raise RuntimeError(f"the moto server exited with code {server.returncode}")
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=1).raise_for_status()
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError(f"the moto server at {endpoint} did not answer")


@pytest.fixture(scope="session")
def compliant(moto_endpoint: str) -> Account:
    account = Account(moto_endpoint)
    seed_compliant(account)
    return account


@pytest.fixture
def noncompliant(compliant: Account) -> Iterator[Account]:
    """Scenario B on the same server; account A is restored afterwards for whatever runs next."""
    reset(compliant.endpoint)
    account = Account(compliant.endpoint)
    seed_noncompliant(account)
    try:
        yield account
    finally:
        reset(compliant.endpoint)
        seed_compliant(compliant)
