"""The KMS event table, row by row, and what the rest of the project reads from it."""

from __future__ import annotations

import pytest

from shared.events import (
    IMPORTED_MATERIAL_EXPIRED,
    KEY_DELETED,
    REMINDER,
    TABLE,
    Action,
    Kind,
    Route,
    SeverityRule,
    kms_event,
    names,
    tamper_call,
)
from shared.policy import is_tripwire, transition_state

R, K, S, A = Route, Kind, SeverityRule, Action


@pytest.mark.parametrize(
    ("name", "route", "kind", "rule", "remedy", "leaves", "tripwire"),
    [
        (
            "ScheduleKeyDeletion",
            R.ALERTING,
            K.ALERT,
            S.DELETION_SCHEDULED,
            Action.CANCEL_DELETION,
            None,
            False,
        ),
        ("DisableKey", R.ALERTING, K.ALERT, S.KEY_DISABLED, Action.ENABLE_KEY, "Disabled", False),
        ("CancelKeyDeletion", R.LIFECYCLE, K.RESOLVED, S.RESTORED, Action.NONE, "Disabled", False),
        ("EnableKey", R.LIFECYCLE, K.RESOLVED, S.RESTORED, Action.NONE, "Enabled", False),
        ("DeleteImportedKeyMaterial", R.LIFECYCLE, K.ALERT, S.MATERIAL_DELETED, Action.NONE, None, False),
        ("PutKeyPolicy", R.LIFECYCLE, K.ALERT, S.POLICY_CHANGED, Action.NONE, None, False),
        (KEY_DELETED, R.NATIVE, K.DELETED, S.KEY_DELETED, Action.NONE, None, True),
        (REMINDER, R.SCHEDULE, K.REMINDER, S.REMINDER, Action.NONE, None, True),
        ("CreateKey", R.TRIPWIRE, K.ALERT, S.OTHER, Action.NONE, "Enabled", True),
        ("ImportKeyMaterial", R.TRIPWIRE, K.ALERT, S.OTHER, Action.NONE, "Enabled", False),
        ("TagResource", R.LIFECYCLE, K.ALERT, S.TAG_CHANGED, Action.NONE, None, False),
        ("UntagResource", R.LIFECYCLE, K.ALERT, S.TAG_CHANGED, Action.NONE, None, False),
        ("DisconnectCustomKeyStore", R.LIFECYCLE, K.ALERT, S.KEY_STORE_CHANGED, Action.NONE, None, False),
        (IMPORTED_MATERIAL_EXPIRED, R.NATIVE, K.ALERT, S.MATERIAL_DELETED, Action.NONE, None, False),
        ("DeleteExpiredKeyMaterial", R.NATIVE, K.ALERT, S.MATERIAL_DELETED, Action.NONE, None, False),
        ("DescribeKey", R.TRIPWIRE, K.ALERT, S.OTHER, Action.NONE, None, False),
        ("GetKeyPolicy", R.TRIPWIRE, K.ALERT, S.OTHER, Action.NONE, None, False),
        # not in the table: an ordinary call, a tripwire when the key's state refuses it
        ("Decrypt", R.TRIPWIRE, K.ALERT, S.OTHER, Action.NONE, None, True),
        ("GenerateDataKey", R.TRIPWIRE, K.ALERT, S.OTHER, Action.NONE, None, True),
    ],
)
def test_event_row(
    name: str,
    route: Route,
    kind: Kind,
    rule: SeverityRule,
    remedy: Action,
    leaves: str | None,
    tripwire: bool,
) -> None:
    event = kms_event(name)

    assert (event.route, event.kind, event.severity, event.remedy) == (route, kind, rule, remedy)
    assert (event.leaves, event.tripwire) == (leaves, tripwire)


def test_each_name_has_one_row() -> None:
    all_names = [event.name for event in TABLE]
    assert len(all_names) == len(set(all_names))


