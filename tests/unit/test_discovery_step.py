"""The responder's discover step runs the finder registry as the settings configure it."""

from __future__ import annotations

from typing import Any

import pytest

from shared import discovery
from shared.config import Settings
from shared.document import DependenciesSection
from shared.key_inventory import KeySnapshot

KEY_ARN = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def test_the_default_discoverer_gets_the_index_quota_and_usage_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given settings that switch the Config index off, name an aggregator, raise a quota and
    # shorten the usage budget
    calls: list[dict[str, Any]] = []

    def recording_discover(identity: Any, clients: Any, **kwargs: Any) -> DependenciesSection:
        calls.append(kwargs)
        return DependenciesSection(complete=True, total=0)

    monkeypatch.setattr(discovery, "discover", recording_discover)
    settings = Settings.from_env(
        {
            "ALERT_TOPIC_ARN": "arn:aws:sns:us-east-1:111122223333:alerts",
            "DISCOVERY_CONFIG_INDEX": "false",
            "DISCOVERY_CONFIG_AGGREGATOR": "org-aggregator",
            "DISCOVERY_RATE_LIMITS": "logs:DescribeLogGroups=20",
            "USAGE_LOOKUP_SECONDS": "2",
        }
    )
    search = discovery.DependencySearch(settings, clients=None, monotonic=lambda: 100.0)  # type: ignore[arg-type]
    snapshot = KeySnapshot(
        reference=KEY_ARN, region="us-east-1", readable=True, arn=KEY_ARN, key_id=KEY_ARN.rsplit("/", 1)[-1]
    )
    snapshot.manager = "CUSTOMER"

    # When the step searches a readable customer managed key
    _, searched = search.for_key(snapshot, budget=10.0)

    # Then the registry ran with exactly those settings, and the deadline of the budget
    assert searched
    (kwargs,) = calls
    assert kwargs["config_index"] is False
    assert kwargs["aggregator"] == "org-aggregator"
    assert kwargs["rate_limits"] == {"logs:DescribeLogGroups": 20.0}
    assert kwargs["usage_seconds"] == 2.0
    assert kwargs["deadline"] == 110.0
    assert kwargs["max_workers"] == settings.discovery_max_workers
