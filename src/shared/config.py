"""Settings read once from the environment.

A misconfigured function fails fast on its first invocation with a message that names every bad
variable, instead of running with a silent default.
"""

from __future__ import annotations

import os
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
}


class Settings(BaseModel):
    """Validated configuration of the responder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    alert_topic_arn: str = Field(pattern=r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$")
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

    @field_validator("idempotency_table_name", "function_role_arn", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if value == "" else value

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
