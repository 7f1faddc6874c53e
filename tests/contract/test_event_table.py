"""The EventBridge rules in template.yaml against the event tables (``shared.events``).

The tables are the one list of event names; the rules' patterns must route exactly what they say:
each KMS name to the rule of its route (tag changes only for the protect and approval tags), every
name routed by name excluded from the tripwire, the tripwire catching exactly the errors the
responder reads as "the key's state refused the call", each tamper call to the tamper rule of its
route filtered on the request field the table names, and every pattern rule carrying exactly one
heartbeat branch for its own canary.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.config import HEARTBEAT_DETAIL_TYPE, HEARTBEAT_SOURCE
from shared.events import (
    KEY_DELETED,
    TABLE,
    TAMPER_ROUTES,
    TAMPER_TABLE,
    TRIPWIRE_ERRORS,
    Route,
    names,
)
from shared.models import CLOUDTRAIL_DETAIL_TYPE
from tests.support.cfn_yaml import of_type

# The template's rule for each route that has one (the schedules have their own, pattern-less rules).
RULES = {
    Route.ALERTING: "KeyEventsRule",
    Route.LIFECYCLE: "LifecycleRule",
    Route.NATIVE: "KeyDeletedRule",
    Route.TRIPWIRE: "TripwireRule",
    Route.TAMPER_TRAIL: "TamperTrailRule",
    Route.TAMPER_COMPUTE: "TamperComputeRule",
    Route.TAMPER_ALERTING: "TamperAlertingRule",
}
TAG_KEYS = [{"Ref": "ProtectTagKey"}, {"Ref": "AllowDeletionTagKey"}]


def _pattern(resources: dict[str, Any], rule: str) -> dict[str, Any]:
    pattern: dict[str, Any] = resources[rule]["Properties"]["EventPattern"]
    return pattern


def _split(resources: dict[str, Any], rule: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rule's branches: (those matching AWS events, those matching heartbeat canaries)."""
    pattern = _pattern(resources, rule)
    assert set(pattern) == {"$or"}, f"{rule}: a top-level $or of event and heartbeat branches"
    branches: list[dict[str, Any]] = pattern["$or"]
    canary = [b for b in branches if b["source"] == [HEARTBEAT_SOURCE]]
    return [b for b in branches if b not in canary], canary


