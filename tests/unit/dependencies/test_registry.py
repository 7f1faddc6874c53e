"""The registry is the one source of truth: IAM actions, documentation and calls derive from it."""

from __future__ import annotations

import botocore.session
import pytest
from botocore import xform_name

from shared.dependencies import EVIDENCE, REGISTRY, required_actions, resource_types
from shared.dependencies.config_index import INDEX_ACTIONS

FINDERS = {finder.name: finder for finder in REGISTRY}


def test_the_registry_covers_at_least_40_resource_types_across_25_services() -> None:
    assert len(resource_types()) >= 40
    assert len({finder.service for finder in REGISTRY}) >= 25


def test_finder_names_and_resource_types_are_unique() -> None:
    assert len(FINDERS) == len(REGISTRY)
    types = [t for finder in REGISTRY for t in finder.resource_types]
    assert len(types) == len(set(types))


def test_no_two_finders_make_the_same_call() -> None:
    calls = [(f.service, s.operation, repr(sorted(s.params.items()))) for f in REGISTRY for s in f.steps]
    assert all(s.operation[0].isupper() for f in REGISTRY for s in f.steps)
    assert len(calls) == len(set(calls))


@pytest.mark.parametrize("finder", REGISTRY, ids=lambda f: f.name)
def test_every_step_calls_a_real_operation_with_its_paginator_or_as_a_single_call(finder) -> None:
    session = botocore.session.get_session()
    model = session.get_service_model(finder.service)
    paginators = session.get_paginator_model(finder.service)._paginator_config
    for step in finder.steps:
        name = step.operation
        assert name in model.operation_names
        assert xform_name(name) == step.method
        if step.paginated and step.pagination is None:
            assert name in paginators, (
                f"{name} is not paginated in botocore: use pagination= or paginated=False"
            )
        if step.page_size and step.pagination is None:
            assert paginators[name].get("limit_key"), f"{name} takes no page size"


@pytest.mark.parametrize(
    ("finder", "action"),
    [
        ("s3-buckets", "s3:ListAllMyBuckets"),
        ("s3-buckets", "s3:GetEncryptionConfiguration"),
        ("lambda-functions", "lambda:ListFunctions"),
        ("opensearch-domains", "es:ListDomainNames"),
        ("opensearch-domains", "es:DescribeDomains"),
        ("efs-file-systems", "elasticfilesystem:DescribeFileSystems"),
        ("stepfunctions-state-machines", "states:DescribeStateMachine"),
        ("emr-security-configurations", "elasticmapreduce:DescribeSecurityConfiguration"),
        ("opensearchserverless-encryption-policies", "aoss:GetSecurityPolicy"),
        ("keyspaces-tables", "cassandra:Select"),
        ("timestream-databases", "timestream:DescribeEndpoints"),
        ("route53-dnssec-signing-keys", "route53:GetDNSSEC"),
    ],
)
def test_iam_action_names_follow_iam_not_the_operation_names(finder: str, action: str) -> None:
    assert action in FINDERS[finder].actions


def test_required_actions_are_every_finder_action_and_the_index_and_nothing_else() -> None:
    declared = {a for f in (*REGISTRY, *EVIDENCE) for a in f.actions} | set(INDEX_ACTIONS)
    assert required_actions() == declared
    assert all(":" in a and " " not in a for a in declared)
    assert not any(a.startswith("s3:ListBuckets") or a.startswith("s3:GetBucketEncryption") for a in declared)