def test_the_routes_name_the_calls_the_rules_deliver() -> None:
    assert names(Route.ALERTING) == {"DisableKey", "ScheduleKeyDeletion"}
    assert names(Route.LIFECYCLE) == {
        "CancelKeyDeletion",
        "EnableKey",
        "DeleteImportedKeyMaterial",
        "PutKeyPolicy",
        "DisconnectCustomKeyStore",
        "DeleteCustomKeyStore",
        "UpdateCustomKeyStore",
        "TagResource",
        "UntagResource",
    }
    assert names(Route.NATIVE) == {KEY_DELETED, IMPORTED_MATERIAL_EXPIRED, "DeleteExpiredKeyMaterial"}


@pytest.mark.parametrize(
    ("source", "name", "route"),
    [
        ("cloudtrail.amazonaws.com", "StopLogging", Route.TAMPER_TRAIL),
        ("events.amazonaws.com", "DeleteRule", Route.TAMPER_TRAIL),
        ("lambda.amazonaws.com", "DeleteFunction20150331", Route.TAMPER_COMPUTE),
        ("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", Route.TAMPER_COMPUTE),
        ("sqs.amazonaws.com", "PurgeQueue", Route.TAMPER_COMPUTE),
        ("sns.amazonaws.com", "Unsubscribe", Route.TAMPER_ALERTING),
        ("logs.amazonaws.com", "DeleteMetricFilter", Route.TAMPER_ALERTING),
    ],
)
def test_a_tamper_call_is_found_by_its_service_and_name(source: str, name: str, route: Route) -> None:
    row = tamper_call(source, name)
    assert row is not None
    assert row.route is route


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("lambda.amazonaws.com", "Invoke"),
        ("cloudtrail.amazonaws.com", "LookupEvents"),
        ("sns.amazonaws.com", "Publish"),
        ("kms.amazonaws.com", "DeleteTable"),  # right name, wrong service
    ],
)
def test_reads_and_other_services_calls_are_not_tamper_calls(source: str, name: str) -> None:
    assert tamper_call(source, name) is None


def test_a_call_a_rule_routes_by_name_is_never_a_tripwire() -> None:
    # The tripwire rule excludes them (anything-but), and the responder must agree.
    for event in TABLE:
        if event.routed:
            assert not event.tripwire, event.name


def test_every_event_remediation_undoes_is_one_the_alerting_rule_routes() -> None:
    for event in TABLE:
        if event.remedy is not Action.NONE:
            assert event.route is Route.ALERTING, event.name


def test_every_restoring_event_is_a_routed_follow_up_that_leaves_a_state() -> None:
    for event in TABLE:
        if event.kind is Kind.RESOLVED:
            assert event.route is Route.LIFECYCLE, event.name
            assert event.leaves, event.name
            assert event.severity is SeverityRule.RESTORED, event.name


@pytest.mark.parametrize(
    ("name", "template"),
    [(event.name, event.headline) for event in TABLE if event.headline],
)
def test_headlines_name_the_key(name: str, template: str) -> None:
    assert "{label}" in template, name
    assert template.format(label="alias/x", state="Disabled", when="in 7 days")


@pytest.mark.parametrize(
    ("name", "error", "state", "expected"),
    [
        ("Decrypt", "KMSInvalidStateException", "PendingDeletion", True),
        ("GenerateDataKey", "KMSInvalidStateException", "Disabled", True),
        ("Decrypt", "KMSInvalidStateException", "Enabled", False),  # refused for another reason
        ("Decrypt", "AccessDeniedException", "PendingDeletion", False),
        ("DescribeKey", "KMSInvalidStateException", "PendingDeletion", False),  # a tool's read
        ("DisableKey", "KMSInvalidStateException", "PendingDeletion", False),  # routed by name
        ("TagResource", "KMSInvalidStateException", "PendingDeletion", False),
    ],
)
def test_tripwire_reads_the_table(name: str, error: str, state: str, expected: bool) -> None:
    assert is_tripwire(name, error, state) is expected


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("CreateKey", "Enabled"),
        ("EnableKey", "Enabled"),
        ("ImportKeyMaterial", "Enabled"),
        ("DisableKey", "Disabled"),
        ("CancelKeyDeletion", "Disabled"),
        ("ScheduleKeyDeletion", None),
        ("Decrypt", None),
    ],
)
def test_transition_state_reads_the_table(name: str, state: str | None) -> None:
    assert transition_state(name) == state
