"""The engine: concurrency, time budget, failures recorded as unchecked, ordering and bounds."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
    UnknownEndpointError,
)
from botocore.stub import Stubber

from shared.aws import ClientFactory
from shared.dependencies import REGISTRY, discover, run_finders
from shared.dependencies.base import TIMED_OUT, DeadlineExceeded, FinderContext, Work, describe_failure
from shared.document import DependencyItem
from shared.keyref import KeyIdentity

from .conftest import ACCOUNT, FAST_FAIL, REGION, later

SESSION = boto3.Session(region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
IDENTITY = KeyIdentity(key_arn=KEY)
FINDERS = {finder.name: finder for finder in REGISTRY}


def item(name: str, resource_type: str = "AWS::SQS::Queue", region: str = REGION) -> DependencyItem:
    return DependencyItem(
        service="x",
        resource_type=resource_type,
        arn=f"arn:{name}",
        name=name,
        region=region,
        evidence="KmsKeyId = k",
    )


@dataclass
class Fake:
    """A finder whose behaviour is a function of its context."""

    behaviour: Any
    name: str = "fake"
    service: str = "fake"
    actions: tuple[str, ...] = ()
    resource_types: tuple[str, ...] = ()
    regions: list[str] = field(default_factory=list)

    def applies_to(self, region: str) -> bool:
        return True

    def find(self, ctx: FinderContext) -> Iterator[Any]:
        self.regions.append(ctx.region)
        yield from self.behaviour(ctx)


def clients() -> ClientFactory:
    return ClientFactory(SESSION, config=FAST_FAIL)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("AccessDenied", "denied: AccessDenied"),
        ("UnauthorizedOperation", "denied: UnauthorizedOperation"),
        ("ThrottlingException", "throttled: ThrottlingException (retries exhausted)"),
        ("RequestLimitExceeded", "throttled: RequestLimitExceeded (retries exhausted)"),
        ("OptInRequired", "unavailable: OptInRequired"),
        ("InternalError", "failed: InternalError"),
    ],
)
def test_a_finder_that_fails_is_unchecked_with_its_reason(code: str, reason: str) -> None:
    # Given EC2 answers DescribeVolumes with an error (and retries are exhausted after one attempt)
    factory = clients()
    with Stubber(factory.client("ec2", REGION)) as stub:
        stub.add_client_error("describe_volumes", service_error_code=code, http_status_code=400)
        # When discovery runs
        section = discover(
            IDENTITY, factory, deadline=later(), finders=[FINDERS["ebs-volumes"]], evidence=False
        )
    # Then the finder is unchecked, with the category and code, and the section is not complete
    assert section.complete is False
    assert [(u.finder, u.reason, u.region) for u in section.unchecked] == [("ebs-volumes", reason, REGION)]
    assert section.total == 0


def test_a_describe_that_is_denied_marks_its_finder_unchecked() -> None:
    # Given DynamoDB lists two tables but denies describing the second
    factory = clients()
    with Stubber(factory.client("dynamodb", REGION)) as stub:
        stub.add_response("list_tables", {"TableNames": ["aaa", "bbb"]})
        stub.add_response(
            "describe_table",
            {
                "Table": {
                    "TableName": "aaa",
                    "TableArn": "arn:aws:dynamodb:::table/aaa",
                    "SSEDescription": {"KMSMasterKeyArn": KEY},
                }
            },
        )
        stub.add_client_error("describe_table", service_error_code="AccessDeniedException")
        section = discover(
            IDENTITY,
            factory,
            deadline=later(),
            finders=[FINDERS["dynamodb-tables"]],
            evidence=False,
            max_workers=1,
        )
    # Then what was found is kept, and the finder is still reported unchecked
    assert [i.name for i in section.items] == ["aaa"]
    assert [u.reason for u in section.unchecked] == ["denied: AccessDeniedException"]
    assert section.complete is False


def test_a_resource_deleted_between_list_and_describe_is_skipped() -> None:
    factory = clients()
    with Stubber(factory.client("sqs", REGION)) as stub:
        stub.add_response("list_queues", {"QueueUrls": ["https://sqs/123456789012/gone"]})
        stub.add_client_error(
            "get_queue_attributes", service_error_code="AWS.SimpleQueueService.NonExistentQueue"
        )
        section = discover(
            IDENTITY, factory, deadline=later(), finders=[FINDERS["sqs-queues"]], evidence=False
        )
    assert section.complete is True
    assert section.total == 0


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://kafka.ap-east-2.amazonaws.com"),
        UnknownEndpointError(service_name="kafka", region_name="ap-east-2"),
    ],
    ids=["endpoint-not-reachable", "endpoint-unknown"],
)
def test_a_service_not_offered_in_the_region_is_listed_but_leaves_the_search_complete(
    error: Exception,
) -> None:
    # Given a finder whose service has no endpoint in the Region, next to one that searched fine
    def unreachable(ctx: FinderContext) -> Iterator[Any]:
        raise error
        yield

    # When discovery runs
    outcome = run_finders(
        [Fake(unreachable, name="msk-clusters"), Fake(lambda ctx: iter(()), name="sqs-queues")],
        IDENTITY,
        clients(),
        later(),
    )

    # Then the finder is still listed, as not offered, and the search counts as complete
    assert [(u.finder, u.reason, u.effect) for u in outcome.unchecked] == [
        ("msk-clusters", "unavailable: service endpoint not reachable in this region", "not-offered")
    ]
    assert outcome.complete is True


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "ListClusters"),
            "denied: AccessDeniedException",
        ),
        (
            ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "ListClusters"),
            "throttled: ThrottlingException (retries exhausted)",
        ),
        (
            ConnectTimeoutError(endpoint_url="https://kafka.us-east-1.amazonaws.com"),
            "failed: ConnectTimeoutError",
        ),
        (ReadTimeoutError(endpoint_url="https://kafka.us-east-1.amazonaws.com"), "failed: ReadTimeoutError"),
        (DeadlineExceeded(), TIMED_OUT),
    ],
    ids=["denied", "throttled", "connect-timeout", "read-timeout", "budget-exhausted"],
)
def test_a_denied_throttled_or_timed_out_finder_makes_the_search_incomplete(
    error: Exception, reason: str
) -> None:
    def failing(ctx: FinderContext) -> Iterator[Any]:
        raise error
        yield

    outcome = run_finders([Fake(failing, name="msk-clusters")], IDENTITY, clients(), later())

    assert [(u.finder, u.reason, u.effect) for u in outcome.unchecked] == [
        ("msk-clusters", reason, "incomplete")
    ]
    assert outcome.complete is False


def test_an_evidence_reader_that_fails_is_listed_but_leaves_the_search_complete() -> None:
    # Given a usage-evidence reader (not a resource search) that is denied
    @dataclass
    class Evidence(Fake):
        evidence_only: ClassVar[bool] = True

    def denied(ctx: FinderContext) -> Iterator[Any]:
        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "GetKeyLastUsage")
        yield

    outcome = run_finders([Evidence(denied, name="kms-last-usage")], IDENTITY, clients(), later())

    assert [(u.finder, u.effect) for u in outcome.unchecked] == [("kms-last-usage", "evidence-only")]
    assert outcome.complete is True


def test_a_finder_that_does_not_apply_to_the_region_is_not_run_and_not_counted() -> None:
    @dataclass
    class ElsewhereOnly(Fake):
        def applies_to(self, region: str) -> bool:
            return region == "us-east-1"

    finder = ElsewhereOnly(lambda ctx: iter(()), name="cloudfront-distributions")
    outcome = run_finders([finder], IDENTITY, clients(), later(), regions=["eu-central-1"])

    assert finder.regions == []
    assert outcome.unchecked == []
    assert outcome.complete is True


def test_a_single_call_listing_that_says_there_is_more_is_unchecked() -> None:
    factory = clients()
    with Stubber(factory.client("firehose", REGION)) as stub:
        stub.add_response(
            "list_delivery_streams", {"DeliveryStreamNames": ["a"], "HasMoreDeliveryStreams": True}
        )
        outcome = run_finders([FINDERS["firehose-delivery-streams"]], IDENTITY, factory, later())
    assert [u.reason for u in outcome.unchecked] == [
        "incomplete: the listing holds more than a single call returns"
    ]


def test_a_deadline_in_the_past_leaves_every_finder_unchecked() -> None:
    # Given the budget is already spent
    outcome = run_finders(REGISTRY[:3], IDENTITY, clients(), deadline=time.monotonic() - 1)
    # Then nothing is claimed, and every finder says it timed out
    assert outcome.complete is False
    assert {u.finder for u in outcome.unchecked} == {f.name for f in REGISTRY[:3]}
    assert {u.reason for u in outcome.unchecked} == {"timed out: discovery time budget exhausted"}


def test_a_slow_finder_times_out_while_fast_results_are_kept() -> None:
    release = threading.Event()

    def slow(ctx: FinderContext) -> Iterator[Any]:
        release.wait(5)
        yield item("late")

    def fast(ctx: FinderContext) -> Iterator[Any]:
        yield item("early")

    started = time.monotonic()
    outcome = run_finders(
        [Fake(slow, name="slow"), Fake(fast, name="fast")], IDENTITY, clients(), deadline=started + 0.3
    )
    release.set()
    assert time.monotonic() - started < 2
    assert [i.name for i in outcome.items] == ["early"]
    assert [(u.finder, u.reason) for u in outcome.unchecked] == [
        ("slow", "timed out: discovery time budget exhausted")
    ]


def test_follow_up_work_runs_on_the_same_pool_without_deadlock() -> None:
    # Given one worker and a finder whose every item needs two levels of follow-up calls
    def tree(ctx: FinderContext) -> Iterator[Any]:
        for i in range(20):
            yield Work(lambda i=i: [Work(lambda i=i: [item(f"r{i}")])])

    # When it runs with a single worker
    outcome = run_finders([Fake(tree)], IDENTITY, clients(), later(5), max_workers=1)

    # Then every follow-up ran and the discovery completed
    assert outcome.complete
    assert sorted(i.name for i in outcome.items) == sorted(f"r{i}" for i in range(20))


def test_follow_ups_run_concurrently() -> None:
    # Given 8 describes that each take 0.2 s
    def describes(ctx: FinderContext) -> Iterator[Any]:
        for i in range(8):
            yield Work(lambda i=i: (time.sleep(0.2), [item(f"r{i}")])[1])

    started = time.monotonic()
    outcome = run_finders([Fake(describes)], IDENTITY, clients(), later(), max_workers=8)
    # Then they overlap
    assert len(outcome.items) == 8
    assert time.monotonic() - started < 1.2


def test_a_crashing_finder_is_reported_not_hidden() -> None:
    def broken(ctx: FinderContext) -> Iterator[Any]:
        yield item("kept")
        raise KeyError("bug")

    outcome = run_finders([Fake(broken)], IDENTITY, clients(), later())
    assert [i.name for i in outcome.items] == ["kept"]
    assert [u.reason for u in outcome.unchecked] == ["failed: KeyError"]


def test_multi_region_keys_are_searched_in_every_replica_region() -> None:
    replica = KEY.replace(REGION, "eu-west-1")
    identity = KeyIdentity(key_arn=KEY, related_arns=frozenset({replica}))
    fake = Fake(lambda ctx: [item(f"q-{ctx.region}", region=ctx.region)])
    section = discover(identity, clients(), deadline=later(), finders=[fake], evidence=False)
    assert section.regions_searched == [REGION, "eu-west-1"]
    assert sorted(fake.regions) == sorted([REGION, "eu-west-1"])
    assert section.total == 2


def test_regional_only_finders_run_only_in_their_region() -> None:
    route53 = FINDERS["route53-dnssec-signing-keys"]
    assert route53.applies_to("us-east-1")
    assert not route53.applies_to("eu-west-1")


def test_items_are_sorted_most_critical_first_and_bounded() -> None:
    found = [
        item("queue", "AWS::SQS::Queue"),
        item("bucket", "AWS::S3::Bucket"),
        item("secret", "AWS::SecretsManager::Secret"),
        item("volume", "AWS::EC2::Volume"),
        item("db", "AWS::RDS::DBInstance"),
        item("table", "AWS::DynamoDB::Table"),
    ]
    section = discover(
        IDENTITY, clients(), deadline=later(), finders=[Fake(lambda ctx: found)], evidence=False, max_items=3
    )
    assert [i.name for i in section.items] == ["db", "table", "volume"]
    assert section.total == 6
    assert section.items_omitted == 3
    assert sum(section.counts.values()) == 6
    assert section.counts["AWS::SQS::Queue"] == 1


def test_the_same_resource_found_twice_is_one_item_with_both_evidences() -> None:
    first = item("db")
    second = first.model_copy(update={"evidence": "PerformanceInsightsKMSKeyId = k"})
    section = discover(
        IDENTITY, clients(), deadline=later(), finders=[Fake(lambda ctx: [first, second])], evidence=False
    )
    assert section.total == 1
    assert section.items[0].evidence == "KmsKeyId = k; PerformanceInsightsKMSKeyId = k"


def test_an_rds_cluster_is_attributed_to_its_engine_and_every_key_field_is_read() -> None:
    factory = clients()
    other = KEY.replace("1234abcd", "ffffffff")
    with Stubber(factory.client("rds", REGION)) as stub:
        stub.add_response(
            "describe_db_clusters",
            {
                "DBClusters": [
                    {
                        "DBClusterIdentifier": "docs",
                        "DBClusterArn": "arn:aws:rds:::cluster:docs",
                        "Engine": "docdb",
                        "KmsKeyId": other,
                        "PerformanceInsightsKMSKeyId": KEY,
                    }
                ]
            },
        )
        outcome = run_finders([FINDERS["rds-db-clusters"]], IDENTITY, factory, later())
    (found,) = outcome.items
    assert found.service == "docdb"
    assert found.evidence == f"PerformanceInsightsKMSKeyId = {KEY}"


def test_describe_failure_never_uses_message_text() -> None:
    from botocore.exceptions import ClientError

    exc = ClientError({"Error": {"Code": "AccessDenied", "Message": "secret detail"}}, "ListThings")
    assert describe_failure(exc) == "denied: AccessDenied"


def test_what_a_unit_found_before_the_deadline_is_kept_when_it_does_not_finish() -> None:
    # Given a finder that finds one resource and then blocks past the deadline (a lookup that runs
    # out of time, a listing cut short)
    release = threading.Event()

    def found_then_stuck(ctx: FinderContext) -> Iterator[Any]:
        yield item("found-early")
        release.wait(5)
        yield item("too-late")

    outcome = run_finders([Fake(found_then_stuck)], IDENTITY, clients(), deadline=time.monotonic() + 0.3)
    release.set()

    # Then what it found is reported, and it is unchecked for the rest
    assert [i.name for i in outcome.items] == ["found-early"]
    assert [(u.finder, u.reason) for u in outcome.unchecked] == [
        ("fake", "timed out: discovery time budget exhausted")
    ]


def test_an_unfinished_describe_finder_says_how_far_it_got() -> None:
    # Given a listing of 4 resources whose describes stop after the first two (the rest never end)
    release = threading.Event()

    def describes(ctx: FinderContext) -> Iterator[Any]:
        for i in range(4):
            yield Work(lambda i=i: [item(f"r{i}")] if i < 2 else (release.wait(5), [])[1])

    outcome = run_finders(
        [Fake(describes)], IDENTITY, clients(), deadline=time.monotonic() + 0.5, max_workers=4
    )
    release.set()
    (unchecked,) = outcome.unchecked
    assert unchecked.reason == "timed out: discovery time budget exhausted; 2 of 4 checked"
    assert (unchecked.checked, unchecked.listed, unchecked.limit) == (2, 4, "the discovery time budget")


def test_a_listing_with_more_describes_than_the_backlog_pauses_and_resumes() -> None:
    # Given one worker and a listing of 200 resources (the backlog allows 16 waiting describes)
    def listing(ctx: FinderContext) -> Iterator[Any]:
        for i in range(200):
            yield Work(lambda i=i: [item(f"r{i:03d}")])

    outcome = run_finders([Fake(listing)], IDENTITY, clients(), later(10), max_workers=1)

    # Then it pauses while the describes catch up, and every resource is still checked
    assert outcome.complete
    assert sorted(i.name for i in outcome.items) == [f"r{i:03d}" for i in range(200)]


def test_a_listing_cut_short_while_paused_counts_what_it_listed_so_far() -> None:
    release = threading.Event()

    def listing(ctx: FinderContext) -> Iterator[Any]:
        for i in range(100):
            yield Work(lambda i=i: (release.wait(5), [])[1])

    outcome = run_finders(
        [Fake(listing)], IDENTITY, clients(), deadline=time.monotonic() + 0.5, max_workers=1
    )
    release.set()
    (unchecked,) = outcome.unchecked
    assert "of at least" in unchecked.reason
    assert unchecked.listed is not None
    assert unchecked.listed < 100
