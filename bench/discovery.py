"""Dependency-discovery benchmark: ``make bench`` (``python -m bench.discovery``).

Five scenarios, each one run of ``discover()`` as the function runs it, against an emulated AWS
served over HTTP by another process (``bench.emulator.server``: moto's server on 127.0.0.1 behind a
hook that adds latency, enforces the documented rate limits and answers what moto lacks):

* ``api-5k`` / ``api-50k``: AWS Config is not recording; every type through its API finder;
* ``config-5k`` / ``config-50k``: Config records every type continuously; the index answers the
  types it covers (emulated ``SelectResourceConfig``, its own latency, default 200 ms a query);
* ``busy-key``: the 5k account with Config, and a key whose CloudTrail history is 5,000 events
  (pages of 50, LookupEvents at 2 calls a second).

As in the function: the worker count from ``template.yaml``, the discovery and usage budgets from
the settings' defaults, X-Ray's patching of botocore active (Tracer in a Lambda environment), AWS
page sizes and the documented rate limits. What is measured, and the floor each run is held to,
is described in docs/decisions.md and docs/discovery-index.md.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "discovery.json"
TEMPLATE = ROOT / "template.yaml"
WARM_UP_SECONDS = 3.0
USABLE_CORES = 1  # one Python process (one interpreter lock); the function has one vCPU (1769 MB)


@dataclass(frozen=True)
class Scenario:
    name: str
    region: str
    size: int
    config: bool
    busy: bool = False
    meaning: str = ""
    quotas: tuple[str, ...] = ()  # raised quotas, "service:Operation=N" (informational scenarios)


SCENARIOS = (
    Scenario(
        "api-5k", "us-east-2", 5000, False, meaning="5,000 resources, AWS Config off: every type by API"
    ),
    Scenario("config-5k", "us-east-2", 5000, True, meaning="the same account, Config recording every type"),
    Scenario(
        "busy-key",
        "us-east-2",
        5000,
        True,
        busy=True,
        meaning="config-5k with a key used 5,000 times in CloudTrail's lookback",
    ),
    Scenario("api-50k", "us-east-1", 50000, False, meaning="50,000 resources, Config off"),
    Scenario("config-50k", "us-east-1", 50000, True, meaning="50,000 resources, Config recording every type"),
    Scenario(
        "config-50k-logs-quota",
        "us-east-1",
        50000,
        True,
        meaning="informational: config-50k in an account whose DescribeLogGroups quota was raised to 100 a "
        "second (the documented 5 is adjustable); not one of the targets",
        quotas=("logs:DescribeLogGroups=100",),
    ),
)


def template_workers() -> int:
    """``DISCOVERY_MAX_WORKERS`` as the template sets it for the responder."""
    match = re.search(r'DISCOVERY_MAX_WORKERS:\s*"?(\d+)"?', TEMPLATE.read_text(encoding="utf-8"))
    if match is None:
        raise SystemExit("template.yaml does not set DISCOVERY_MAX_WORKERS")
    return int(match.group(1))


def _lambda_like_environment() -> None:
    """What the function's process has, so that Tracer patches botocore as it does there."""
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "LAMBDA_TASK_ROOT": str(ROOT / "src"),
            "AWS_LAMBDA_FUNCTION_NAME": "kms-keyguard-bench",
            "_X_AMZN_TRACE_ID": "Root=1-67a1b2c3-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            "POWERTOOLS_SERVICE_NAME": "kms-keyguard",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "LOG_LEVEL": "ERROR",
        }
    )
    os.environ.pop("POWERTOOLS_TRACE_DISABLED", None)


