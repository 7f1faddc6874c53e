"""Dependency-discovery benchmark: ``python -m bench.discovery [--resources 5000] [--latency-ms 20]``.

Seeds an emulated account (moto, in-process) with a mix of resources across every resource type
moto emulates, a known subset naming the key by id, ARN, alias name and alias ARN, the rest using
other keys. Each API call then costs an injected latency (a botocore ``before-call`` handler on the
client factory's session, emulating the round trip), optionally under per-service rate limits.
Discovery runs exactly as the Lambda runs it (``discover()``), and the figures go to
``bench/results/discovery.json``. See docs/decisions.md for what they mean.

Operations moto does not implement (CloudTrail LookupEvents, KMS GetKeyLastUsage and a few list
calls; the one list is ``keyguard_cli.demo.emulation.MOTO_LACKS``) are answered by the same handler
with an empty, well-formed answer, and counted and delayed like any other call.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import math
import os
import random
import resource
import sys
import threading
import time
import tracemalloc
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keyguard_cli.demo.emulation import EMPTY_ANSWERS  # the APIs moto lacks, as an empty account answers

RESULTS = Path(__file__).resolve().parent / "results" / "discovery.json"
REGION = "us-east-1"
FORMS = ("key-id", "key-arn", "alias-name", "alias-arn")

# -- the emulated network -----------------------------------------------------------------------


@dataclass
class Network:
    """Counts calls and makes each one cost ``latency`` seconds (sleeping, so other threads run)."""

    latency: float
    rate_limits: dict[str, float] = field(default_factory=dict)  # service -> calls per second
    calls: Counter[str] = field(default_factory=Counter)
    _next_slot: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before_call(self, model: Any, **_: Any) -> Any:
        service = model.service_model.service_name
        name = model.name
        with self._lock:
            self.calls[f"{service}:{name}"] += 1
            wait = 0.0
            rate = self.rate_limits.get(service)
            if rate:
                now = time.monotonic()
                slot = max(now, self._next_slot.get(service, now))
                self._next_slot[service] = slot + 1.0 / rate
                wait = slot - now
        time.sleep(wait + self.latency)
        answer = EMPTY_ANSWERS.get((service, name))
        if answer is None:
            return None  # moto answers
        from botocore.awsrequest import AWSResponse

        return AWSResponse("https://emulated", 200, {}, None), dict(answer)

    @property
    def total(self) -> int:
        return sum(self.calls.values())


class _Raw:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Any:
        yield self._content


@dataclass
class Replay:
    """Records the emulator's HTTP answers once, then serves them byte for byte.

    botocore still serialises every request and parses every answer, as it does on AWS; what the
    replay removes is the emulator's own CPU time, which in this single process competes with
    discovery for the interpreter lock and which on AWS is spent on the far side of the network
    (it is what the injected latency stands for).
    """

    recording: bool = True
    answers: dict[tuple[str, str, bytes], tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    misses: int = 0
    _pending: threading.local = field(default_factory=threading.local)

    @staticmethod
    def _key(request: Any) -> tuple[str, str, bytes]:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = bytes(body.read()) if hasattr(body, "read") else repr(body).encode()
        return request.method, request.url, body

    def before_send(self, request: Any, **_: Any) -> Any:
        key = self._key(request)
        if self.recording:
            self._pending.key = key
            return None
        from botocore.awsrequest import AWSResponse

        answer = self.answers.get(key)
        if answer is None:
            # The emulator answers this one. It is called directly because it is switched off while
            # replaying (botocore calls every before-send handler, so a live emulator would redo the
            # work of every replayed call), and a miss must never fall through to the network.
            from moto.core.models import botocore_stubber

            self.misses += 1
            status, headers, body = botocore_stubber.process_request(request) or (500, {}, b"")
            return AWSResponse(
                request.url, status, headers, _Raw(body if isinstance(body, bytes) else body.encode())
            )
        status, headers, content = answer
        return AWSResponse(request.url, status, headers, _Raw(content))

    def after_call(self, http_response: Any, **_: Any) -> None:
        key = getattr(self._pending, "key", None)
        if self.recording and key is not None and http_response is not None:
            self.answers[key] = (
                http_response.status_code,
                dict(http_response.headers),
                http_response.content,
            )
            self._pending.key = None


# -- seeding ------------------------------------------------------------------------------------

# resource type -> share of the account (a mix resembling a busy production account)
MIX: dict[str, float] = {
    "AWS::SSM::Parameter": 0.18,
    "AWS::Logs::LogGroup": 0.15,
    "AWS::SQS::Queue": 0.10,
    "AWS::EC2::Volume": 0.09,
    "AWS::SecretsManager::Secret": 0.08,
    "AWS::DynamoDB::Table": 0.08,
    "AWS::SNS::Topic": 0.07,
    "AWS::S3::Bucket": 0.06,
    "AWS::Lambda::Function": 0.05,
    "AWS::Kinesis::Stream": 0.03,
    "AWS::ECR::Repository": 0.03,
    "AWS::EFS::FileSystem": 0.02,
    "AWS::RDS::DBInstance": 0.02,
    "AWS::RDS::DBCluster": 0.01,
    "AWS::Backup::BackupVault": 0.02,
    "AWS::CloudTrail::Trail": 0.001,
}


@dataclass
class Keys:
    ours_arn: str
    ours_id: str
    alias: str
    others: list[str]

    def reference(self, form: str) -> str:
        account = self.ours_arn.split(":")[4]
        return {
            "key-id": self.ours_id,
            "key-arn": self.ours_arn,
            "alias-name": self.alias,
            "alias-arn": f"arn:aws:kms:{REGION}:{account}:{self.alias}",
        }[form]


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def _creators(session: Any) -> dict[str, tuple[tuple[str, ...], Callable[[str, str], str]]]:
    """resource type -> (reference forms the service stores, create(name, key) -> reported name)."""
    c = {
        s: session.client(s)
        for s in (
            "ssm",
            "logs",
            "sqs",
            "ec2",
            "secretsmanager",
            "dynamodb",
            "sns",
            "s3",
            "lambda",
            "kinesis",
            "ecr",
            "efs",
            "rds",
            "backup",
            "cloudtrail",
            "iam",
        )
    }
    role = c["iam"].create_role(RoleName="bench-fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = _zip()
    c["s3"].create_bucket(Bucket="bench-trail-logs")

    def ssm(name: str, key: str) -> str:
        c["ssm"].put_parameter(Name=f"/bench/{name}", Value="v", Type="SecureString", KeyId=key)
        return f"/bench/{name}"

    def logs(name: str, key: str) -> str:
        c["logs"].create_log_group(logGroupName=f"/bench/{name}", kmsKeyId=key)
        return f"/bench/{name}"

    def sqs(name: str, key: str) -> str:
        c["sqs"].create_queue(QueueName=name, Attributes={"KmsMasterKeyId": key})
        return name

    def ebs(name: str, key: str) -> str:
        return str(
            c["ec2"].create_volume(AvailabilityZone=f"{REGION}a", Size=1, Encrypted=True, KmsKeyId=key)[
                "VolumeId"
            ]
        )

    def secret(name: str, key: str) -> str:
        c["secretsmanager"].create_secret(Name=name, SecretString="x", KmsKeyId=key)
        return name

    def table(name: str, key: str) -> str:
        c["dynamodb"].create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key},
        )
        return name

    def topic(name: str, key: str) -> str:
        c["sns"].create_topic(Name=name, Attributes={"KmsMasterKeyId": key})
        return name

    def bucket(name: str, key: str) -> str:
        c["s3"].create_bucket(Bucket=name)
        c["s3"].put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}
                ]
            },
        )
        return name

    def function(name: str, key: str) -> str:
        c["lambda"].create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="index.handler",
            Code={"ZipFile": code},
            KMSKeyArn=key,
        )
        return name

    def stream(name: str, key: str) -> str:
        c["kinesis"].create_stream(StreamName=name, ShardCount=1)
        c["kinesis"].start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=key)
        return name

    def repo(name: str, key: str) -> str:
        c["ecr"].create_repository(
            repositoryName=name, encryptionConfiguration={"encryptionType": "KMS", "kmsKey": key}
        )
        return name

    def efs(name: str, key: str) -> str:
        return str(
            c["efs"].create_file_system(CreationToken=name, Encrypted=True, KmsKeyId=key)["FileSystemId"]
        )

    def db(name: str, key: str) -> str:
        c["rds"].create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            MasterUsername="admin1",
            MasterUserPassword="password123",
            AllocatedStorage=20,
            StorageEncrypted=True,
            KmsKeyId=key,
        )
        return name

    def cluster(name: str, key: str) -> str:
        c["rds"].create_db_cluster(
            DBClusterIdentifier=name,
            Engine="aurora-postgresql",
            MasterUsername="admin1",
            MasterUserPassword="password123",
            StorageEncrypted=True,
            KmsKeyId=key,
        )
        return name

    def vault(name: str, key: str) -> str:
        c["backup"].create_backup_vault(BackupVaultName=name, EncryptionKeyArn=key)
        return name

    def trail(name: str, key: str) -> str:
        c["cloudtrail"].create_trail(Name=name, S3BucketName="bench-trail-logs", KmsKeyId=key)
        return name

    every = FORMS
    arn_only = ("key-arn",)
    return {
        "AWS::SSM::Parameter": (every, ssm),
        "AWS::Logs::LogGroup": (arn_only, logs),
        "AWS::SQS::Queue": (every, sqs),
        "AWS::EC2::Volume": (every, ebs),
        "AWS::SecretsManager::Secret": (every, secret),
        "AWS::DynamoDB::Table": (every, table),
        "AWS::SNS::Topic": (every, topic),
        "AWS::S3::Bucket": (every, bucket),
        "AWS::Lambda::Function": (arn_only, function),
        "AWS::Kinesis::Stream": (every, stream),
        "AWS::ECR::Repository": (every, repo),
        "AWS::EFS::FileSystem": (every, efs),
        "AWS::RDS::DBInstance": (every, db),
        "AWS::RDS::DBCluster": (every, cluster),
        "AWS::Backup::BackupVault": (arn_only, vault),
        "AWS::CloudTrail::Trail": (every, trail),
    }


def seed(
    session: Any, keys: Keys, total: int, ours_every: int, rng: random.Random
) -> tuple[Counter[str], set[tuple[str, str]]]:
    """Create the account; the seeded truth is the set of (resource type, name) that use our key."""
    creators = _creators(session)
    counts: Counter[str] = Counter()
    truth: set[tuple[str, str]] = set()
    for rtype, share in MIX.items():
        forms, create = creators[rtype]
        n = max(1, min(5, total) if rtype == "AWS::CloudTrail::Trail" else round(total * share))
        if rtype == "AWS::CloudTrail::Trail":
            n = min(n, 5)  # five trails per region is the AWS limit
        for i in range(n):
            ours = i % ours_every == 0
            key = keys.reference(forms[(i // ours_every) % len(forms)]) if ours else rng.choice(keys.others)
            name = create(f"bench-{rtype.split('::')[1].lower()}-{i:05d}", key)
            counts[rtype] += 1
            if ours:
                truth.add((rtype, name))
    # The emulator takes automated snapshots of databases; those of our databases use our key too.
    rds = session.client("rds")
    ours_db = {n for t, n in truth if t == "AWS::RDS::DBInstance"}
    ours_cluster = {n for t, n in truth if t == "AWS::RDS::DBCluster"}
    for snap in rds.describe_db_snapshots()["DBSnapshots"]:
        if snap.get("DBInstanceIdentifier") in ours_db:
            truth.add(("AWS::RDS::DBSnapshot", snap["DBSnapshotIdentifier"]))
    for snap in rds.describe_db_cluster_snapshots()["DBClusterSnapshots"]:
        if snap.get("DBClusterIdentifier") in ours_cluster:
            truth.add(("AWS::RDS::DBClusterSnapshot", snap["DBClusterSnapshotIdentifier"]))
    return counts, truth


# -- expectations -------------------------------------------------------------------------------

# Page sizes moto or AWS fix when the finder cannot choose one.
DEFAULT_PAGE = {("sns", "ListTopics"): 100}


def minimum_calls(counts: Counter[str]) -> tuple[int, int]:
    """The fewest calls a client must make for this account, and the longest unavoidable chain of
    sequential calls (pages of one listing are sequential; a describe needs its listing page)."""
    from shared.dependencies import REGISTRY

    total = 3  # ListGrants, GetKeyLastUsage, one LookupEvents page
    longest = 1
    for finder in REGISTRY:
        step = finder.step
        n = counts.get(step.resource_type or "", 0) or counts.get(finder.resource_types[-1], 0)
        page = step.page_size or DEFAULT_PAGE.get((finder.service, step.operation)) or 10**9
        pages = max(1, math.ceil(n / page)) if step.paginated else 1
        calls, chain = pages, pages
        child = step.then
        if child is not None:
            per_parent = 1 if not child.batch else 1 / child.batch
            calls += math.ceil(n * per_parent) if n else 0
            chain += 1 if n else 0
        total += calls
        longest = max(longest, chain)
    return total, longest


# -- running ------------------------------------------------------------------------------------


def run_once(
    clients: Any, network: Network, identity: Any, workers: int, traced: bool = False
) -> dict[str, Any]:
    from shared.dependencies import discover

    network.calls.clear()
    gc.collect()
    if traced:
        tracemalloc.start()
    started, cpu = time.perf_counter(), time.process_time()
    section = discover(identity, clients, deadline=time.monotonic() + 900, max_workers=workers)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = tracemalloc.get_traced_memory()[1] if traced else 0
    if traced:
        tracemalloc.stop()
    return {
        "section": section,
        "wall": wall,
        "cpu": cpu,
        "calls": network.total,
        "peak": peak,
        "by_operation": dict(network.calls),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="dependency-discovery benchmark")
    parser.add_argument("--resources", type=int, default=5000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="SERVICE=N",
        help="calls per second for one service, e.g. dynamodb=10 (repeatable)",
    )
    parser.add_argument("--workers", type=int, default=32, help="discover(max_workers=...)")
    parser.add_argument("--ours-every", type=int, default=10, help="one resource in N uses the key")
    parser.add_argument("--skip-sequential", action="store_true", help="do not measure the 1-worker run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    for name, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "LOG_LEVEL": "ERROR",
    }.items():
        os.environ.setdefault(name, value)
    import boto3
    from moto import mock_aws

    from shared.aws import ClientFactory
    from shared.dependencies import REGISTRY
    from shared.keyref import KeyIdentity

    rates = {}
    for spec in args.rate_limit:
        service, _, value = spec.partition("=")
        rates[service] = float(value)
    network = Network(latency=args.latency_ms / 1000, rate_limits=rates)

    with mock_aws():
        session = boto3.Session(region_name=REGION)
        kms = session.client("kms")
        ours = kms.create_key(Description="bench: the key being disabled")["KeyMetadata"]
        kms.create_alias(AliasName="alias/bench-data", TargetKeyId=ours["KeyId"])
        others = [kms.create_key(Description=f"bench: other {i}")["KeyMetadata"]["Arn"] for i in range(3)]
        keys = Keys(ours["Arn"], ours["KeyId"], "alias/bench-data", others)
        t0 = time.perf_counter()
        counts, truth = seed(session, keys, args.resources, args.ours_every, random.Random(args.seed))
        seeding = time.perf_counter() - t0
        print(f"seeded {sum(counts.values())} resources in {seeding:.1f}s", file=sys.stderr)

        session.events.register("before-call", network.before_call)
        replay = Replay()
        session.events.register_first("before-send", replay.before_send)
        session.events.register("after-call", replay.after_call)
        identity = KeyIdentity(key_arn=ours["Arn"], aliases=frozenset({"alias/bench-data"}))

        # Warm-up and recording: moto backends, clients, the emulator's answers. The clients are kept,
        # as a warm Lambda container keeps its ClientFactory; a cold start builds them first.
        clients = ClientFactory(session)
        started = time.perf_counter()
        for service in sorted({f.service for f in REGISTRY} | {"kms", "cloudtrail"}):
            clients.client(service, REGION)
        client_seconds = time.perf_counter() - started
        live = run_once(clients, network, identity, args.workers)
        replay.recording = False
        from moto.core.models import botocore_stubber

        botocore_stubber.enabled = False  # replayed answers only; misses are answered by Replay itself
        traced = run_once(clients, network, identity, args.workers, traced=True)
        timed = run_once(clients, network, identity, args.workers)
        sequential = None if args.skip_sequential else run_once(clients, network, identity, 1)

    section = timed["section"]
    found = {(i.resource_type, i.name) for i in section.items}
    true_positive = len(found & truth)
    unexpected = sorted(found - truth)
    missed = sorted(truth - found)
    min_calls, chain = minimum_calls(counts)
    latency = args.latency_ms / 1000
    lower_bound = max(chain * latency, 1e-9)
    sequential_seconds = sequential["wall"] if sequential else timed["calls"] * latency
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "resources": sum(counts.values()),
        "resources_using_key": len(truth),
        "resource_types": len({t for f in REGISTRY for t in f.resource_types}),
        "resource_types_seeded": len(counts),
        "recall": round(true_positive / len(truth), 4) if truth else 1.0,
        "precision": round(true_positive / len(found), 4) if found else 1.0,
        "complete": section.complete,
        "unexpected": [list(x) for x in unexpected[:20]],
        "missed": [list(x) for x in missed[:20]],
        "unchecked": [u.model_dump() for u in section.unchecked],
        "api_calls": timed["calls"],
        "min_api_calls": min_calls,
        "api_calls_ratio": round(timed["calls"] / min_calls, 3),
        "latency_ms": args.latency_ms,
        "rate_limits": rates,
        "workers": args.workers,
        "wall_seconds": round(timed["wall"], 3),
        "wall_method": "replayed emulator answers (botocore still builds and parses every call) + injected "
        "latency; see wall_seconds_live_emulator for the same run answered live by moto",
        "wall_seconds_live_emulator": round(live["wall"], 3),
        "replay_misses": replay.misses,
        "client_creation_seconds": round(client_seconds, 3),
        "sequential_seconds": round(sequential_seconds, 3),
        "sequential_method": "measured: the same discovery with max_workers=1"
        if sequential
        else "estimated: api_calls x latency",
        "speedup": round(sequential_seconds / timed["wall"], 2),
        "lower_bound_seconds": round(lower_bound, 3),
        "lower_bound_method": "longest chain of dependent calls (pages of one listing, then one describe) "
        "x latency",
        "throughput_bound_seconds": round(timed["calls"] * latency / args.workers, 3),
        "cpu_seconds": round(timed["cpu"], 3),
        "cpu_ms_per_call": round(1000 * timed["cpu"] / max(1, timed["calls"]), 2),
        "cpu_method": "process CPU time during the timed discovery: botocore building and parsing calls, "
        "the engine, the replay; one interpreter lock makes this a floor on wall time",
        "wall_over_lower_bound": round(timed["wall"] / lower_bound, 2),
        "peak_memory_mb": round(traced["peak"] / 2**20, 1),
        "peak_memory_method": "tracemalloc peak during one discovery (allocations by discovery and botocore)",
        "process_max_rss_mb": round(rss_mb, 1),
        "seeding_seconds": round(seeding, 1),
        "calls_by_operation": dict(sorted(timed["by_operation"].items())),
        "seeded": dict(sorted(counts.items())),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    rows = [
        ("resources (using the key)", f"{result['resources']} ({result['resources_using_key']})"),
        (
            "resource types covered / seeded",
            f"{result['resource_types']} / {result['resource_types_seeded']}",
        ),
        ("recall / precision", f"{result['recall']:.2%} / {result['precision']:.2%}"),
        ("complete", str(result["complete"])),
        ("API calls (minimum)", f"{result['api_calls']} ({result['min_api_calls']})"),
        (
            "wall seconds (live moto)",
            f"{result['wall_seconds']:.2f} ({result['wall_seconds_live_emulator']:.2f})",
        ),
        ("sequential seconds", f"{result['sequential_seconds']:.2f} ({result['sequential_method']})"),
        ("speedup", f"{result['speedup']:.1f}x"),
        (
            "lower bound seconds",
            f"{result['lower_bound_seconds']:.2f} (wall = {result['wall_over_lower_bound']}x)",
        ),
        ("throughput bound seconds", f"{result['throughput_bound_seconds']:.2f}"),
        ("CPU seconds (ms per call)", f"{result['cpu_seconds']:.2f} ({result['cpu_ms_per_call']})"),
        ("peak memory MB (process RSS)", f"{result['peak_memory_mb']} ({result['process_max_rss_mb']})"),
    ]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
