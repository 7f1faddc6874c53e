"""Lambda entry point for the reconciliation pass (an EventBridge schedule).

Wiring only: decorators, settings, one pass of ``shared.reconcile.Reconciler``, a small receipt.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.aws import ClientFactory
from shared.config import get_settings
from shared.observability import logger, metrics, tracer
from shared.reconcile import Reconciler


@cache
def default_reconciler() -> Reconciler:
    """The pass a warm container keeps between invocations (``cache_clear()`` forgets it)."""
    return Reconciler(get_settings(), ClientFactory())


@logger.inject_lambda_context(log_event=False)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, reconciler: Reconciler | None = None
) -> dict[str, Any]:
    reconciler = reconciler or default_reconciler()
    return reconciler.run()
