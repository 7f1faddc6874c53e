"""Lambda entry point for KMS key events delivered by EventBridge.

Wiring only: observability decorators, settings, one call into the responder (exactly once per
CloudTrail event id when an idempotency table is configured), a small receipt.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.config import get_settings
from shared.observability import logger, metrics, tracer
from shared.responder import Responder


@cache
def default_responder() -> Responder:
    """The responder a warm container keeps between invocations (``cache_clear()`` forgets it)."""
    return Responder(get_settings())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE, log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, responder: Responder | None = None
) -> dict[str, Any]:
    responder = responder or default_responder()
    remaining = context.get_remaining_time_in_millis() / 1000 if context else None

    def work(payload: dict[str, Any], note: str | None = None) -> dict[str, Any]:
        return responder.handle(payload, remaining_seconds=remaining, notes=(note,) if note else ()).as_dict()

    runner = responder.idempotency
    if runner is None or not isinstance(event, dict):  # a non-object event is reported, keyed or not
        return work(event)
    return runner(event, work, context, unrecorded=work)
