"""Lambda entry point of the organization-wide sweeps (docs/organization.md, "Sweeps").

Wiring only. ``{"account", "region", "sweep"}`` (an item of the Step Functions Distributed Map)
runs one pass in one member account and Region; ``{"sweep"}`` (a schedule, with
``CONFIG_AGGREGATOR_NAME`` set) runs one aggregator query and re-reads the keys it names. Returns
the pass's summary; a request that cannot be read is reported in the receipt and counted.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from shared.aws import ClientFactory
from shared.config import get_settings
from shared.observability import logger, metrics, tracer
from shared.org_sweep import AggregatorRequest, OrgSweeper, SweepRequest
from shared.reminders import parse_reminder_days


@cache
def default_sweeper() -> OrgSweeper:
    """The sweeper a warm container keeps (member credentials stay cached until they expire)."""
    return OrgSweeper(
        get_settings(),
        ClientFactory(),
        hub_account=os.environ.get("HUB_ACCOUNT_ID", ""),
        reminder_days=parse_reminder_days(os.environ.get("REMINDER_DAYS")),
        aggregator=os.environ.get("CONFIG_AGGREGATOR_NAME") or None,
    )


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, sweeper: OrgSweeper | None = None
) -> dict[str, Any]:
    sweeper = sweeper or default_sweeper()
    try:
        if isinstance(event, dict) and "account" in event:
            return sweeper.sweep_account(SweepRequest.model_validate(event))
        request = AggregatorRequest.model_validate(event)
        if sweeper.aggregator is None:
            raise ValueError("no account given and no CONFIG_AGGREGATOR_NAME configured")
    except (ValidationError, ValueError) as exc:
        if isinstance(exc, ValidationError):
            reason = "; ".join(f"{'.'.join(map(str, e['loc'])) or '?'}: {e['msg']}" for e in exc.errors())[
                :300
            ]
        else:
            reason = str(exc)[:300]
        logger.error("invalid sweep request", reason=reason)
        metrics.add_metric(name="OrgSweepErrors", unit="Count", value=1)
        return {"error": f"invalid request: {reason}"}
    return sweeper.sweep_aggregator(request.sweep)
