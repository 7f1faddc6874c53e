"""Lambda entry point for the daily deletion reminder (an EventBridge schedule).

Wiring only: decorators, settings, one pass of ``shared.reminders.Reminders``, a small receipt.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.aws import ClientFactory
from shared.config import get_settings
from shared.observability import logger, metrics, tracer
from shared.reminders import Reminders, parse_reminder_days


@cache
def default_reminders() -> Reminders:
    """The reminder pass a warm container keeps between invocations (``cache_clear()`` forgets it)."""
    days = parse_reminder_days(os.environ.get("REMINDER_DAYS"))
    return Reminders(get_settings(), ClientFactory(), days=days)


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, reminders: Reminders | None = None
) -> dict[str, Any]:
    reminders = reminders or default_reminders()
    return reminders.run()
