"""The heartbeat canary: proof that a rule, its target and the function still work.

The schedule puts one canary per pattern rule on the default bus (``template.yaml``:
``HeartbeatSchedule``); each rule's second branch matches only the canary naming that rule. The
responder recognises a canary before parsing (it is not a KMS record), pages nobody, and emits
``HEARTBEAT_METRIC`` with the rule as its ``HEARTBEAT_RULE_DIMENSION``: the heartbeat alarm of a
rule fires when its metric stops (missing data is breaching).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from shared.config import HEARTBEAT_DETAIL_TYPE, HEARTBEAT_METRIC, HEARTBEAT_RULE_DIMENSION, HEARTBEAT_SOURCE
from shared.observability import NAMESPACE, SERVICE

# A rule's logical id (the alarms' dimension value): kept to that shape, so a malformed canary
# cannot mint a new metric stream per value.
_RULE = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,63}$")


@dataclass(frozen=True)
class Canary:
    event_id: str
    stack: str
    rule: str


def canary(event: object) -> Canary | None:
    """The canary inside ``event``, or ``None`` when the event is not a heartbeat canary."""
    if not isinstance(event, Mapping) or event.get("source") != HEARTBEAT_SOURCE:
        return None
    detail: Any = event.get("detail")
    if event.get("detail-type") != HEARTBEAT_DETAIL_TYPE or not isinstance(detail, Mapping):
        return None
    rule, stack = detail.get("rule"), detail.get("stack")
    if not (isinstance(rule, str) and _RULE.match(rule) and isinstance(stack, str)):
        return None
    return Canary(str(event.get("id") or ""), stack, rule)


def beat(canary: Canary) -> None:
    """Emit the rule's heartbeat, in its own metric blob: the dimensions are exactly the alarm's
    (``service`` and the rule), whatever else this invocation records."""
    with single_metric(
        name=HEARTBEAT_METRIC,
        unit=MetricUnit.Count,
        value=1,
        namespace=NAMESPACE,
        default_dimensions={"service": SERVICE},
    ) as metric:
        metric.add_dimension(name=HEARTBEAT_RULE_DIMENSION, value=canary.rule)
