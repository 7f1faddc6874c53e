"""The benchmark's emulated AWS: moto's server on 127.0.0.1, with a hook in front of it.

    python -m bench.emulator.server --port 0 --regions us-east-2=5000,us-east-1=50000

Runs in its own process, so what it spends (moto, seeding, query evaluation) is not charged to
discovery, and every call goes through botocore's full HTTP path. The hook (``Emulator``):

* adds the round trip to every call (``--latency-ms``; AWS Config queries ``--config-latency-ms``);
* enforces the documented rate limits as token buckets and answers a call over the limit as AWS
  does (400, ``ThrottlingException`` / ``LimitExceededException``), counting them: discovery should
  cause none;
* answers what moto lacks or answers differently from AWS: AWS Config's recorder, its advanced
  query (evaluated over the seeded configuration items, see ``config_query``), CloudTrail
  ``LookupEvents`` (real-shaped events for the busy key), ``GetKeyLastUsage``, ``ListLogGroups``
  and ``DescribeLogGroups`` by identifiers, Kinesis ``ListStreams`` pages of 100, SSM
  ``DescribeParameters`` filtered by type and key, pages of up to 50 (moto: 10), Timestream's
  endpoint discovery (this emulator), and empty answers for a few list calls;
* serves ``/_bench/...``: readiness, the seeded accounts, per-Region switches (Config recording,
  busy key) and its counters.

Only 127.0.0.1 is ever bound.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session

from bench.emulator.accounts import ACCOUNT, Account, seed
from bench.emulator.config_query import InvalidExpression, Select, parse
from keyguard_cli.demo.emulation import MOTO_LACKS

HOST = "127.0.0.1"
JSON = "application/x-amz-json-1.1"
# (signing name, operation) -> (calls a second, error code AWS answers with), as documented.
RATE_LIMITS: dict[tuple[str, str], tuple[float, str]] = {
    ("kinesis", "DescribeStreamSummary"): (20, "LimitExceededException"),
    ("kinesis", "ListStreams"): (5, "LimitExceededException"),
    ("logs", "DescribeLogGroups"): (5, "ThrottlingException"),
    ("cloudtrail", "LookupEvents"): (2, "ThrottlingException"),
}
# Tokens a bucket holds: a quarter second's worth, at least 2. AWS does not document its buckets;
# this lets a client that keeps the rate through its own scheduling jitter pass, and still refuses
# one that sends faster for more than a moment.
MIN_BURST = 2.0
BUSY_EVENTS = 5000
PAGE = 50


class Bucket:
    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.burst = max(MIN_BURST, rate / 4)
        self.tokens = self.burst
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1:
                self.tokens -= 1
                return True
            return False


def _epoch(moment: datetime) -> float:
    return moment.timestamp()


class Emulator:
    """WSGI hook in front of moto's server application."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        accounts: dict[str, Account],
        latency: float,
        config_latency: float,
        rates: dict[tuple[str, str], float],
    ) -> None:
        self.app = app
        self.accounts = accounts
        self.latency = latency
        self.config_latency = config_latency
        self.rates = rates
        self.buckets: dict[tuple[str, str, str], Bucket] = {}
        self.lock = threading.Lock()
        self.recording: dict[str, bool] = {}
        self.raised: dict[str, dict[tuple[str, str], float]] = {}  # region -> raised quotas
        self.busy: dict[str, bool] = {}
        self.stats: Counter[str] = Counter()
        self.service_time: Counter[str] = Counter()  # seconds spent answering, by operation
        self.query_pages: Counter[str] = Counter()
        self.queries: dict[str, Select] = {}
        self.by_type: dict[str, dict[str, list[dict[str, Any]]]] = {}
        for region, account in accounts.items():
            index: dict[str, list[dict[str, Any]]] = {}
            for item in account.items:
                index.setdefault(item["resourceType"], []).append(item)
            self.by_type[region] = index

    # -- WSGI ----------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_bench/"):
            return self._control(path, environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service, region = _scope(environ.get("HTTP_AUTHORIZATION", ""))
        operation = _operation(environ, body)
        config_query = service == "config" and operation.startswith("Select")
        time.sleep(self.config_latency if config_query else self.latency)
        with self.lock:
            self.stats[f"{service}:{operation}"] += 1
        began = time.perf_counter()
        try:
            refused = self._throttle(service, operation, region)
            if refused is not None:
                return _respond(start_response, 400, refused)
            answer = self._answer(service, operation, region, environ, body)
            if answer is not None:
                status, payload = answer
                return _respond(start_response, status, payload)
            return list(self.app(environ, start_response))
        finally:
            with self.lock:
                self.service_time[f"{service}:{operation}"] += time.perf_counter() - began

    def _throttle(self, service: str, operation: str, region: str) -> tuple[str, bytes] | None:
        rate = self.raised.get(region, {}).get((service, operation), self.rates.get((service, operation)))
        if rate is None:
            return None
        key = (service, operation, region)
        with self.lock:
            bucket = self.buckets.setdefault(key, Bucket(rate))
        if bucket.take():
            return None
        with self.lock:
            self.stats[f"throttled:{service}:{operation}"] += 1
        code = RATE_LIMITS[(service, operation)][1]
        return JSON, json.dumps({"__type": code, "message": "Rate exceeded"}).encode()

    # -- control -------------------------------------------------------------------------------

    def _control(
        self, path: str, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        query = {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
        payload: Any = {"ok": True}
        if path == "/_bench/accounts":
            payload = {region: account.summary() for region, account in self.accounts.items()}
        elif path == "/_bench/state":
            region = query["region"]
            if "config" in query:
                self.recording[region] = query["config"] == "on"
            if "busy" in query:
                self.busy[region] = query["busy"] == "on"
            if "quotas" in query:  # "logs:DescribeLogGroups=100,..." (empty: the documented rates)
                raised: dict[tuple[str, str], float] = {}
                for spec in filter(None, query["quotas"].split(",")):
                    operation, _, value = spec.partition("=")
                    service, _, name = operation.partition(":")
                    raised[(service, name)] = float(value)
                self.raised[region] = raised
        elif path == "/_bench/stats":
            with self.lock:
                payload = {
                    "calls": dict(self.stats),
                    "service_seconds": {k: round(v, 4) for k, v in self.service_time.items()},
                    "query_pages": dict(self.query_pages),
                    "max_query_pages": max(self.query_pages.values(), default=0),
                }
                if query.get("reset") == "1":
                    self.stats.clear()
                    self.service_time.clear()
                    self.query_pages.clear()
                    self.buckets.clear()
        return _respond(start_response, 200, ("application/json", json.dumps(payload).encode()))

    # -- answers moto does not give ---------------------------------------------------------------

    def _answer(
        self, service: str, operation: str, region: str, environ: dict[str, Any], body: bytes
    ) -> tuple[int, tuple[str, bytes]] | None:
        handler = self.ANSWERS.get((service, operation))
        if handler is None:
            return None
        if environ.get("HTTP_X_AMZ_TARGET"):
            params = json.loads(body or b"{}")
        else:  # query protocol: the form's last value per name
            params = {k: v[-1] for k, v in parse_qs(body.decode(errors="replace")).items()}
        result = handler(self, region, params, environ)
        if result is None:
            return None
        if isinstance(result, tuple):
            return result
        return 200, (JSON, json.dumps(result, default=_json_default).encode())

    def _recorders(self, region: str, params: dict[str, Any], environ: dict[str, Any]) -> dict[str, Any]:
        if not self.recording.get(region):
            return {"ConfigurationRecorders": []}
        group = {
            "allSupported": True,
            "includeGlobalResourceTypes": False,
            "recordingStrategy": {"useOnly": "ALL_SUPPORTED_RESOURCE_TYPES"},
        }
        recorder = {
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/aws-config",
            "recordingGroup": group,
            "recordingMode": {"recordingFrequency": "CONTINUOUS"},
        }
        return {"ConfigurationRecorders": [recorder]}

    def _recorder_status(
        self, region: str, params: dict[str, Any], environ: dict[str, Any]
    ) -> dict[str, Any]:
        if not self.recording.get(region):
            return {"ConfigurationRecordersStatus": []}
        now = datetime.now(UTC)
        status = {"name": "default", "recording": True, "lastStatus": "SUCCESS", "lastStartTime": _epoch(now)}
        return {"ConfigurationRecordersStatus": [status]}

    def _select(self, region: str, params: dict[str, Any], environ: dict[str, Any]) -> Any:
        expression = str(params.get("Expression", ""))
        try:
            select = self.queries.get(expression) or parse(expression)
        except InvalidExpression as exc:
            payload = {"__type": "InvalidExpressionException", "message": str(exc)}
            return 400, (JSON, json.dumps(payload).encode())
        self.queries[expression] = select
        types = next(
            (c.values for c in select.conditions if c.prop == "resourceType" and not c.negated), None
        )
        candidates = (
            [i for t in types for i in self.by_type.get(region, {}).get(t, [])]
            if types
            else [i for items in self.by_type.get(region, {}).values() for i in items]
        )
        matched = [item for item in candidates if select.matches(item)]
        limit = min(int(params.get("Limit") or 25), 100)
        start = int(params.get("NextToken") or 0)
        page = matched[start : start + limit]
        with self.lock:
            self.query_pages[expression] += 1
        result: dict[str, Any] = {
            "Results": [json.dumps(select.project(item)) for item in page],
            "QueryInfo": {"SelectFields": [{"Name": f} for f in select.fields]},
        }
        if start + limit < len(matched):
            result["NextToken"] = str(start + limit)
        return result

    def _lookup_events(self, region: str, params: dict[str, Any], environ: dict[str, Any]) -> dict[str, Any]:
        account = self.accounts.get(region)
        attributes = params.get("LookupAttributes") or [{}]
        wanted = str(attributes[0].get("AttributeValue", ""))
        if account is None or not self.busy.get(region) or wanted != account.key_arn:
            return {"Events": []}
        start = int(params.get("NextToken") or 0)
        size = min(int(params.get("MaxResults") or PAGE), PAGE)
        events = [_trail_event(account, n) for n in range(start, min(start + size, BUSY_EVENTS))]
        result: dict[str, Any] = {"Events": events}
        if start + size < BUSY_EVENTS:
            result["NextToken"] = str(start + size)
        return result

    def _endpoints(self, region: str, params: dict[str, Any], environ: dict[str, Any]) -> dict[str, Any]:
        """Timestream's endpoint discovery: this emulator (an address with a scheme is used as is)."""
        return {"Endpoints": [{"Address": f"http://{environ['HTTP_HOST']}", "CachePeriodInMinutes": 1440}]}

    def _key_last_usage(self, region: str, params: dict[str, Any], environ: dict[str, Any]) -> dict[str, Any]:
        return {"KeyId": params.get("KeyId"), "TrackingStartDate": _epoch(datetime(2026, 4, 1, tzinfo=UTC))}

    def _list_log_groups(
        self, region: str, params: dict[str, Any], environ: dict[str, Any]
    ) -> dict[str, Any]:
        from moto.logs.models import logs_backends

        groups = logs_backends[ACCOUNT][region].groups
        names = sorted(groups)
        limit = min(int(params.get("limit") or 50), 1000)
        start = int(params.get("nextToken") or 0)
        page = [groups[n] for n in names[start : start + limit]]
        result: dict[str, Any] = {
            "logGroups": [
                {"logGroupName": g.name, "logGroupArn": g.arn.removesuffix(":*"), "logGroupClass": "STANDARD"}
                for g in page
            ]
        }
        if start + limit < len(names):
            result["nextToken"] = str(start + limit)
        return result

    def _describe_log_groups(self, region: str, params: dict[str, Any], environ: dict[str, Any]) -> Any:
        identifiers = params.get("logGroupIdentifiers")
        if not identifiers:
            return None  # moto answers
        from moto.logs.models import logs_backends

        groups = logs_backends[ACCOUNT][region].groups
        return {"logGroups": [groups[n].to_describe_dict() for n in identifiers if n in groups]}

    def _describe_parameters(self, region: str, params: dict[str, Any], environ: dict[str, Any]) -> Any:
        """DescribeParameters filtered by Type and KeyId, up to 50 a page as AWS allows (moto: 10,
        and a tag lookup per parameter on every page); other filters go to moto."""
        filters = params.get("ParameterFilters") or []
        if params.get("Filters") or any(
            f.get("Key") not in ("Type", "KeyId") or f.get("Option", "Equals") != "Equals" for f in filters
        ):
            return None
        from moto.ssm.models import ssm_backends

        stored = ssm_backends[ACCOUNT][region]._parameters
        wanted = {f["Key"]: set(f.get("Values") or []) for f in filters}
        matched = []
        for versions in stored.values():
            parameter = versions[-1]
            if "Type" in wanted and parameter.parameter_type not in wanted["Type"]:
                continue
            if "KeyId" in wanted and parameter.keyid not in wanted["KeyId"]:
                continue
            matched.append(parameter)
        size = min(int(params.get("MaxResults") or 10), 50)
        start = int(params.get("NextToken") or 0)
        result: dict[str, Any] = {
            "Parameters": [p.describe_response_object(False) for p in matched[start : start + size]]
        }
        if start + size < len(matched):
            result["NextToken"] = str(start + size)
        return result

    def _rds(self, region: str, params: dict[str, Any], environ: dict[str, Any], clusters: bool) -> Any:
        """DescribeDBInstances / DescribeDBClusters pages of up to 100 with the fields discovery
        reads (moto renders every field of every database through templates, about 2 ms each,
        which made the emulator, not discovery, the slowest part of a 50,000-resource run)."""
        if (
            params.get("DBInstanceIdentifier")
            or params.get("DBClusterIdentifier")
            or params.get("Filters.Filter.1.Name")
        ):
            return None
        from moto.rds.models import rds_backends

        backend = rds_backends[ACCOUNT][region]
        stored = list((backend.clusters if clusters else backend.databases).values())
        size = min(int(params.get("MaxRecords") or 100), 100)
        start = int(params.get("Marker") or 0)
        kind = "DBCluster" if clusters else "DBInstance"
        members = []
        for db in stored[start : start + size]:
            identifier = db.db_cluster_identifier if clusters else db.db_instance_identifier
            fields = {
                f"{kind}Identifier": identifier,
                f"{kind}Arn": db.arn,
                "Engine": db.engine,
                "StorageEncrypted": str(bool(db.storage_encrypted)).lower(),
                "KmsKeyId": db.kms_key_id or "",
            }
            status = "Status" if clusters else "DBInstanceStatus"
            fields[status] = "available"
            members.append(
                f"<{kind}>"
                + "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields.items())
                + f"</{kind}>"
            )
        marker = f"<Marker>{start + size}</Marker>" if start + size < len(stored) else ""
        action = f"Describe{kind}s"
        xml = (
            f'<{action}Response xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><{action}Result>'
            f"<{kind}s>{''.join(members)}</{kind}s>{marker}</{action}Result>"
            f"<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></{action}Response>"
        )
        return 200, ("text/xml", xml.encode())

    def _list_streams(self, region: str, params: dict[str, Any], environ: dict[str, Any]) -> dict[str, Any]:
        from moto.kinesis.models import kinesis_backends

        streams = kinesis_backends[ACCOUNT][region].streams
        names = sorted(streams)
        limit = min(int(params.get("Limit") or 100), 100)  # "at most 100 results are returned"
        start = int(params.get("NextToken") or 0)
        page = names[start : start + limit]
        result: dict[str, Any] = {
            "StreamNames": page,
            "StreamSummaries": [streams[n].to_json_summary()["StreamDescriptionSummary"] for n in page],
            "HasMoreStreams": start + limit < len(names),
        }
        if result["HasMoreStreams"]:
            result["NextToken"] = str(start + limit)
        return result

    ANSWERS: dict[tuple[str, str], Callable[..., Any]] = {}


def _empty(key: str, value: Any) -> Callable[..., dict[str, Any]]:
    return lambda *_: {key: value}


def _xml(text: str) -> Callable[..., tuple[int, tuple[str, bytes]]]:
    return lambda *_: (200, ("text/xml", text.encode()))


# Wire forms of the empty answers for query-protocol APIs in ``MOTO_LACKS`` (XML, not JSON).
_XML_EMPTY: dict[tuple[str, str], Callable[..., tuple[int, tuple[str, bytes]]]] = {
    ("ec2", "GetEbsDefaultKmsKeyId"): _xml(
        '<GetEbsDefaultKmsKeyIdResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">'
        "<requestId>bench</requestId><kmsKeyId>alias/aws/ebs</kmsKeyId></GetEbsDefaultKmsKeyIdResponse>"
    ),
    ("elasticache", "DescribeServerlessCaches"): _xml(
        '<DescribeServerlessCachesResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/">'
        "<DescribeServerlessCachesResult><ServerlessCaches/></DescribeServerlessCachesResult>"
        "<ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></DescribeServerlessCachesResponse>"
    ),
}


def lacks_answers() -> dict[tuple[str, str], Callable[..., Any]]:
    """Every API in the demo's one list of what moto lacks, answered as an empty account would,
    keyed by (signing name, operation) as requests arrive here."""
    session = botocore.session.get_session()
    answers: dict[tuple[str, str], Callable[..., Any]] = {}
    for (service, operation), missing in MOTO_LACKS.items():
        model = session.get_service_model(service)
        if {"json", "rest-json"} & set(model.metadata.get("protocols") or [model.protocol]):
            answers[(model.signing_name, operation)] = _empty_answer(missing.empty)
        else:
            answers[(model.signing_name, operation)] = _XML_EMPTY[(service, operation)]
    return answers


def _empty_answer(empty: dict[str, Any]) -> Callable[..., dict[str, Any]]:
    return lambda *_: dict(empty)


# What moto lacks, then what the benchmark answers itself (a seeded account's history and usage,
# Config, and the describes served without moto's per-item overhead).
Emulator.ANSWERS = {
    **lacks_answers(),
    ("config", "DescribeConfigurationRecorders"): Emulator._recorders,
    ("config", "DescribeConfigurationRecorderStatus"): Emulator._recorder_status,
    ("config", "DescribeConfigurationAggregators"): _empty("ConfigurationAggregators", []),
    ("config", "SelectResourceConfig"): Emulator._select,
    ("cloudtrail", "LookupEvents"): Emulator._lookup_events,
    ("kms", "GetKeyLastUsage"): Emulator._key_last_usage,
    ("timestream", "DescribeEndpoints"): Emulator._endpoints,
    ("logs", "ListLogGroups"): Emulator._list_log_groups,
    ("logs", "DescribeLogGroups"): Emulator._describe_log_groups,
    ("kinesis", "ListStreams"): Emulator._list_streams,
    ("ssm", "DescribeParameters"): Emulator._describe_parameters,
    ("rds", "DescribeDBInstances"): lambda self, *args: Emulator._rds(self, *args, clusters=False),
    ("rds", "DescribeDBClusters"): lambda self, *args: Emulator._rds(self, *args, clusters=True),
}


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    return str(value)


def _respond(start_response: Callable[..., Any], status: int, payload: tuple[str, bytes]) -> list[bytes]:
    content_type, data = payload
    reason = {200: "OK", 400: "Bad Request"}[status]
    headers = [
        ("Content-Type", content_type),
        ("Content-Length", str(len(data))),
        ("x-amzn-RequestId", "bench"),
    ]
    if status != 200:
        error = json.loads(data).get("__type", "")
        headers.append(("x-amzn-ErrorType", error))
    start_response(f"{status} {reason}", headers)
    return [data]


def _scope(authorization: str) -> tuple[str, str]:
    """(signing name, Region) from a SigV4 ``Authorization`` header."""
    marker = "Credential="
    if marker not in authorization:
        return "", ""
    credential = authorization.split(marker, 1)[1].split(",", 1)[0]
    parts = credential.split("/")
    return (parts[3], parts[2]) if len(parts) >= 5 else ("", "")


# REST operations the hook answers, by method and path.
_REST = (
    ("POST", "/v1/domains", "ListDomains"),
    ("POST", "/EncryptionConfig", "GetEncryptionConfig"),
)


def _operation(environ: dict[str, Any], body: bytes) -> str:
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    content_type = environ.get("CONTENT_TYPE", "")
    if method == "POST" and "x-www-form-urlencoded" in content_type:
        action = parse_qs(body.decode(errors="replace")).get("Action")
        if action:
            return action[0]
    for want_method, want_path, name in _REST:
        if method == want_method and path == want_path:
            return name
    if (
        method == "GET"
        and path.startswith("/backup-vaults/")
        and path.rstrip("/").endswith("/recovery-points")
    ):
        return "ListRecoveryPointsByBackupVault"
    return f"{method} {path.split('?')[0]}"


def _trail_event(account: Account, n: int) -> dict[str, Any]:
    """A real-shaped LookupEvents record: one of a few workloads decrypting with the key."""
    roles = ("payments-api", "ledger-writer", "reports", "etl-nightly", "search-indexer")
    role = roles[n % len(roles)]
    invoked = ("secretsmanager.amazonaws.com", "s3.amazonaws.com", None, "dynamodb.amazonaws.com", None)[
        n % 5
    ]
    when = datetime(2026, 12, 1, 7, 0, tzinfo=UTC) - timedelta(seconds=37 * n)
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"AROAEXAMPLE{n % 5}:session",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/session-{n % 7}",
        "accountId": ACCOUNT,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "userName": role, "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}"}
        },
    }
    if invoked:
        identity["invokedBy"] = invoked
    name = ("Decrypt", "GenerateDataKey", "Decrypt", "Encrypt", "Decrypt")[n % 5]
    record = {
        "eventVersion": "1.10",
        "userIdentity": identity,
        "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "kms.amazonaws.com",
        "eventName": name,
        "awsRegion": account.region,
        "sourceIPAddress": invoked or "10.0.12.34",
        "userAgent": invoked or "aws-sdk-java/2.25.60",
        "requestParameters": {
            "encryptionContext": {
                "aws:lambda:FunctionArn": f"arn:aws:lambda:{account.region}:{ACCOUNT}:function:{role}"
            },
            "keyId": account.key_arn,
            "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
        },
        "responseElements": None,
        "requestID": f"req-{n:06d}",
        "eventID": f"evt-{n:06d}",
        "readOnly": True,
        "resources": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": account.key_arn}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    return {
        "EventId": f"evt-{n:06d}",
        "EventName": name,
        "ReadOnly": "true",
        "EventTime": _epoch(when),
        "EventSource": "kms.amazonaws.com",
        "Username": f"session-{n % 7}",
        "Resources": [{"ResourceType": "AWS::KMS::Key", "ResourceName": account.key_arn}],
        "CloudTrailEvent": json.dumps(record),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--regions", default="us-east-2=5000", help="region=size,...")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--config-latency-ms", type=float, default=200.0)
    parser.add_argument("--ours-every", type=int, default=10)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", action="append", default=[], metavar="service:Operation=N")
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args(argv)

    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
        }
    )
    from moto import mock_aws
    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    rates = {key: rate for key, (rate, _) in RATE_LIMITS.items()}
    for spec in args.rate:
        operation, _, value = spec.partition("=")
        service, _, name = operation.partition(":")
        rates[(service, name)] = float(value)

    mock = mock_aws()
    mock.start()  # moto's backends are module state: seeded here, served below
    started = time.perf_counter()
    accounts: dict[str, Account] = {}
    for part in args.regions.split(","):
        region, _, size = part.partition("=")
        accounts[region] = seed(region, int(size), args.ours_every, random.Random(args.seed))
    seeding = time.perf_counter() - started
    app = Emulator(
        DomainDispatcherApplication(create_backend_app),
        accounts,
        args.latency_ms / 1000,
        args.config_latency_ms / 1000,
        rates,
    )
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = make_server(HOST, args.port, app, threaded=True)
    with open(args.ready_file, "w", encoding="utf-8") as ready:
        json.dump({"port": server.server_port, "seeding_seconds": round(seeding, 1)}, ready)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
