"""Settings: read once from the environment, and a misconfiguration fails fast and readably."""

from __future__ import annotations

import pytest

from shared.config import RemediationMode, RemediationScope, Settings
from shared.errors import ConfigurationError

TOPIC = "arn:aws:sns:us-east-1:123456789012:kms-keyguard-alerts"


def test_minimal_environment_gives_safe_defaults() -> None:
    settings = Settings.from_env({"ALERT_TOPIC_ARN": TOPIC})
    assert settings.alert_topic_arn == TOPIC
    assert settings.remediation_mode is RemediationMode.OFF
    assert settings.remediation_scope is RemediationScope.TAGGED
    assert settings.reenable_disabled_keys is False
    assert settings.idempotency_table_name is None


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            "ALERT_TOPIC_ARN": TOPIC,
            "REMEDIATION_MODE": "enforce",
            "REMEDIATION_SCOPE": "all",
            "REENABLE_DISABLED_KEYS": "true",
            "PROTECT_TAG_KEY": "guard:protect",
            "IDEMPOTENCY_TABLE_NAME": "",
            "DISCOVERY_MAX_SECONDS": "12.5",
            "USAGE_LOOKBACK_DAYS": "3",
        }
    )
    assert settings.remediation_mode is RemediationMode.ENFORCE
    assert settings.remediation_scope is RemediationScope.ALL
    assert settings.reenable_disabled_keys is True
    assert settings.protect_tag_key == "guard:protect"
    assert settings.idempotency_table_name is None  # empty means unset
    assert settings.discovery_max_seconds == 12.5
    assert settings.usage_lookback_days == 3


def test_missing_topic_names_the_variable() -> None:
    with pytest.raises(ConfigurationError, match="ALERT_TOPIC_ARN"):
        Settings.from_env({})


def test_every_bad_variable_is_reported_at_once() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.from_env(
            {"ALERT_TOPIC_ARN": "not-an-arn", "REMEDIATION_MODE": "yolo", "DISCOVERY_MAX_SECONDS": "-1"}
        )
    message = str(caught.value)
    for name in ("ALERT_TOPIC_ARN", "REMEDIATION_MODE", "DISCOVERY_MAX_SECONDS"):
        assert name in message


def test_handler_fails_fast_when_misconfigured(
    monkeypatch: pytest.MonkeyPatch, lambda_context: object
) -> None:
    from handlers.key_events import lambda_handler

    monkeypatch.delenv("ALERT_TOPIC_ARN", raising=False)
    with pytest.raises(ConfigurationError, match="ALERT_TOPIC_ARN"):
        lambda_handler({"detail-type": "x", "source": "aws.kms", "detail": {}}, lambda_context)


def test_client_retry_policy_follows_the_standard_sdk_variables() -> None:
    from shared.aws import default_config

    assert default_config({}).retries == {"mode": "adaptive", "max_attempts": 5}
    assert default_config({"AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}).retries == {
        "mode": "standard",
        "max_attempts": 1,
    }
    assert default_config({"AWS_MAX_ATTEMPTS": "zero", "AWS_RETRY_MODE": "yolo"}).retries == {
        "mode": "adaptive",
        "max_attempts": 5,
    }


ALERT_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
HEALTH_KEY = "arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab"
HEALTH_TOPIC = "arn:aws:sns:us-east-1:123456789012:kms-keyguard-HealthTopic-XYZ"


def test_guard_settings_default_to_none_guarded_and_thirty_day_approvals() -> None:
    settings = Settings.from_env({"ALERT_TOPIC_ARN": TOPIC})
    assert settings.guard_key_arns == ()
    assert settings.health_topic_arn is None
    assert settings.approval_max_days == 30
    assert not settings.is_guard_key(ALERT_KEY)


def test_guard_keys_are_read_as_the_template_joins_them() -> None:
    # Given the comma-separated list the template builds with Fn::Join (spaces and repeats tolerated)
    settings = Settings.from_env(
        {"ALERT_TOPIC_ARN": TOPIC, "GUARD_KEY_ARNS": f"{ALERT_KEY}, {HEALTH_KEY},,{ALERT_KEY}"}
    )

    # Then each key is known once, in order, and recognised by its ARN
    assert settings.guard_key_arns == (ALERT_KEY, HEALTH_KEY)
    assert settings.is_guard_key(HEALTH_KEY)
    assert not settings.is_guard_key(ALERT_KEY.replace("1234abcd", "0000abcd"))
    assert not settings.is_guard_key(None)


@pytest.mark.parametrize(
    "value",
    [
        "alias/kms-keyguard-alerts",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:us-east-1:123456789012:alias/kms-keyguard-alerts",
        "arn:aws:sns:us-east-1:123456789012:kms-keyguard",
    ],
)
def test_a_guard_key_that_is_not_a_key_arn_is_rejected(value: str) -> None:
    # An alias or a bare id cannot be compared with the key ARN an event resolves to.
    with pytest.raises(ConfigurationError, match="GUARD_KEY_ARNS"):
        Settings.from_env({"ALERT_TOPIC_ARN": TOPIC, "GUARD_KEY_ARNS": f"{ALERT_KEY},{value}"})


def test_health_topic_and_approval_limit_are_read() -> None:
    settings = Settings.from_env(
        {"ALERT_TOPIC_ARN": TOPIC, "HEALTH_TOPIC_ARN": HEALTH_TOPIC, "APPROVAL_MAX_DAYS": "7"}
    )
    assert settings.health_topic_arn == HEALTH_TOPIC
    assert settings.approval_max_days == 7


def test_an_empty_health_topic_means_none() -> None:
    assert Settings.from_env({"ALERT_TOPIC_ARN": TOPIC, "HEALTH_TOPIC_ARN": ""}).health_topic_arn is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HEALTH_TOPIC_ARN", "kms-keyguard-health"),
        ("APPROVAL_MAX_DAYS", "0"),
        ("APPROVAL_MAX_DAYS", "91"),
        ("APPROVAL_MAX_DAYS", "thirty"),
    ],
)
def test_bad_guard_settings_name_their_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({"ALERT_TOPIC_ARN": TOPIC, name: value})