def _detail_branches(branch: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives of a branch's detail, with the fields outside a nested $or folded in."""
    detail = dict(branch["detail"])
    nested = detail.pop("$or", None)
    if nested is None:
        return [detail]
    return [{**detail, **alternative} for alternative in nested]


def test_every_pattern_rule_in_the_template_belongs_to_a_route(resources: dict[str, Any]) -> None:
    with_patterns = {
        name
        for name, body in of_type(resources, "AWS::Events::Rule").items()
        if "EventPattern" in body["Properties"] and "EventBusName" not in body["Properties"]
    }
    assert with_patterns == set(RULES.values())


@pytest.mark.parametrize("rule", sorted(RULES.values()))
def test_every_pattern_rule_has_exactly_its_own_heartbeat_branch(
    resources: dict[str, Any], rule: str
) -> None:
    _, canary = _split(resources, rule)
    assert canary == [
        {
            "source": [HEARTBEAT_SOURCE],
            "detail-type": [HEARTBEAT_DETAIL_TYPE],
            "detail": {"stack": [{"Ref": "AWS::StackName"}], "rule": [rule]},
        }
    ]


def test_the_alerting_rule_names_exactly_the_tables_calls(resources: dict[str, Any]) -> None:
    (branch,), _ = _split(resources, RULES[Route.ALERTING])

    assert branch["source"] == ["aws.kms"]
    assert branch["detail-type"] == [CLOUDTRAIL_DETAIL_TYPE]
    assert branch["detail"]["eventSource"] == ["kms.amazonaws.com"]
    assert set(branch["detail"]["eventName"]) == names(Route.ALERTING)
    assert len(branch["detail"]["eventName"]) == len(names(Route.ALERTING))  # no name twice


def test_the_lifecycle_rule_names_exactly_the_tables_calls(resources: dict[str, Any]) -> None:
    # Given the lifecycle rule's alternatives
    (branch,), _ = _split(resources, RULES[Route.LIFECYCLE])
    assert branch["source"] == ["aws.kms"]
    assert branch["detail-type"] == [CLOUDTRAIL_DETAIL_TYPE]
    alternatives = _detail_branches(branch)
    assert all(alt["eventSource"] == ["kms.amazonaws.com"] for alt in alternatives)

    # Then the calls routed whatever their request are exactly the table's untagged rows
    plain = [alt for alt in alternatives if "requestParameters" not in alt]
    (untagged,) = plain
    expected = {e.name for e in TABLE if e.route is Route.LIFECYCLE and e.tag_field is None}
    assert set(untagged["eventName"]) == expected
    assert len(untagged["eventName"]) == len(expected)

    # And each tag call is routed only when its request names the protect or approval tag
    tagged = {
        alt["eventName"][0]: alt["requestParameters"] for alt in alternatives if "requestParameters" in alt
    }
    rows = {e.name: e.tag_field for e in TABLE if e.route is Route.LIFECYCLE and e.tag_field}
    assert set(tagged) == set(rows)
    for name, field in rows.items():
        assert field is not None
        value: Any = tagged[name]
        for part in field.split("."):
            assert set(value) == {part}
            value = value[part]
        assert value == TAG_KEYS


def test_the_native_rule_matches_the_tables_native_events(resources: dict[str, Any]) -> None:
    branches, _ = _split(resources, RULES[Route.NATIVE])
    native = [e for e in TABLE if e.route is Route.NATIVE]
    assert all(event.detail_type for event in native)

    # KMS's own events, matched on their detail-type
    by_type = sorted(e.name for e in native if e.detail_type == e.name)
    # CloudTrail service events, matched by name inside their detail-type
    in_records: dict[str, list[str]] = {}
    for event in native:
        if event.detail_type != event.name:
            in_records.setdefault(str(event.detail_type), []).append(event.name)
    expected = [{"source": ["aws.kms"], "detail-type": by_type}] + [
        {
            "source": ["aws.kms"],
            "detail-type": [detail_type],
            "detail": {"eventSource": ["kms.amazonaws.com"], "eventName": event_names},
        }
        for detail_type, event_names in in_records.items()
    ]
    assert sorted(branches, key=str) == sorted(expected, key=str)
    assert KEY_DELETED in by_type


def test_the_tripwire_catches_the_state_errors_on_every_call_not_routed_by_name(
    resources: dict[str, Any],
) -> None:
    # Given the tripwire rule
    (branch,), _ = _split(resources, RULES[Route.TRIPWIRE])
    detail = branch["detail"]

    # Then it catches the errors the responder reads as a refusal for the key's state
    assert branch["source"] == ["aws.kms"]
    assert branch["detail-type"] == [CLOUDTRAIL_DETAIL_TYPE]
    assert detail["eventSource"] == ["kms.amazonaws.com"]
    assert set(detail["errorCode"]) == TRIPWIRE_ERRORS
    assert len(detail["errorCode"]) == len(TRIPWIRE_ERRORS)

    # And leaves out exactly the calls another rule routes, which the table says prove no workload
    (excluded,) = detail["eventName"]
    routed = {event.name for event in TABLE if event.routed}
    assert set(excluded["anything-but"]) == routed
    assert len(excluded["anything-but"]) == len(routed)
    assert not any(event.tripwire for event in TABLE if event.name in routed)


@pytest.mark.parametrize("route", sorted(TAMPER_ROUTES))
def test_a_tamper_rule_routes_exactly_the_tables_calls(resources: dict[str, Any], route: Route) -> None:
    # Given the tamper rule of this route
    (branch,), _ = _split(resources, RULES[route])
    rows = [row for row in TAMPER_TABLE if row.route is route]

    # Then it takes API calls from exactly the services of the table's rows
    assert branch["detail-type"] == [CLOUDTRAIL_DETAIL_TYPE]
    assert sorted(branch["source"]) == sorted({row.source for row in rows})

    # And each alternative is one row: its service, its names (prefixes where CloudTrail records
    # an API-version suffix), filtered on the request field the row says names the resource
    def from_template(alt: dict[str, Any]) -> tuple[str, tuple[str, ...], bool, str | None]:
        (event_source,) = alt["eventSource"]
        prefix = all(isinstance(n, dict) for n in alt["eventName"])
        called = tuple(n["prefix"] if prefix else n for n in alt["eventName"])
        fields = list(alt.get("requestParameters", {}))
        assert len(fields) <= 1
        return event_source, called, prefix, fields[0] if fields else None

    template_rows = sorted(from_template(alt) for alt in _detail_branches(branch))
    table_rows = sorted((row.event_source, row.names, row.prefix, row.resource_field) for row in rows)
    assert template_rows == table_rows
