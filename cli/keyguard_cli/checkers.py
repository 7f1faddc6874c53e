"""How well-known compliance checkers recognise a CIS 4.7 metric filter, as data.

Each checker compares the *text* of the metric filter pattern its own way; a filter that counts the
right events can still fail a checker that wants different spacing. One row per checker; the rule
kinds are evaluated by ``accepts``. Sources (read 2026-11): Security Hub CloudWatch.7 documentation
("custom logic to perform the exact audit steps" of the CIS benchmark), Prowler
``cloudwatch_log_metric_filter_disable_or_scheduled_deletion_of_kms_cmk`` (``re.search`` with
DOTALL), Steampipe AWS Compliance ``log_metric_filter_disable_or_delete_cmk`` (PostgreSQL ``~``),
Trivy ``AWS-0153`` (whitespace removed, substring), ScoutSuite ``logs-no-alarm-cmk-deletion``
(string equality with its own spacing).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from keyguard_cli.filter_pattern import PatternError, compile_pattern

# CIS AWS Foundations Benchmark v3.0.0, recommendation 4.7, remediation step 1 (verbatim).
CIS_4_7_PATTERN = (
    "{($.eventSource = kms.amazonaws.com) && (($.eventName=DisableKey)||($.eventName=ScheduleKeyDeletion)) }"
)

# The CloudTrail records the filter must count (and a write call it need not).
MUST_MATCH = (
    {"eventSource": "kms.amazonaws.com", "eventName": "DisableKey", "readOnly": False},
    {"eventSource": "kms.amazonaws.com", "eventName": "ScheduleKeyDeletion", "readOnly": False},
)

RuleKind = Literal["exact", "regex", "squeezed-substring"]


@dataclass(frozen=True)
class CheckerRule:
    checker: str
    control: str
    kind: RuleKind
    value: str
    note: str = ""
    alarm_metric_must_equal_filter_name: bool = False

    def accepts(self, pattern: str) -> bool:
        if self.kind == "exact":
            return pattern == self.value
        if self.kind == "regex":
            return re.search(self.value, pattern, re.DOTALL) is not None
        squeeze = re.compile(r"[\n\t\r ]+")
        return squeeze.sub("", self.value) in squeeze.sub("", pattern)


CHECKERS: tuple[CheckerRule, ...] = (
    CheckerRule(
        checker="security-hub",
        control="CloudWatch.7",
        kind="exact",
        value=CIS_4_7_PATTERN,
        note="the exact CIS text; added terms or other spacing fail",
    ),
    CheckerRule(
        checker="prowler",
        control="cloudwatch_log_metric_filter_disable_or_scheduled_deletion_of_kms_cmk",
        kind="regex",
        value=(
            r"\$\.eventSource\s*=\s*.?kms.amazonaws.com.+\$\.eventName\s*=\s*.?DisableKey.+"
            r"\$\.eventName\s*=\s*.?ScheduleKeyDeletion.?"
        ),
        note="regex; eventSource, then DisableKey, then ScheduleKeyDeletion, in that order",
    ),
    CheckerRule(
        checker="steampipe",
        control="log_metric_filter_disable_or_delete_cmk",
        kind="regex",
        value=(
            r"\s*\$\.eventSource\s*=\s*kms.amazonaws.com.+\$\.eventName\s*=\s*DisableKey.+"
            r"\$\.eventName\s*=\s*ScheduleKeyDeletion"
        ),
        note="regex; unquoted values, in that order",
    ),
    CheckerRule(
        checker="trivy",
        control="AWS-0153",
        kind="squeezed-substring",
        value=(
            "{($.eventSource=kms.amazonaws.com) && "
            "(($.eventName=DisableKey) || ($.eventName=ScheduleKeyDeletion))}"
        ),
        note="whitespace ignored, the CIS expression as a substring; alarm MetricName = filter name",
        alarm_metric_must_equal_filter_name=True,
    ),
    CheckerRule(
        checker="scoutsuite",
        control="logs-no-alarm-cmk-deletion",
        kind="exact",
        value=(
            "{ ($.eventSource = kms.amazonaws.com) && "
            "(($.eventName = DisableKey) || ($.eventName = ScheduleKeyDeletion)) }"
        ),
        note="string equality with its own spacing (not the CIS text)",
    ),
)


def implements_4_7(pattern: str) -> tuple[bool, str]:
    """Whether the filter counts both CIS 4.7 events; the reason when it does not."""
    try:
        predicate = compile_pattern(pattern)
    except PatternError as exc:
        return False, f"pattern not understood: {exc}"
    missed = [record["eventName"] for record in MUST_MATCH if not predicate(record)]
    if missed:
        return False, "does not count " + " or ".join(str(name) for name in missed)
    return True, "counts DisableKey and ScheduleKeyDeletion from kms.amazonaws.com"


def accepted_by(
    pattern: str, filter_name: str | None = None, alarm_metrics: set[str] | None = None
) -> dict[str, bool]:
    """checker -> whether it would accept this filter (and, where it matters, its alarm)."""
    verdicts: dict[str, bool] = {}
    for rule in CHECKERS:
        ok = rule.accepts(pattern)
        if ok and rule.alarm_metric_must_equal_filter_name and alarm_metrics is not None:
            ok = filter_name in alarm_metrics
        verdicts[rule.checker] = ok
    return verdicts
