"""The organization sweep's resources in template.yaml: which exist when, the state machine's
definition (a paginated ListAccounts, a Distributed Map with bounded concurrency over the accounts,
the worker per account and Region, failures kept and reported), and the schedules that start it.

The definition is checked as data: moto runs Distributed Maps but cannot invoke a Lambda worker
without a container runtime, and no offline tool evaluates ASL against AWS's own interpreter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from shared.org_sweep import AggregatorRequest, SweepRequest
from tests.support.cfn_yaml import Resolver

ORG_ID = "o-abcdef1234"
ORG_ONLY = (
    "OrgSweepFunction",
    "OrgSweepLogGroup",
    "OrgSweepRole",
    "OrgReconcileSchedule",
    "OrgReminderSchedule",
    "OrgSweepScheduleRole",
    "OrgSweepFunctionErrorsAlarm",
    "OrgSweepErrorsAlarm",
    "OrgSweepMissedRunsAlarm",
)
MAP_ONLY = (
    "OrgSweepStateMachine",
    "OrgSweepStateMachineLogGroup",
    "OrgSweepStateMachineRole",
    "OrgSweepExecutionsFailedAlarm",
)
# An EXPRESS child execution runs at most five minutes
# (https://docs.aws.amazon.com/step-functions/latest/dg/choosing-workflow-type.html).
EXPRESS_LIMIT_SECONDS = 300


@pytest.fixture(scope="module")
def machine(resources: dict[str, Any]) -> dict[str, Any]:
    return resources["OrgSweepStateMachine"]["Properties"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def states(machine: dict[str, Any]) -> dict[str, Any]:
    return machine["Definition"]["States"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def sweep_map(states: dict[str, Any]) -> dict[str, Any]:
    return states["SweepAccounts"]  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("parameters", "org", "state_machine"),
    [
        ({}, False, False),
        ({"ConfigAggregatorName": "organization"}, False, False),
        ({"OrganizationId": ORG_ID}, True, True),
        ({"OrganizationId": ORG_ID, "ConfigAggregatorName": "organization"}, True, False),
    ],
)
def test_the_sweep_exists_in_organization_mode_and_the_map_only_without_an_aggregator(
    template: dict[str, Any], parameters: dict[str, str], org: bool, state_machine: bool
) -> None:
    resolver = Resolver(template, parameters)
    assert {name: resolver.resource_exists(name) for name in ORG_ONLY} == dict.fromkeys(ORG_ONLY, org)
    assert {name: resolver.resource_exists(name) for name in MAP_ONLY} == dict.fromkeys(
        MAP_ONLY, state_machine
    )


def test_accounts_are_listed_page_by_page(states: dict[str, Any]) -> None:
    first, more = states["ListAccounts"], states["ListMoreAccounts"]
    for task in (first, more):
        assert task["Resource"] == "arn:aws:states:::aws-sdk:organizations:listAccounts"
        assert task["ResultPath"] == "$.page"
        assert task["Next"] == "SweepAccounts"
        (retry,) = task["Retry"]
        assert "Organizations.TooManyRequestsException" in retry["ErrorEquals"]
    assert first["Parameters"] == {}
    assert more["Parameters"] == {"NextToken.$": "$.page.NextToken"}
    # After each page: the next one if there is one, whatever happened to this one
    choices = states["MoreAccounts"]["Choices"]
    assert choices[0] == {"Variable": "$.page.NextToken", "IsPresent": True, "Next": "ListMoreAccounts"}


def test_the_accounts_are_swept_by_a_distributed_map_with_bounded_concurrency(
    machine: dict[str, Any], states: dict[str, Any], sweep_map: dict[str, Any]
) -> None:
    assert sweep_map["Type"] == "Map"
    assert sweep_map["ItemsPath"] == "$.page.Accounts"
    assert sweep_map["ItemProcessor"]["ProcessorConfig"] == {
        "Mode": "DISTRIBUTED",
        "ExecutionType": "EXPRESS",
    }
    # MaxConcurrency is the parameter, read from the definition at the start of each execution
    assert sweep_map["MaxConcurrencyPath"] == "$.maxConcurrency"
    assert states["Prepare"]["Parameters"]["maxConcurrency.$"] == "States.StringToJson('${MaxConcurrency}')"
    assert machine["DefinitionSubstitutions"]["MaxConcurrency"] == {"Ref": "OrganizationSweepConcurrency"}
    assert "MaxConcurrency" not in sweep_map


def test_the_regions_are_the_parameter_or_this_stacks_region(
    template: dict[str, Any], machine: dict[str, Any], states: dict[str, Any]
) -> None:
    assert states["Prepare"]["Parameters"]["regions.$"] == "States.StringSplit('${Regions}', ',')"
    for given, expected in [("", "us-east-1"), ("us-east-1,eu-west-1", "us-east-1,eu-west-1")]:
        resolver = Resolver(template, {"OrganizationId": ORG_ID, "OrganizationSweepRegions": given})
        assert resolver.resolve(machine["DefinitionSubstitutions"])["Regions"] == expected


def test_only_active_accounts_are_swept(sweep_map: dict[str, Any]) -> None:
    assert sweep_map["ItemSelector"]["state.$"] == "$$.Map.Item.Value.State"  # Status is retired
    child = sweep_map["ItemProcessor"]
    assert child["StartAt"] == "IsActive"
    (choice,) = child["States"]["IsActive"]["Choices"]
    assert choice == {"Variable": "$.state", "StringEquals": "ACTIVE", "Next": "SweepRegions"}
    assert child["States"][child["States"]["IsActive"]["Default"]]["Type"] == "Succeed"


def test_each_account_and_region_is_one_invoke_of_the_worker(
    resources: dict[str, Any], machine: dict[str, Any], sweep_map: dict[str, Any]
) -> None:
    regions = sweep_map["ItemProcessor"]["States"]["SweepRegions"]
    assert regions["ItemsPath"] == "$.regions"
    assert regions["ItemProcessor"]["ProcessorConfig"] == {"Mode": "INLINE"}
    item = regions["ItemSelector"]
    (task,) = regions["ItemProcessor"]["States"].values()
    assert task["Resource"] == "arn:aws:states:::lambda:invoke"
    assert task["Parameters"] == {"FunctionName": "${WorkerArn}", "Payload.$": "$"}
    assert machine["DefinitionSubstitutions"]["WorkerArn"] == {"Fn::GetAtt": ["OrgSweepFunction", "Arn"]}
    assert resources["OrgSweepFunction"]["Properties"]["Handler"] == "handlers/org_sweep.lambda_handler"
    # The item is exactly what the worker reads
    assert item == {"account.$": "$.account", "region.$": "$$.Map.Item.Value", "sweep.$": "$.sweep"}
    assert set(SweepRequest.model_fields) == {key.removesuffix(".$") for key in item}


def test_a_child_execution_fits_the_express_limit(
    resources: dict[str, Any], sweep_map: dict[str, Any]
) -> None:
    (task,) = sweep_map["ItemProcessor"]["States"]["SweepRegions"]["ItemProcessor"]["States"].values()
    (retry,) = task["Retry"]
    timeout = resources["OrgSweepFunction"]["Properties"]["Timeout"]
    waits = sum(retry["IntervalSeconds"] * retry["BackoffRate"] ** n for n in range(retry["MaxAttempts"]))
    # Regions run in parallel: the longest child is one invoke and its retries
    assert "MaxConcurrency" not in sweep_map["ItemProcessor"]["States"]["SweepRegions"]
    assert timeout * (retry["MaxAttempts"] + 1) + waits < EXPRESS_LIMIT_SECONDS
    assert "States.ALL" not in retry["ErrorEquals"]  # a failed publish is not retried blindly


def test_failed_items_fail_the_map_run_and_the_execution_after_every_page(
    states: dict[str, Any], sweep_map: dict[str, Any]
) -> None:
    assert sweep_map["ToleratedFailurePercentage"] == 0
    (catch,) = sweep_map["Catch"]
    assert catch == {"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "MoreAccounts"}
    assert sweep_map["Next"] == "MoreAccounts"
    assert sweep_map["ResultPath"] is None
    choices = states["MoreAccounts"]["Choices"]
    assert [c["Next"] for c in choices] == ["ListMoreAccounts", "SweepFailed"]
    assert choices[1]["Variable"] == "$.failure"
    assert states["SweepFailed"]["Type"] == "Fail"
    assert states[states["MoreAccounts"]["Default"]]["Type"] == "Succeed"


def test_failed_executions_and_unswept_accounts_alarm_on_the_health_topic(resources: dict[str, Any]) -> None:
    failed = resources["OrgSweepExecutionsFailedAlarm"]["Properties"]
    assert (failed["Namespace"], failed["MetricName"]) == ("AWS/States", "ExecutionsFailed")
    assert failed["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": "OrgSweepStateMachine"}}]
    errors = resources["OrgSweepErrorsAlarm"]["Properties"]
    assert (errors["Namespace"], errors["MetricName"]) == ("KmsKeyguard", "OrgSweepErrors")
    for props in (failed, errors):
        assert props["AlarmActions"][0] == {"Ref": "HealthTopic"}
        assert (props["ComparisonOperator"], props["Threshold"]) == ("GreaterThanOrEqualToThreshold", 1)


def test_the_schedules_reuse_the_single_account_cadence(resources: dict[str, Any]) -> None:
    reconcile = resources["OrgReconcileSchedule"]["Properties"]
    reminders = resources["OrgReminderSchedule"]["Properties"]
    single = resources["ReconcileSchedule"]["Properties"]["ScheduleExpression"]
    assert reconcile["ScheduleExpression"] == single
    assert (
        reminders["ScheduleExpression"] == resources["ReminderSchedule"]["Properties"]["ScheduleExpression"]
    )
    # Each input is a request the worker (aggregator path) and the state machine both read
    for schedule, sweep in ((reconcile, "reconcile"), (reminders, "reminders")):
        payload = json.loads(schedule["Target"]["Input"])
        assert AggregatorRequest.model_validate(payload).sweep == sweep
        assert schedule["Target"]["RoleArn"] == {"Fn::GetAtt": ["OrgSweepScheduleRole", "Arn"]}


def test_a_sweep_that_stops_running_alarms(resources: dict[str, Any]) -> None:
    # The worker runs at least once a run on either path (the hub account is always an item)
    props = resources["OrgSweepMissedRunsAlarm"]["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Invocations")
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "OrgSweepFunction"}}]
    assert props["Period"] == resources["ReconcileFunctionMissedRunsAlarm"]["Properties"]["Period"]
    assert (props["ComparisonOperator"], props["Threshold"], props["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )
    assert props["EvaluationPeriods"] == props["DatapointsToAlarm"] == 2
