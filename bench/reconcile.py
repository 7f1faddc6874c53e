"""How long the reconciliation pass takes for 5,000 keys (``python -m bench.reconcile``).

KMS is a stand-in whose DescribeKey takes ``--latency`` seconds (a round trip to the KMS endpoint
from Lambda is typically tens of milliseconds), so the figure is the pass's own shape: one ListKeys
page per 1,000 keys, DescribeKey for every key through the bounded pool, and the few unusable keys
enriched and alerted. Compare with the pool of one (the sequential loop the pass used to be) and with
the function's 300-second timeout.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from typing import Any

from shared.config import Settings
from shared.journal import MemoryJournal
from shared.reconcile import Reconciler

ACCOUNT = "111122223333"
REGION = "us-east-1"


class SlowKms:
    """ListKeys pages, DescribeKey with a fixed latency, empty aliases and tags."""

    def __init__(self, keys: int, latency: float, unusable_every: int) -> None:
        self.ids = [f"{n:08d}-0000-4000-8000-000000000000" for n in range(keys)]
        self.latency = latency
        self.unusable_every = unusable_every

    def get_paginator(self, operation: str) -> Any:
        kms = self

        class Paginator:
            def paginate(self, **_: Any) -> Any:
                if operation == "list_keys":
                    for start in range(0, len(kms.ids), 1000):
                        yield {
                            "Keys": [
                                {"KeyId": key, "KeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key}"}
                                for key in kms.ids[start : start + 1000]
                            ]
                        }
                else:
                    time.sleep(kms.latency)
                    yield {"Aliases": [], "Tags": []}

        return Paginator()

    def describe_key(self, KeyId: str) -> dict[str, Any]:
        time.sleep(self.latency)
        unusable = int(KeyId[:8]) % self.unusable_every == 0
        return {
            "KeyMetadata": {
                "AWSAccountId": ACCOUNT,
                "KeyId": KeyId,
                "Arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{KeyId}",
                "CreationDate": datetime(2026, 1, 1, tzinfo=UTC),
                "Enabled": not unusable,
                "KeyState": "Disabled" if unusable else "Enabled",
                "KeyManager": "CUSTOMER",
                "KeySpec": "SYMMETRIC_DEFAULT",
                "KeyUsage": "ENCRYPT_DECRYPT",
                "Origin": "AWS_KMS",
            }
        }


class Clients:
    def __init__(self, kms: SlowKms) -> None:
        self.kms = kms
        self.default_region = REGION

    def client(self, service: str, region: str | None = None) -> Any:
        return self.kms


class Discard:
    def __init__(self) -> None:
        self.sent = 0

    def publish(self, doc: Any) -> str:
        self.sent += 1
        return str(self.sent)


def measure(keys: int, latency: float, workers: int) -> dict[str, Any]:
    settings = Settings(alert_topic_arn=f"arn:aws:sns:{REGION}:{ACCOUNT}:alerts")
    clients: Any = Clients(SlowKms(keys, latency, unusable_every=100))
    reconciler = Reconciler(
        settings, clients, publisher=Discard(), journal=MemoryJournal(), max_workers=workers
    )
    started = time.perf_counter()
    counts = reconciler.run(REGION)
    return {"workers": workers, "seconds": round(time.perf_counter() - started, 2), **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keys", type=int, default=5000)
    parser.add_argument("--latency", type=float, default=0.02, help="seconds per KMS call")
    parser.add_argument("--sequential", action="store_true", help="also run with a pool of one")
    args = parser.parse_args()
    runs = [measure(args.keys, args.latency, 16)]
    if args.sequential:
        runs.append(measure(args.keys, args.latency, 1))
    print(
        json.dumps(
            {"keys": args.keys, "latency_seconds": args.latency, "timeout_seconds": 300, "runs": runs},
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
