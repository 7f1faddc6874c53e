"""The EventBridge rules in template.yaml against the KMS event table (``shared.events``).

The table is the one list of event names; the rules' patterns must route exactly what it says:
each name to the rule of its route, every name routed by name excluded from the tripwire, and the
tripwire catching the one error the responder reads as "the key's state refused the call".
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.events import KEY_DELETED, TABLE, TRIPWIRE_ERROR, Route, names
from shared.models import CLOUDTRAIL_DETAIL_TYPE
from tests.support.cfn_yaml import of_type

# The template's rule for each route that has one (the schedule has its own, pattern-less rule).
RULES = {
    Route.ALERTING: "KeyEventsRule",
    Route.LIFECYCLE: "LifecycleRule",
    Route.NATIVE: "KeyDeletedRule",
    Route.TRIPWIRE: "TripwireRule",
}


def _pattern(resources: dict[str, Any], rule: str) -> dict[str, Any]:
    pattern: dict[str, Any] = resources[rule]["Properties"]["EventPattern"]
    return pattern


def test_every_pattern_rule_in_the_template_belongs_to_a_route(resources: dict[str, Any]) -> None:
    with_patterns = {
        name
        for name, body in of_type(resources, "AWS::Events::Rule").items()
        if "EventPattern" in body["Properties"]
    }
    assert with_patterns == set(RULES.values())


@pytest.mark.parametrize("route", [Route.ALERTING, Route.LIFECYCLE])
def test_a_rule_routing_calls_by_name_names_exactly_the_tables_calls(
    resources: dict[str, Any], route: Route
) -> None:
    # Given the rule of this route
    pattern = _pattern(resources, RULES[route])

    # Then it matches KMS CloudTrail records of exactly the calls the table gives this route
    assert pattern["source"] == ["aws.kms"]
    assert pattern["detail-type"] == [CLOUDTRAIL_DETAIL_TYPE]
    assert pattern["detail"]["eventSource"] == ["kms.amazonaws.com"]
    assert set(pattern["detail"]["eventName"]) == names(route)
    assert len(pattern["detail"]["eventName"]) == len(names(route))  # no name twice


def test_the_native_rule_matches_the_tables_native_event(resources: dict[str, Any]) -> None:
    pattern = _pattern(resources, RULES[Route.NATIVE])

    assert pattern == {"source": ["aws.kms"], "detail-type": sorted(names(Route.NATIVE))}
    assert names(Route.NATIVE) == {KEY_DELETED}


def test_the_tripwire_catches_the_state_error_on_every_call_not_routed_by_name(
    resources: dict[str, Any],
) -> None:
    # Given the tripwire rule
    pattern = _pattern(resources, RULES[Route.TRIPWIRE])
    detail = pattern["detail"]

    # Then it catches the error the responder reads as a refusal for the key's state
    assert pattern["source"] == ["aws.kms"]
    assert pattern["detail-type"] == [CLOUDTRAIL_DETAIL_TYPE]
    assert detail["eventSource"] == ["kms.amazonaws.com"]
    assert detail["errorCode"] == [TRIPWIRE_ERROR]

    # And leaves out exactly the calls another rule routes, which the table says prove no workload
    (excluded,) = detail["eventName"]
    routed = {event.name for event in TABLE if event.routed}
    assert set(excluded["anything-but"]) == routed
    assert not any(event.tripwire for event in TABLE if event.name in routed)
