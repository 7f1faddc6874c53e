"""``keyguard audit``: CIS AWS Foundations v3.0.0 recommendation 4.7, region by region.

The chain the recommendation asks for, each link one check: an active multi-Region trail logging
read and write management events (KMS not excluded) -> its CloudWatch Logs group -> a metric filter
that counts DisableKey and ScheduleKeyDeletion -> an alarm on that metric with an SNS action -> a
confirmed subscription on that topic. Next to it, this project's own guard: an enabled EventBridge
rule for the two calls, a confirmed subscription on each of its topics (the alert topic and the
health topic, as its function is configured), and the keys pending deletion right now.

A subscription counts as confirmed only when ``ListSubscriptionsByTopic`` returns a subscription ARN
for it; an unconfirmed one is listed with ``SubscriptionArn`` "PendingConfirmation" and delivers
nothing (https://docs.aws.amazon.com/sns/latest/api/API_Subscription.html).

A denied call makes its check UNKNOWN (never PASS, never FAIL); the reason names the call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field

from keyguard_cli.checkers import CHECKERS, CIS_4_7_PATTERN, accepted_by, implements_4_7
from keyguard_cli.errors import aws_error_code
from shared.approval import ApprovalStatus, Verification, approval_note, parse_approval
from shared.aws import ClientFactory
from shared.config import Settings
from shared.dependencies.base import DENIED_CODES
from shared.events import Route
from shared.events import names as event_names
from shared.key_inventory import KeyInventory

Status = Literal["PASS", "FAIL", "UNKNOWN"]
CHECK_TITLES: dict[str, str] = {
    "trail": "Active multi-Region trail logging read and write management events, KMS included",
    "log-group": "The trail delivers to a CloudWatch Logs group",
    "metric-filter": "A metric filter on that group implements CIS 4.7",
    "alarm": "An alarm on the filter's metric with an SNS action",
    "notification": "The alarm's topic has a confirmed subscription",
    "eventbridge-rule": "kms-keyguard EventBridge rule present and enabled",
    "guard-topics": "kms-keyguard's alert and health topics each have a confirmed subscription",
    "pending-deletion": "No customer managed key pending deletion without a well-formed approval",
}
PROJECT_EVENT_NAMES = event_names(Route.ALERTING)  # the calls the project's alerting rule routes
ENABLED_RULE_STATES = frozenset({"ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"})
FILTER_NAME = "CIS-4.7-DisableOrScheduleDeletionOfCMK"
# Every call an audit makes (the key reads are KeyInventory's), held against the calls a run against
# moto makes and against the member discovery role's operator policy (org/member-roles.yaml) by tests.
AUDIT_ACTIONS = frozenset(
    {
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetEventSelectors",
        "cloudtrail:GetTrailStatus",
        "cloudwatch:DescribeAlarmsForMetric",
        "ec2:DescribeRegions",
        "events:ListRules",
        "events:ListTargetsByRule",
        "kms:DescribeKey",
        "kms:GetKeyRotationStatus",
        "kms:ListAliases",
        "kms:ListKeys",
        "kms:ListResourceTags",
        "logs:DescribeLogGroups",
        "logs:DescribeMetricFilters",
        "sns:ListSubscriptionsByTopic",
    }
)
# Called only where the project's rule targets its function (a single-account stack or the hub): a
# member account's rules forward to the hub's bus, so the operator policy does not need it.
FUNCTION_AUDIT_ACTIONS = frozenset({"lambda:GetFunctionConfiguration"})

# Sample management events a compliant trail must record (advanced selectors are evaluated on them).
KMS_WRITES = (
    {
        "eventCategory": "Management",
        "eventSource": "kms.amazonaws.com",
        "eventName": "DisableKey",
        "readOnly": "false",
    },
    {
        "eventCategory": "Management",
        "eventSource": "kms.amazonaws.com",
        "eventName": "ScheduleKeyDeletion",
        "readOnly": "false",
    },
)
ANY_READ = {
    "eventCategory": "Management",
    "eventSource": "ec2.amazonaws.com",
    "eventName": "DescribeInstances",
    "readOnly": "true",
}
ANY_WRITE = {
    "eventCategory": "Management",
    "eventSource": "ec2.amazonaws.com",
    "eventName": "RunInstances",
    "readOnly": "false",
}


_APPROVAL_STATUS: dict[ApprovalStatus, Literal["none", "unverified", "expired", "invalid"]] = {
    ApprovalStatus.NONE: "none",
    ApprovalStatus.APPROVED: "unverified",  # well formed; who tagged it and when is not looked up
    ApprovalStatus.EXPIRED: "expired",
    ApprovalStatus.MALFORMED: "invalid",
}


class CheckResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    title: str
    status: Status
    reason: str
    fix: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class PendingKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    arn: str
    aliases: list[str] = Field(default_factory=list)
    state: str
    deletion_date: str | None = None
    days_left: int | None = None
    approval: Literal["none", "unverified", "expired", "invalid"] = Field(
        description="the allow-deletion tag read by the responder's parser and rules (a change reference "
        "and ' until=YYYY-MM-DD' at most ApprovalMaxDays ahead): 'unverified' when well formed. The "
        "audit does not look the tagging up in CloudTrail; the responder honours an approval only when "
        "CloudTrail shows it tagged before the deletion was scheduled, by a different principal"
    )
    approval_note: str | None = Field(default=None, description="the approval, or why the tag is not one")
    cancel_command: str


class RegionAudit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str
    checks: list[CheckResult]
    pending_deletion: list[PendingKey] = Field(default_factory=list)


class AuditReport(BaseModel):
    """``keyguard audit --json``."""

    model_config = ConfigDict(extra="forbid", title="keyguard audit --json")

    schema_version: Literal["1"] = "1"
    account: str
    generated_at: str
    cis_pattern: str = Field(description="CIS v3.0.0 4.7 filter pattern, verbatim")
    checkers: list[str] = Field(description="checkers whose acceptance is reported per filter")
    regions: list[RegionAudit]
    summary: dict[Status, int]

    @property
    def statuses(self) -> list[Status]:
        return [check.status for region in self.regions for check in region.checks]


class _Unknown(Exception):
    """A call failed in a way that leaves the check undecided."""


def _why(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        code = aws_error_code(exc)
        call = exc.operation_name
        return f"{'denied' if code in DENIED_CODES else 'failed'}: {call} ({code})"
    return f"failed: {type(exc).__name__}"


def _call(fn: Callable[..., Any], **kwargs: Any) -> Any:
    try:
        return fn(**kwargs)
    except (ClientError, BotoCoreError) as exc:
        raise _Unknown(_why(exc)) from None


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    try:
        for page in client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get(key, []))
    except (ClientError, BotoCoreError) as exc:
        raise _Unknown(_why(exc)) from None
    return items


# ----- event selectors ------------------------------------------------------------------------
def _field_matches(selector: Mapping[str, Any], value: str | None) -> bool:
    if value is None:
        return False
    if selector.get("Equals") and value not in selector["Equals"]:
        return False
    if selector.get("StartsWith") and not any(value.startswith(p) for p in selector["StartsWith"]):
        return False
    if selector.get("EndsWith") and not any(value.endswith(s) for s in selector["EndsWith"]):
        return False
    if value in selector.get("NotEquals", []):
        return False
    if any(value.startswith(p) for p in selector.get("NotStartsWith", [])):
        return False
    return not any(value.endswith(s) for s in selector.get("NotEndsWith", []))


def _advanced_captures(selectors: Iterable[Mapping[str, Any]], record: Mapping[str, str]) -> bool:
    return any(
        all(_field_matches(fs, record.get(fs.get("Field", ""))) for fs in sel.get("FieldSelectors", []))
        for sel in selectors
    )


def management_coverage(response: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether the trail's selectors record read and write management events, KMS writes included."""
    advanced = response.get("AdvancedEventSelectors") or []
    if advanced:
        kms = all(_advanced_captures(advanced, r) for r in KMS_WRITES)
        read = _advanced_captures(advanced, ANY_READ)
        write = _advanced_captures(advanced, ANY_WRITE)
        kind = "advanced event selectors"
    else:
        basic = [s for s in response.get("EventSelectors") or [] if s.get("IncludeManagementEvents", True)]
        read = any(s.get("ReadWriteType", "All") in ("All", "ReadOnly") for s in basic)
        write = any(s.get("ReadWriteType", "All") in ("All", "WriteOnly") for s in basic)
        kms = any(
            s.get("ReadWriteType", "All") in ("All", "WriteOnly")
            and "kms.amazonaws.com" not in (s.get("ExcludeManagementEventSources") or [])
            for s in basic
        )
        kind = "event selectors"
    missing = [label for ok, label in ((read, "read"), (write, "write")) if not ok]
    if missing:
        return False, f"{kind} do not record {' or '.join(missing)} management events"
    if not kms:
        return False, f"{kind} exclude KMS events (kms.amazonaws.com)"
    return True, f"{kind} record read and write management events, KMS included"