class EmulatorClient:
    """Talks to a running emulator's control endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=60) as answer:  # noqa: S310  # 127.0.0.1
            return json.loads(answer.read())


class Emulator(EmulatorClient):
    """The emulator process: started here, stopped here (by its process id)."""

    def __init__(
        self, regions: dict[str, int], latency_ms: float, config_latency_ms: float, rates: list[str]
    ) -> None:
        self.ready = Path(tempfile.mkdtemp(prefix="kms-keyguard-bench-")) / "ready.json"
        command = [
            sys.executable,
            "-m",
            "bench.emulator.server",
            "--regions",
            ",".join(f"{r}={n}" for r, n in regions.items()),
            "--latency-ms",
            str(latency_ms),
            "--config-latency-ms",
            str(config_latency_ms),
            "--ready-file",
            str(self.ready),
            *(x for rate in rates for x in ("--rate", rate)),
        ]
        env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"}
        self.process = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603  # our own module
        deadline = time.monotonic() + 900
        while not self.ready.exists() or not self.ready.read_text(encoding="utf-8").strip():
            if self.process.poll() is not None:
                raise SystemExit(f"the emulator exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit("the emulator did not become ready")
            time.sleep(0.5)
        info = json.loads(self.ready.read_text(encoding="utf-8"))
        self.port = int(info["port"])
        self.seeding_seconds = float(info["seeding_seconds"])
        super().__init__(f"http://127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


class LocalOnly:
    """Refuses to send any request anywhere but the emulator (``before-send``)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def __call__(self, request: Any, **_: Any) -> None:
        if not str(request.url).startswith(self.url):
            raise RuntimeError(f"refusing to send a request outside the emulator: {request.url}")


def rss_mb() -> float:
    """The process's resident set now (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class RssSampler:
    """The process's resident set before a run and its peak during it (sampled every 20 ms)."""

    def __init__(self) -> None:
        self.baseline = rss_mb()
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def stop(self) -> tuple[float, float]:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())
        return round(self.baseline, 1), round(self.peak, 1)


