"""Settings read once from the environment.

A misconfigured function fails fast on its first invocation with a message that names every bad
variable, instead of running with a silent default.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shared.errors import ConfigurationError


class RemediationMode(StrEnum):
    OFF = "off"
    DRY_RUN = "dry-run"
    ENFORCE = "enforce"


class RemediationScope(StrEnum):
    TAGGED = "tagged"
    WITH_DEPENDENCIES = "with-dependencies"
    ALL = "all"


TagKey = Annotated[str, Field(min_length=1, max_length=128)]

SNS_TOPIC_ARN = r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$"
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/(mrk-)?[0-9a-f-]{32,36}$")

# The heartbeat canary (template.yaml: HeartbeatSchedule, and the second branch of every pattern
# rule). Its detail is {"stack": <stack name>, "rule": <logical id of the rule it went through>};
# for each canary the responder emits HEARTBEAT_METRIC with the dimension HEARTBEAT_RULE_DIMENSION
# set to that rule, next to Powertools' own "service" dimension. The heartbeat alarms watch exactly
# that metric; a custom source cannot start with "aws.", so no AWS event can look like a canary.
HEARTBEAT_SOURCE = "kms-keyguard.heartbeat"
HEARTBEAT_DETAIL_TYPE = "KMS Keyguard Heartbeat"
HEARTBEAT_METRIC = "Heartbeat"
HEARTBEAT_RULE_DIMENSION = "Rule"

# Environment variable -> Settings field. The template's contract test checks that every variable
# named here is either set by the template or has a default that suits a deployed function.
ENV_FIELDS: dict[str, str] = {
    "ALERT_TOPIC_ARN": "alert_topic_arn",
    "REMEDIATION_MODE": "remediation_mode",
    "REMEDIATION_SCOPE": "remediation_scope",
    "REENABLE_DISABLED_KEYS": "reenable_disabled_keys",
    "PROTECT_TAG_KEY": "protect_tag_key",
    "ALLOW_DELETION_TAG_KEY": "allow_deletion_tag_key",
    "INTERVENTION_TAG_KEY": "intervention_tag_key",
    "IDEMPOTENCY_TABLE_NAME": "idempotency_table_name",
    "SHORT_WINDOW_DAYS": "short_window_days",
    "DISCOVERY_MAX_SECONDS": "discovery_max_seconds",
    "PUBLISH_RESERVE_SECONDS": "publish_reserve_seconds",
    "DISCOVERY_MAX_WORKERS": "discovery_max_workers",
    "USAGE_LOOKBACK_DAYS": "usage_lookback_days",
    "USAGE_LOOKUP_SECONDS": "usage_lookup_seconds",
    "DISCOVERY_CONFIG_INDEX": "discovery_config_index",
    "DISCOVERY_CONFIG_AGGREGATOR": "discovery_config_aggregator",
    "DISCOVERY_RATE_LIMITS": "discovery_rate_limits",
    "FUNCTION_ROLE_ARN": "function_role_arn",
    "GUARD_KEY_ARNS": "guard_key_arns",
    "HEALTH_TOPIC_ARN": "health_topic_arn",
    "APPROVAL_MAX_DAYS": "approval_max_days",
    "ORGANIZATION_ID": "organization_id",
    "MEMBER_ROLE_NAME": "member_role_name",
    "MEMBER_REMEDIATION_ROLE_NAME": "member_remediation_role_name",
}

# An IAM role name (https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html).
ROLE_NAME = r"^[\w+=,.@-]{1,64}$"


class Settings(BaseModel):
    """Validated configuration of the responder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_topic_arn: str = Field(pattern=SNS_TOPIC_ARN)
    remediation_mode: RemediationMode = RemediationMode.OFF
    remediation_scope: RemediationScope = RemediationScope.TAGGED
    reenable_disabled_keys: bool = False
    protect_tag_key: TagKey = "keyguard:protect"
    allow_deletion_tag_key: TagKey = "keyguard:allow-deletion"
    intervention_tag_key: TagKey = "keyguard:last-intervention"
    idempotency_table_name: str | None = None
    short_window_days: int = Field(default=14, ge=7, le=30)
    discovery_max_seconds: float = Field(default=25.0, gt=0, le=600)
    publish_reserve_seconds: float = Field(default=8.0, ge=1, le=120)
    discovery_max_workers: int = Field(default=16, ge=1, le=64)
    usage_lookback_days: int = Field(default=7, ge=0, le=90)
    # CloudTrail usage evidence gets its own small budget inside the discovery budget.
    usage_lookup_seconds: float = Field(default=5.0, gt=0, le=60)
    # AWS Config as the discovery index, where the recorder records a type continuously.
    discovery_config_index: bool = True
    # "auto": an organization aggregator covering the Region, if one can be queried; "none"; a name.
    discovery_config_aggregator: str = Field(default="auto", pattern=r"^[A-Za-z0-9_-]{1,256}$")
    # Raised quotas, e.g. "logs:DescribeLogGroups=20"; documented rates apply otherwise.
    discovery_rate_limits: str = ""
    function_role_arn: str | None = None
    # Every KMS key the stack itself depends on (its alert and health topics' keys): an event on
    # one of them is critical and is remediated whatever the mode and scope say.
    guard_key_arns: tuple[str, ...] = ()
    # The second alert path (alarms' topic), independent of the alert topic's key.
    health_topic_arn: str | None = Field(default=None, pattern=SNS_TOPIC_ARN)
    # An approval's "until=" may be at most this many days after the approval was tagged.
    approval_max_days: int = Field(default=30, ge=1, le=90)
    # Organization mode (docs/organization.md): None guards this account only. Otherwise an event
    # whose account is another one is enriched through that account's MEMBER_ROLE_NAME and
    # remediated through its MEMBER_REMEDIATION_ROLE_NAME (org/member-roles.yaml).
    organization_id: str | None = Field(default=None, pattern=r"^o-[a-z0-9]{10,32}$")
    member_role_name: str = Field(default="kms-keyguard-discovery", pattern=ROLE_NAME)
    member_remediation_role_name: str = Field(default="kms-keyguard-remediation", pattern=ROLE_NAME)

    @field_validator(
        "idempotency_table_name", "function_role_arn", "health_topic_arn", "organization_id", mode="before"
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("guard_key_arns", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        """``"arn1,arn2"`` (as the template joins them) → ``("arn1", "arn2")``; blanks dropped."""
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if isinstance(value, list | tuple):
            return tuple(dict.fromkeys(str(part) for part in value if part))
        return value

    @field_validator("guard_key_arns")
    @classmethod
    def _key_arns(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [arn for arn in value if not KMS_KEY_ARN.match(arn)]
        if bad:
            raise ValueError(f"not a KMS key ARN: {bad[0][:120]!r}")
        return value

    def is_guard_key(self, key_arn: str | None) -> bool:
        """Whether ``key_arn`` (a resolved key ARN) is one of the stack's own keys."""
        return key_arn is not None and key_arn in self.guard_key_arns

    @field_validator("discovery_rate_limits")
    @classmethod
    def _rates_parse(cls, value: str) -> str:
        from shared.dependencies.limits import parse_overrides

        parse_overrides(value)
        return value

    @property
    def rate_limits(self) -> dict[str, float]:
        """``discovery_rate_limits`` as operation -> calls a second."""
        from shared.dependencies.limits import parse_overrides

        return parse_overrides(self.discovery_rate_limits)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values = {field: env[name] for name, field in ENV_FIELDS.items() if name in env}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            raise ConfigurationError(_describe(exc)) from None


def _describe(exc: ValidationError) -> str:
    by_field = {field: name for name, field in ENV_FIELDS.items()}
    problems = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        problems.append(f"{by_field.get(field, field)}: {error['msg']}")
    return "invalid configuration: " + "; ".join(problems)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use (never at import time)."""
    return Settings.from_env()