def is_project_rule(pattern_text: str | None) -> bool:
    """The project's rule, whatever its name: source aws.kms and both event names (in the pattern or
    in one of its top-level "$or" branches; the other branch is the rule's heartbeat canary)."""
    if not pattern_text:
        return False
    try:
        pattern = json.loads(pattern_text)
    except ValueError:
        return False
    if not isinstance(pattern, dict):
        return False
    branches = pattern["$or"] if isinstance(pattern.get("$or"), list) else [pattern]
    return any(_alerts_on_key_events(branch) for branch in branches)


def _alerts_on_key_events(pattern: object) -> bool:
    if not isinstance(pattern, dict) or "aws.kms" not in (pattern.get("source") or []):
        return False
    detail = pattern.get("detail") or {}
    names = detail.get("eventName") if isinstance(detail, dict) else None
    return isinstance(names, list) and set(names) >= PROJECT_EVENT_NAMES


# ----- the auditor ----------------------------------------------------------------------------
class Auditor:
    def __init__(
        self,
        clients: ClientFactory,
        account: str,
        now: datetime | None = None,
        approval_max_days: int | None = None,
    ) -> None:
        self.clients = clients
        self.account = account
        self.now = now or datetime.now(UTC)
        self.allow_tag = Settings.model_fields["allow_deletion_tag_key"].default
        self.approval_max_days = approval_max_days or Settings.model_fields["approval_max_days"].default
        self._trail_cache: dict[str, tuple[bool, str]] = {}

    def run(self, regions: list[str]) -> AuditReport:
        return self.report([self.region(region) for region in regions])

    def report(self, audits: list[RegionAudit]) -> AuditReport:
        """One account's report from its audited regions (audited one by one or concurrently)."""
        summary: dict[Status, int] = {"PASS": 0, "FAIL": 0, "UNKNOWN": 0}
        for audit in audits:
            for check in audit.checks:
                summary[check.status] += 1
        return AuditReport(
            account=self.account,
            generated_at=self.now.isoformat().replace("+00:00", "Z"),
            cis_pattern=CIS_4_7_PATTERN,
            checkers=[rule.checker for rule in CHECKERS],
            regions=audits,
            summary=summary,
        )

    def region(self, region: str) -> RegionAudit:
        checks = self._cis_chain(region)
        checks.append(self._guarded(region, "eventbridge-rule", self._eventbridge_rule))
        checks.append(self._guarded(region, "guard-topics", self._guard_topics))
        pending: list[PendingKey] = []
        checks.append(self._guarded(region, "pending-deletion", lambda r: self._pending(r, pending)))
        return RegionAudit(region=region, checks=checks, pending_deletion=pending)

    @staticmethod
    def _result(
        check_id: str, status: Status, reason: str, fix: str | None = None, **details: Any
    ) -> CheckResult:
        return CheckResult(
            id=check_id, title=CHECK_TITLES[check_id], status=status, reason=reason, fix=fix, details=details
        )

    def _guarded(self, region: str, check_id: str, fn: Callable[[str], CheckResult]) -> CheckResult:
        try:
            return fn(region)
        except _Unknown as exc:
            return self._result(check_id, "UNKNOWN", str(exc))

    # --- the CIS chain ---
    def _cis_chain(self, region: str) -> list[CheckResult]:
        order = ["trail", "log-group", "metric-filter", "alarm", "notification"]
        try:
            trails = _call(
                self.clients.client("cloudtrail", region).describe_trails, includeShadowTrails=True
            ).get("trailList", [])
        except _Unknown as exc:
            head = self._result(order[0], "UNKNOWN", str(exc))
            return [head, *self._skipped(order[1:], "UNKNOWN", "the trail is unknown")]
        verdicts: list[str] = []
        chains: list[list[CheckResult]] = []
        unknown = False
        single_region: str | None = None
        selectors: str | None = None  # a multi-Region trail whose selectors miss management events
        for trail in trails:
            name = trail.get("Name") or trail.get("TrailARN", "?")
            if not trail.get("IsMultiRegionTrail"):
                verdicts.append(f"{name}: single-Region")
                single_region = single_region or name
                continue
            try:
                ok, why = self._trail_ok(trail)
            except _Unknown as exc:
                unknown = True
                verdicts.append(f"{name}: {exc}")
                continue
            verdicts.append(f"{name}: {why}")
            if ok:
                chains.append(self._chain_for(trail, why))
            else:
                selectors = selectors or name
        if chains:
            return max(chains, key=lambda chain: sum(c.status == "PASS" for c in chain))
        status: Status = "UNKNOWN" if unknown else "FAIL"
        reason = "; ".join(verdicts) if verdicts else "no trail in this region"
        if selectors:
            # The trail exists and spans every Region: only its selectors need to record management events.
            fix = (
                f"aws cloudtrail put-event-selectors --region {region} --trail-name {selectors} "
                """--event-selectors '[{"ReadWriteType":"All","IncludeManagementEvents":true}]' """
                "(or advanced selectors with eventCategory Management, kms.amazonaws.com not excluded)"
            )
        elif single_region:
            fix = (
                f"aws cloudtrail update-trail --region {region} --name {single_region} "
                "--is-multi-region-trail"
            )
        else:
            fix = (
                "aws cloudtrail create-trail --name <name> --s3-bucket-name <bucket> --is-multi-region-trail "
                "&& aws cloudtrail start-logging --name <name> (management events: ReadWriteType All, "
                "kms.amazonaws.com not excluded)"
            )
        head = self._result("trail", status, reason, fix, trails=verdicts)
        return [head, *self._skipped(order[1:], status, "no qualifying trail")]

    def _skipped(self, ids: list[str], status: Status, reason: str) -> list[CheckResult]:
        return [self._result(check_id, status, reason) for check_id in ids]

    def _trail_ok(self, trail: Mapping[str, Any]) -> tuple[bool, str]:
        arn = str(trail.get("TrailARN"))
        if arn not in self._trail_cache:
            home = trail.get("HomeRegion") or arn.split(":")[3]
            client = self.clients.client("cloudtrail", home)
            status = _call(client.get_trail_status, Name=arn)
            if not status.get("IsLogging"):
                self._trail_cache[arn] = (False, "multi-Region but not logging")
            else:
                selectors = _call(client.get_event_selectors, TrailName=arn)
                ok, why = management_coverage(selectors)
                self._trail_cache[arn] = (ok, f"multi-Region, logging; {why}")
        return self._trail_cache[arn]

    def _chain_for(self, trail: Mapping[str, Any], why: str) -> list[CheckResult]:
        name = str(trail.get("Name"))
        results = [self._result("trail", "PASS", f"{name}: {why}", trail=trail.get("TrailARN"))]
        rest = ["log-group", "metric-filter", "alarm", "notification"]
        group_arn = trail.get("CloudWatchLogsLogGroupArn")
        if not group_arn:
            fix = (
                f"aws cloudtrail update-trail --name {name} --cloud-watch-logs-log-group-arn <log group ARN> "
                "--cloud-watch-logs-role-arn <role ARN>"
            )
            results.append(
                self._result("log-group", "FAIL", f"trail {name} sends no logs to CloudWatch Logs", fix)
            )
            return results + self._skipped(rest[1:], "FAIL", "no CloudWatch Logs group")
        group = str(group_arn).split(":")[6]
        group_region = str(group_arn).split(":")[3]
        logs = self.clients.client("logs", group_region)
        try:
            found = _pages(logs, "describe_log_groups", "logGroups", logGroupNamePrefix=group)
        except _Unknown as exc:
            results.append(self._result("log-group", "UNKNOWN", str(exc)))
            return results + self._skipped(rest[1:], "UNKNOWN", "the log group is unknown")
        if not any(g.get("logGroupName") == group for g in found):
            results.append(
                self._result(
                    "log-group",
                    "FAIL",
                    f"log group {group} does not exist in {group_region}",
                    f"aws logs create-log-group --log-group-name {group} --region {group_region}",
                )
            )
            return results + self._skipped(rest[1:], "FAIL", "no CloudWatch Logs group")
        results.append(
            self._result(
                "log-group", "PASS", f"{group} ({group_region})", log_group=group, region=group_region
            )
        )
        results.extend(self._filter_alarm_topic(group, group_region))
        return results

    def _filter_alarm_topic(self, group: str, region: str) -> list[CheckResult]:
        logs = self.clients.client("logs", region)
        cloudwatch = self.clients.client("cloudwatch", region)
        filter_fix = (
            f"aws logs put-metric-filter --region {region} --log-group-name {group} --filter-name "
            f"{FILTER_NAME} --metric-transformations metricName={FILTER_NAME},"
            f"metricNamespace=CISBenchmark,metricValue=1 --filter-pattern '{CIS_4_7_PATTERN}'"
        )
        try:
            filters = _pages(logs, "describe_metric_filters", "metricFilters", logGroupName=group)
        except _Unknown as exc:
            return [
                self._result("metric-filter", "UNKNOWN", str(exc)),
                *self._skipped(["alarm", "notification"], "UNKNOWN", "the metric filter is unknown"),
            ]
        described: list[dict[str, Any]] = []
        alarms_by_filter: dict[str, list[dict[str, Any]]] = {}
        alarm_error: str | None = None
        for flt in filters:
            pattern = str(flt.get("filterPattern", ""))
            ok, why = implements_4_7(pattern)
            alarms: list[dict[str, Any]] = []
            if ok:
                for transformation in flt.get("metricTransformations", []):
                    try:
                        alarms.extend(
                            _call(
                                cloudwatch.describe_alarms_for_metric,
                                MetricName=transformation["metricName"],
                                Namespace=transformation["metricNamespace"],
                            ).get("MetricAlarms", [])
                        )
                    except _Unknown as exc:
                        alarm_error = str(exc)
                alarms_by_filter[str(flt.get("filterName"))] = alarms
            metric_names = {str(a.get("MetricName")) for a in alarms}
            described.append(
                {
                    "name": flt.get("filterName"),
                    "pattern": pattern,
                    "implements_4_7": ok,
                    "reason": why,
                    "accepted_by": accepted_by(pattern, flt.get("filterName"), metric_names),
                }
            )
        good = [d for d in described if d["implements_4_7"]]
        if not good:
            reason = (
                f"no metric filter on {group}"
                if not described
                else "; ".join(f"{d['name']}: {d['reason']}" for d in described)
            )
            return [
                self._result("metric-filter", "FAIL", reason, filter_fix, filters=described),
                *self._skipped(["alarm", "notification"], "FAIL", "no CIS 4.7 metric filter"),
            ]
        names = ", ".join(str(d["name"]) for d in good)
        results = [
            self._result(
                "metric-filter",
                "PASS",
                f"{names} counts DisableKey and ScheduleKeyDeletion",
                filters=described,
            )
        ]
        results.extend(self._alarm_and_topic(alarms_by_filter, alarm_error, region))
        return results

    def _alarm_and_topic(
        self, alarms_by_filter: dict[str, list[dict[str, Any]]], alarm_error: str | None, region: str
    ) -> list[CheckResult]:
        alarm_fix = (
            f"aws cloudwatch put-metric-alarm --region {region} --alarm-name {FILTER_NAME} --metric-name "
            f"{FILTER_NAME} --namespace CISBenchmark --statistic Sum --period 300 --threshold 1 "
            "--comparison-operator GreaterThanOrEqualToThreshold --evaluation-periods 1 "
            "--alarm-actions <SNS topic ARN>"
        )
        problems: list[str] = []
        topics: dict[str, str] = {}
        for filter_name, alarms in alarms_by_filter.items():
            if not alarms:
                problems.append(f"no alarm on the metric of {filter_name}")
            for alarm in alarms:
                sns_actions = [
                    a for a in alarm.get("AlarmActions", []) if str(a).startswith("arn:aws") and ":sns:" in a
                ]
                if not sns_actions:
                    problems.append(f"alarm {alarm.get('AlarmName')} has no SNS action")
                elif alarm.get("ActionsEnabled") is False:
                    problems.append(f"alarm {alarm.get('AlarmName')} has its actions disabled")
                else:
                    for topic in sns_actions:
                        topics.setdefault(topic, str(alarm.get("AlarmName")))
        if not topics:
            status: Status = "UNKNOWN" if alarm_error else "FAIL"
            reason = alarm_error or "; ".join(problems)
            return [
                self._result("alarm", status, reason, alarm_fix),
                self._result("notification", status, "no alarm with an SNS action"),
            ]
        alarm_names = ", ".join(sorted(set(topics.values())))
        results = [
            self._result(
                "alarm", "PASS", f"{alarm_names} notifies {', '.join(sorted(topics))}", topics=sorted(topics)
            )
        ]
        confirmed: list[str] = []
        notes: list[str] = []
        unknown: str | None = None
        for topic in sorted(topics):
            try:
                ok, text = self._subscriptions(topic)
            except _Unknown as exc:
                unknown = str(exc)
                continue
            (confirmed if ok else notes).append(text)
        if confirmed:
            results.append(self._result("notification", "PASS", "; ".join(confirmed)))
        elif unknown:
            results.append(self._result("notification", "UNKNOWN", unknown))
        else:
            topic = sorted(topics)[0]
            results.append(
                self._result(
                    "notification",
                    "FAIL",
                    "; ".join(notes),
                    f"aws sns subscribe --topic-arn {topic} --protocol email "
                    "--notification-endpoint <address>, then confirm it",
                )
            )
        return results

    def _subscriptions(self, topic: str) -> tuple[bool, str]:
        """Whether ``topic`` has a confirmed subscription, and the words for the report."""
        sns = self.clients.client("sns", topic.split(":")[3])
        subs = _pages(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=topic)
        live = [s for s in subs if str(s.get("SubscriptionArn", "")).startswith("arn:")]
        name = topic.rsplit(":", 1)[-1]
        if live:
            protocols = ", ".join(sorted({str(s.get("Protocol")) for s in live}))
            return True, f"{name} ({len(live)} confirmed: {protocols})"
        pending = sum(s.get("SubscriptionArn") == "PendingConfirmation" for s in subs)
        return False, f"{name} has no confirmed subscription" + (
            f" ({pending} pending confirmation)" if pending else ""
        )

    # --- this project's guard ---
    def _project_rules(self, region: str) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
        events = self.clients.client("events", region)
        rules = _pages(events, "list_rules", "Rules")
        return events, rules, [r for r in rules if is_project_rule(r.get("EventPattern"))]

    def _guard_topics(self, region: str) -> CheckResult:
        """The topics the project's function publishes to (``ALERT_TOPIC_ARN``, ``HEALTH_TOPIC_ARN``
        in its configuration), each with a confirmed subscription."""
        events, _, ours = self._project_rules(region)
        if not ours:
            return self._result("guard-topics", "FAIL", "no kms-keyguard rule, so no function to ask")
        targets = [
            str(target.get("Arn", ""))
            for rule in ours
            for target in _pages(events, "list_targets_by_rule", "Targets", Rule=str(rule.get("Name")))
        ]
        functions = sorted({arn for arn in targets if ":lambda:" in arn and ":function:" in arn})
        buses = sorted({arn for arn in targets if ":events:" in arn and ":event-bus/" in arn})
        if not functions and buses:
            # A member account of an organization deployment: its rules forward to the hub's bus, and
            # the topics are the hub's (audited in the hub account).
            return self._result(
                "guard-topics",
                "PASS",
                f"the kms-keyguard rule forwards to {', '.join(buses)}: the topics are the hub's, "
                "audited in the hub account",
                topics=[],
            )
        if not functions:
            return self._result(
                "guard-topics",
                "UNKNOWN",
                "the kms-keyguard rule targets no function in this account (a member account forwards to "
                "the hub: audit the hub account)",
            )
        topics: dict[str, str] = {}
        for function in functions:
            lam = self.clients.client("lambda", function.split(":")[3])
            config = _call(lam.get_function_configuration, FunctionName=function)
            variables = (config.get("Environment") or {}).get("Variables") or {}
            for variable in ("ALERT_TOPIC_ARN", "HEALTH_TOPIC_ARN"):
                if variables.get(variable):
                    topics.setdefault(str(variables[variable]), variable)
        if not topics:
            return self._result("guard-topics", "UNKNOWN", "the function names no alert or health topic")
        confirmed: list[str] = []
        missing: list[tuple[str, str]] = []  # (topic, what the report says)
        for topic, variable in sorted(topics.items(), key=lambda kv: kv[1]):
            ok, text = self._subscriptions(topic)
            if ok:
                confirmed.append(f"{variable}: {text}")
            else:
                missing.append((topic, f"{variable}: {text}"))
        if missing:
            return self._result(
                "guard-topics",
                "FAIL",
                "; ".join(text for _, text in missing),
                f"aws sns subscribe --topic-arn {missing[0][0]} --protocol email "
                "--notification-endpoint <address>, then confirm it",
                topics=sorted(topics),
            )
        return self._result("guard-topics", "PASS", "; ".join(confirmed), topics=sorted(topics))

    def _eventbridge_rule(self, region: str) -> CheckResult:
        events, rules, ours = self._project_rules(region)
        fix = f"deploy kms-keyguard in {region}: sam deploy --region {region}"
        if not ours:
            return self._result(
                "eventbridge-rule",
                "FAIL",
                f"no rule matches source aws.kms with DisableKey and ScheduleKeyDeletion "
                f"({len(rules)} rules on the default bus)",
                fix,
            )
        problems: list[str] = []
        for rule in ours:
            name = str(rule.get("Name"))
            if rule.get("State") not in ENABLED_RULE_STATES:
                problems.append(f"{name} is {rule.get('State')}")
                continue
            targets = _pages(events, "list_targets_by_rule", "Targets", Rule=name)
            if not targets:
                problems.append(f"{name} has no targets")
                continue
            return self._result(
                "eventbridge-rule",
                "PASS",
                f"{name} is {rule.get('State')} with {len(targets)} target(s)",
                rule=rule.get("Arn"),
            )
        return self._result(
            "eventbridge-rule",
            "FAIL",
            "; ".join(problems),
            f"aws events enable-rule --region {region} --name {ours[0].get('Name')}",
        )

    def _pending(self, region: str, out: list[PendingKey]) -> CheckResult:
        kms = self.clients.client("kms", region)
        inventory = KeyInventory(self.clients, clock=lambda: self.now)
        for entry in _pages(kms, "list_keys", "Keys"):
            metadata = _call(kms.describe_key, KeyId=entry["KeyId"])["KeyMetadata"]
            if metadata.get("KeyManager") != "CUSTOMER" or metadata.get("KeyState") not in (
                "PendingDeletion",
                "PendingReplicaDeletion",
            ):
                continue
            snapshot = inventory.read(str(metadata["Arn"]), region)
            deletion = snapshot.deletion_date
            approval = parse_approval(
                (snapshot.tags or {}).get(self.allow_tag), self.now.date(), max_days=self.approval_max_days
            )
            if approval.approved:
                approval = approval.checked(
                    Verification.NOT_CHECKED, "the audit does not look the tagging up in CloudTrail"
                )
            out.append(
                PendingKey(
                    arn=str(metadata["Arn"]),
                    aliases=snapshot.aliases or [],
                    state=str(snapshot.state or metadata.get("KeyState")),
                    deletion_date=deletion.isoformat().replace("+00:00", "Z") if deletion else None,
                    days_left=snapshot.days_until_deletion(self.now),
                    approval=_APPROVAL_STATUS[approval.status],
                    approval_note=approval_note(approval, self.allow_tag),
                    cancel_command=(
                        f"aws kms cancel-key-deletion --key-id {snapshot.key_id} --region {region}"
                    ),
                )
            )
        out.sort(key=lambda key: (key.days_left is None, key.days_left or 0))
        unapproved = [key for key in out if key.approval != "unverified"]
        if not out:
            return self._result("pending-deletion", "PASS", "no customer managed key is pending deletion")
        described = "; ".join(
            f"{(key.aliases or [key.arn.rsplit('/', 1)[-1]])[0]} in "
            f"{key.days_left if key.days_left is not None else '?'} days"
            + ("" if key.approval != "unverified" else " (approval unverified)")
            for key in out
        )
        if not unapproved:
            return self._result(
                "pending-deletion",
                "PASS",
                f"{len(out)} pending, each with a well-formed approval (unverified: the audit does not "
                f"check CloudTrail for who tagged it and when): {described}",
            )
        return self._result(
            "pending-deletion",
            "FAIL",
            f"{len(unapproved)} of {len(out)} pending without a well-formed {self.allow_tag}: {described}",
            unapproved[0].cancel_command + " (to approve the deletion instead: cancel it, have a principal "
            f"other than the one who schedules it tag the key {self.allow_tag}='<change reference> "
            "until=YYYY-MM-DD', and schedule it again; a key pending deletion cannot be tagged)",
        )