class CallCounter:
    """Counts every API call the client makes (botocore's ``before-call`` event), and when each
    operation was first and last called."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}
        self.signing: dict[str, str] = {}  # botocore name -> the name the emulator sees (signing name)
        self.started = time.perf_counter()

    def reset(self) -> None:
        self.calls.clear()
        self.times.clear()
        self.started = time.perf_counter()

    def __call__(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}:{model.name}"
        self.calls[name] += 1
        self.signing.setdefault(name, f"{model.service_model.signing_name}:{model.name}")
        now = round(time.perf_counter() - self.started, 3)
        span = self.times.setdefault(name, [now, now])
        span[1] = now


# -- floors ---------------------------------------------------------------------------------------


def floors(
    calls: Counter[str],
    round_trip: dict[str, float],
    cpu_seconds: float,
    workers: int,
    max_query_pages: int,
    rates: dict[str, float],
) -> dict[str, float]:
    """The lower bounds on wall time this run's work allows (seconds), by term.

    ``round_trip`` is each operation's round trip: the emulator's added latency plus the time it
    spent answering (its work stands for the service's). chain: the longest chain of calls that
    must follow one another (a listing's pages, then one describe); cpu: CPU seconds / usable cores;
    throughput: every call's round trip spread over the workers; rate:<op>: an operation's calls at
    its limit; config-chain: the index's probe, then its longest query's pages one after another.
    """
    from shared.dependencies import REGISTRY

    def rtt(operation: str) -> float:
        return round_trip.get(operation, 0.0)

    chain = 0.0
    for finder in REGISTRY:
        steps = finder.steps
        root = f"{finder.service}:{steps[0].operation}"
        pages = calls.get(root, 0)
        follow = [
            f"{finder.service}:{s.operation}"
            for s in steps[1:]
            if calls.get(f"{finder.service}:{s.operation}")
        ]
        if pages:
            chain = max(chain, pages * rtt(root) + (max(rtt(f) for f in follow) if follow else 0.0))
    select = [k for k in calls if k.startswith("config:Select")]
    terms = {
        "chain": chain,
        "cpu": cpu_seconds / USABLE_CORES,
        "throughput": sum(n * rtt(op) for op, n in calls.items()) / workers,
    }
    if select:
        probe = sum(calls[k] * rtt(k) for k in calls if k.startswith("config:Describe"))
        terms["config-chain"] = probe + max_query_pages * max(rtt(k) for k in select)
    for operation, rate in rates.items():
        count = calls.get(operation, 0)  # these services' IAM and botocore names agree
        if count:
            # n calls at r a second: the first goes at once, the last (n - 1) / r later, then its round trip
            terms[f"rate:{operation}"] = (count - 1) / rate + rtt(operation)
    return {k: round(v, 3) for k, v in terms.items()}


# -- one scenario ---------------------------------------------------------------------------------


def run_scenario(
    scenario: Scenario,
    emulator: EmulatorClient,
    accounts: dict[str, Any],
    counter: CallCounter,
    clients: Any,
    settings: Any,
    workers: int,
    latency: float,
    config_latency: float,
    rate_overrides: dict[str, float],
    budget: float | None = None,
) -> dict[str, Any]:
    from shared.dependencies import discover
    from shared.dependencies.limits import DOCUMENTED
    from shared.keyref import KeyIdentity

    account = accounts[scenario.region]
    config = "on" if scenario.config else "off"
    busy = "on" if scenario.busy else "off"
    quotas = ",".join(f"{k}={v:g}" for k, v in rate_overrides.items())
    emulator.get(f"/_bench/state?region={scenario.region}&config={config}&busy={busy}&quotas={quote(quotas)}")
    emulator.get("/_bench/stats?reset=1")
    identity = KeyIdentity(key_arn=account["key_arn"], aliases=frozenset({account["alias"]}))
    gc.collect()
    counter.reset()
    budget = budget or settings.discovery_max_seconds
    sampler = RssSampler()
    started, cpu = time.perf_counter(), time.process_time()
    section = discover(
        identity,
        clients,
        deadline=time.monotonic() + budget,
        max_workers=workers,
        lookback_days=settings.usage_lookback_days,
        usage_seconds=settings.usage_lookup_seconds,
        rate_limits=rate_overrides or None,
    )
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    baseline, peak = sampler.stop()
    server = emulator.get("/_bench/stats")
    calls = Counter(counter.calls)
    truth = {tuple(t) for t in account["truth"]}
    found = {(i.resource_type, i.name) for i in section.items}
    hits = len(found & truth)
    rates = {limit.operation: rate_overrides.get(limit.operation, limit.per_second) for limit in DOCUMENTED}
    served = server["calls"]
    answering = server["service_seconds"]
    round_trip = {}
    for operation in calls:
        seen = counter.signing.get(operation, operation)
        base = config_latency if operation.startswith("config:Select") else latency
        round_trip[operation] = base + (answering.get(seen, 0.0) / served[seen] if served.get(seen) else 0.0)
    terms = floors(calls, round_trip, cpu, workers, server["max_query_pages"], rates)
    floor_term = max(terms, key=terms.__getitem__)
    floor = terms[floor_term]
    throttled = {
        k.removeprefix("throttled:"): v for k, v in server["calls"].items() if k.startswith("throttled:")
    }
    via = Counter(i.via or "?" for i in section.items)
    entry: dict[str, Any] = {
        "meaning": scenario.meaning,
        "resources": account["resources"],
        "resources_using_key": len(truth),
        "config_recording": scenario.config,
        "recall": round(hits / len(truth), 4) if truth else 1.0,
        "precision": round(hits / len(found), 4) if found else 1.0,
        "complete": section.complete,
        "budget_seconds": budget,
        "within_budget": wall <= budget + 1.0,
        "api_calls": sum(calls.values()),
        "wall_seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "cpu_ms_per_call": round(1000 * cpu / max(1, sum(calls.values())), 2),
        "peak_memory_mb": peak,
        "memory_before_mb": baseline,
        "memory_growth_mb": round(peak - baseline, 1),
        "floor_seconds": floor,
        "floor_term": floor_term,
        "floor_terms": terms,
        "round_trip_ms": {k: round(1000 * v, 1) for k, v in sorted(round_trip.items()) if calls[k] >= 5},
        "wall_over_floor": round(wall / floor, 2) if floor else None,
        "found_via": dict(sorted(via.items())),
        "index": section.index.model_dump() if section.index else None,
        "unchecked": [u.model_dump(exclude_none=True) for u in section.unchecked],
        "unfinished_named": all(
            u.limit or not u.reason.startswith(("timed out", "rate-limited")) for u in section.unchecked
        ),
        "throttled_calls": throttled,
        "services_called": len({k.split(":")[0] for k in calls}),
        "config_queries": sum(v for k, v in calls.items() if k.startswith("config:Select")),
        "max_query_pages": server["max_query_pages"],
        "missed": sorted(list(x) for x in truth - found)[:10],
        "unexpected": sorted(list(x) for x in found - truth)[:10],
        "usage": {
            "events_examined": section.usage.events_examined if section.usage else 0,
            "principals": len(section.usage.principals) if section.usage else 0,
            "note": section.usage.last_usage_note if section.usage else None,
        },
        "calls_by_operation": dict(sorted(calls.items())),
        "first_and_last_call": dict(sorted(counter.times.items(), key=lambda kv: -kv[1][1])[:12]),
    }
    return entry


# -- the legacy top-level keys (they describe api-5k) ---------------------------------------------


def minimum_calls(counts: dict[str, int], using: int) -> int:
    """The fewest calls the API path needs for this account: each listing's pages at the AWS
    maximum page size, one describe per resource where the type has no batch form, the batched
    describes of log groups, the SSM parameters that name the key (filtered on the server), the
    finders of types not seeded (one call each) and the three evidence calls."""
    from shared.dependencies import REGISTRY

    pages = {
        "AWS::SSM::Parameter": math.ceil(using / 50) or 1,
        "AWS::Logs::LogGroup": math.ceil(counts.get("AWS::Logs::LogGroup", 0) / 1000)
        + math.ceil(counts.get("AWS::Logs::LogGroup", 0) / 50),
        "AWS::SQS::Queue": math.ceil(counts.get("AWS::SQS::Queue", 0) / 1000)
        + counts.get("AWS::SQS::Queue", 0),
        "AWS::DynamoDB::Table": math.ceil(counts.get("AWS::DynamoDB::Table", 0) / 100)
        + counts.get("AWS::DynamoDB::Table", 0),
        "AWS::SNS::Topic": math.ceil(counts.get("AWS::SNS::Topic", 0) / 100)
        + counts.get("AWS::SNS::Topic", 0),
        "AWS::S3::Bucket": 1 + counts.get("AWS::S3::Bucket", 0),
        "AWS::Kinesis::Stream": math.ceil(counts.get("AWS::Kinesis::Stream", 0) / 100)
        + counts.get("AWS::Kinesis::Stream", 0),
        "AWS::Backup::BackupVault": 1 + counts.get("AWS::Backup::BackupVault", 0),
    }
    page_sizes = {
        "AWS::EC2::Volume": 1000,
        "AWS::SecretsManager::Secret": 100,
        "AWS::Lambda::Function": 50,
        "AWS::ECR::Repository": 1000,
        "AWS::EFS::FileSystem": 100,
        "AWS::RDS::DBInstance": 100,
        "AWS::RDS::DBCluster": 100,
        "AWS::CloudTrail::Trail": 10**9,
    }
    total = 3
    for finder in REGISTRY:
        rtypes = finder.resource_types
        seeded = [t for t in rtypes if t in counts or t in pages]
        if not seeded:
            total += 1
            continue
        rtype = seeded[0]
        if rtype in pages:
            total += pages[rtype]
        else:
            total += max(1, math.ceil(counts.get(rtype, 0) / page_sizes.get(rtype, 100)))
    return total


def legacy(
    entry: dict[str, Any], account: dict[str, Any], workers: int, latency_ms: float, seeding: float
) -> dict[str, Any]:
    from shared.dependencies import REGISTRY

    counts = account["counts"]
    minimum = minimum_calls(counts, sum(1 for t, _ in account["truth"] if t == "AWS::SSM::Parameter"))
    calls = entry["api_calls"]
    latency = latency_ms / 1000
    return {
        "resources": entry["resources"],
        "resources_using_key": entry["resources_using_key"],
        "resource_types": len({t for f in REGISTRY for t in f.resource_types}),
        "resource_types_seeded": len(counts),
        "recall": entry["recall"],
        "precision": entry["precision"],
        "complete": entry["complete"],
        "unexpected": entry["unexpected"],
        "missed": entry["missed"],
        "unchecked": entry["unchecked"],
        "api_calls": calls,
        "min_api_calls": minimum,
        "api_calls_ratio": round(calls / minimum, 3),
        "latency_ms": latency_ms,
        "rate_limits": "documented (see scenarios.*.floor_terms)",
        "workers": workers,
        "wall_seconds": entry["wall_seconds"],
        "wall_method": "live: moto's server in another process over HTTP on 127.0.0.1, latency added "
        "by the emulator, X-Ray patching on, the template's worker count",
        "wall_seconds_live_emulator": entry["wall_seconds"],
        "replay_misses": None,
        "client_creation_seconds": None,
        "sequential_seconds": round(calls * latency, 3),
        "sequential_method": "estimated: api_calls x latency",
        "speedup": round(calls * latency / entry["wall_seconds"], 2),
        "lower_bound_seconds": entry["floor_seconds"],
        "lower_bound_method": "floor: the largest of scenarios.api-5k.floor_terms, here "
        f"{entry['floor_term']}",
        "throughput_bound_seconds": entry["floor_terms"]["throughput"],
        "cpu_seconds": entry["cpu_seconds"],
        "cpu_ms_per_call": entry["cpu_ms_per_call"],
        "cpu_method": "process CPU time of the benchmark client during the discovery (botocore, the engine, "
        "X-Ray's hooks); the emulator runs in another process",
        "wall_over_lower_bound": entry["wall_over_floor"],
        "peak_memory_mb": entry["peak_memory_mb"],
        "peak_memory_method": "peak resident set of the client process during the run, sampled every 20 ms "
        "(the emulator is another process); memory_before_mb is where it started",
        "process_max_rss_mb": entry["peak_memory_mb"],
        "seeding_seconds": seeding,
        "calls_by_operation": entry["calls_by_operation"],
        "seeded": counts,
    }


# -- main -----------------------------------------------------------------------------------------


def run_child(name: str, url: str, latency_ms: float, config_latency_ms: float, rates: list[str]) -> int:
    """One scenario in this (fresh) process: a short warm-up run, as in a warm container, then the
    timed run. Prints the entry as JSON on the last line."""
    _lambda_like_environment()
    os.environ["AWS_ENDPOINT_URL"] = url
    import boto3

    from shared.aws import ClientFactory
    from shared.config import Settings
    from shared.dependencies.clients import xray_patched

    scenario = next(s for s in SCENARIOS if s.name == name)
    emulator = EmulatorClient(url)
    settings = Settings.from_env({"ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench"})
    overrides = {k: float(v) for k, _, v in (r.partition("=") for r in (*rates, *scenario.quotas))}
    accounts = emulator.get("/_bench/accounts")
    counter = CallCounter()
    session = boto3.Session(region_name=scenario.region)
    session.events.register("before-call", counter)
    session.events.register("before-send", LocalOnly(url))
    clients = ClientFactory(session)
    common = (emulator, accounts, counter, clients, settings, template_workers())
    latencies = (latency_ms / 1000, config_latency_ms / 1000, overrides)
    run_scenario(scenario, *common, *latencies, budget=WARM_UP_SECONDS)
    time.sleep(1.0)  # the warm-up's last calls finish before the timed run starts
    entry = run_scenario(scenario, *common, *latencies)
    entry["xray_botocore_patched"] = xray_patched()
    print(json.dumps(entry))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="dependency-discovery benchmark")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--config-latency-ms", type=float, default=200.0)
    parser.add_argument("--only", action="append", default=[], help="run only these scenarios")
    parser.add_argument(
        "--rate-limit",
        action="append",
        default=[],
        metavar="service:Operation=N",
        help="a raised quota, e.g. logs:DescribeLogGroups=50 (the emulator and discovery both use it)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--cold-start", action="store_true", help="also measure the cold start (Python 3.13)")
    parser.add_argument("--run-scenario", help=argparse.SUPPRESS)
    parser.add_argument("--emulator-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run_scenario:
        return run_child(
            args.run_scenario, args.emulator_url, args.latency_ms, args.config_latency_ms, args.rate_limit
        )

    selected = [s for s in SCENARIOS if not args.only or s.name in args.only]
    regions = {s.region: s.size for s in selected}
    started = time.perf_counter()
    print(f"seeding {sum(regions.values())} resources in the emulator ...", file=sys.stderr)
    emulator = Emulator(regions, args.latency_ms, args.config_latency_ms, args.rate_limit)
    results: dict[str, Any] = {}
    try:
        accounts = emulator.get("/_bench/accounts")
        for scenario in selected:
            command = [
                sys.executable,
                "-m",
                "bench.discovery",
                "--run-scenario",
                scenario.name,
                "--emulator-url",
                emulator.url,
                "--latency-ms",
                str(args.latency_ms),
                "--config-latency-ms",
                str(args.config_latency_ms),
                *(x for rate in args.rate_limit for x in ("--rate-limit", rate)),
            ]
            env = {**os.environ, "PYTHONPATH": f"{ROOT}:{ROOT / 'src'}"}
            child = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # noqa: S603
            if child.returncode != 0:
                sys.stderr.write(child.stderr[-4000:])
                raise SystemExit(f"{scenario.name}: the benchmark client failed")
            results[scenario.name] = json.loads(child.stdout.strip().splitlines()[-1])
            entry = results[scenario.name]
            print(
                f"{scenario.name}: {entry['wall_seconds']:.2f} s, complete={entry['complete']}",
                file=sys.stderr,
            )
    finally:
        emulator.stop()
    for small, large in (
        ("config-5k", "api-5k"),
        ("config-50k", "api-50k"),
        ("config-50k-logs-quota", "api-50k"),
    ):
        if small in results and large in results:
            results[small]["speedup_vs_api"] = round(
                results[large]["wall_seconds"] / results[small]["wall_seconds"], 2
            )

    from shared.config import Settings

    settings = Settings.from_env({"ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:bench"})
    workers = template_workers()
    document: dict[str, Any] = {}
    if "api-5k" in results:
        document.update(
            legacy(
                results["api-5k"], accounts["us-east-2"], workers, args.latency_ms, emulator.seeding_seconds
            )
        )
    document["conditions"] = {
        "latency_ms": args.latency_ms,
        "config_query_latency_ms": args.config_latency_ms,
        "workers": workers,
        "workers_from": "template.yaml DISCOVERY_MAX_WORKERS",
        "budget_seconds": settings.discovery_max_seconds,
        "usage_budget_seconds": settings.usage_lookup_seconds,
        "xray_botocore_patched": all(e.get("xray_botocore_patched") for e in results.values()),
        "rate_limit_overrides": args.rate_limit,
        "usable_cores": USABLE_CORES,
        "process": "each scenario in a fresh client process: a warm-up run of "
        f"{WARM_UP_SECONDS:g} s (models loaded, clients built, as in a warm container), then the timed run",
        "machine": f"{os.cpu_count()} cores shared with other jobs; load average at the end "
        f"{os.getloadavg()[0]:.1f}",
        "emulator_seeding_seconds": emulator.seeding_seconds,
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
    if args.cold_start:
        from bench.coldstart import measure

        document["cold_start"] = measure()
    document["scenarios"] = results
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print_table(results)
    print(f"written to {args.output}")
    return 0


def print_table(results: dict[str, Any]) -> None:
    columns = (
        ("scenario", lambda n, e: n),
        ("resources", lambda n, e: f"{e['resources']:,}"),
        ("recall", lambda n, e: f"{e['recall']:.2f}"),
        ("precision", lambda n, e: f"{e['precision']:.2f}"),
        ("complete", lambda n, e: "yes" if e["complete"] else "no"),
        ("calls", lambda n, e: f"{e['api_calls']:,}"),
        ("wall s", lambda n, e: f"{e['wall_seconds']:.2f}"),
        ("cpu s", lambda n, e: f"{e['cpu_seconds']:.2f}"),
        ("mem MB", lambda n, e: f"{e['peak_memory_mb']:.0f}"),
        ("floor s", lambda n, e: f"{e['floor_seconds']:.2f}"),
        ("floor term", lambda n, e: e["floor_term"]),
        ("wall/floor", lambda n, e: f"{e['wall_over_floor']:.2f}"),
        ("vs api", lambda n, e: f"{e['speedup_vs_api']:.1f}x" if "speedup_vs_api" in e else ""),
    )
    rows = [[label for label, _ in columns]] + [[fmt(n, e) for _, fmt in columns] for n, e in results.items()]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for number, row in enumerate(rows):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  ".join("-" * width for width in widths))
    for name, entry in results.items():
        for unchecked in entry["unchecked"]:
            print(f"  {name}: {unchecked['finder']}: {unchecked['reason']}")


if __name__ == "__main__":
    raise SystemExit(main())
