"""Exactly-once effects under at-least-once delivery.

``IdempotentRunner``: Powertools Idempotency on a DynamoDB table, keyed on the CloudTrail event id
(``detail.eventID``; the envelope ``id`` for native events such as ``KMS CMK Deletion``). A run that
raises (a failed publish) is not recorded as completed, so the retry publishes again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyPersistenceLayerError
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.aws import error_code
from shared.observability import logger, metrics

# Exact DynamoDB actions Powertools Idempotency calls on the table.
ACTIONS: tuple[str, ...] = (
    "dynamodb:DeleteItem",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)

EVENT_ID_JMESPATH = "detail.eventID || id"
# EventBridge retries for up to 1 h and Lambda's asynchronous retries for up to 6 h: a record must
# outlive both, or a late redelivery would act and publish a second time.
IDEMPOTENCY_TTL_SECONDS = 24 * 3600


def _on_duplicate(response: Any, idempotent_data: DataRecord) -> Any:
    """A redelivered event: the stored receipt is returned and nothing is done again."""
    metrics.add_metric(name="DuplicateDelivery", unit="Count", value=1)
    logger.info(
        "duplicate delivery: returning the stored receipt", idempotency_key=idempotent_data.idempotency_key
    )
    return response


class IdempotentRunner:
    """Wraps a ``(event, remaining) -> dict`` function so each event id runs to completion once.

    One persistence layer and one config per runner (Powertools keeps state on both); the layer is
    built on first use, inside whatever AWS (or moto) is active then.
    """

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self.config = IdempotencyConfig(
            event_key_jmespath=EVENT_ID_JMESPATH,
            expires_after_seconds=IDEMPOTENCY_TTL_SECONDS,
            raise_on_no_idempotency_key=False,
            response_hook=_on_duplicate,
        )
        layer = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=client)

        @idempotent_function(data_keyword_argument="event", persistence_store=layer, config=self.config)
        def run(event: dict[str, Any], work: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
            return work(event)

        self._run = run

    def __call__(
        self,
        event: dict[str, Any],
        work: Callable[[dict[str, Any]], dict[str, Any]],
        context: LambdaContext | None = None,
        *,
        unrecorded: Callable[[dict[str, Any], str], dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Run ``work`` once per event id. When the table cannot be used before the work starts
        (deleted, denied, throttled), ``unrecorded(event, note)`` runs instead, unrecorded: a
        duplicate alert beats none. When only recording the finished work fails, its result stands."""
        if context is not None:
            self.config.register_lambda_context(context)
        done: list[dict[str, Any]] = []
        started = False

        def tracked(payload: dict[str, Any]) -> dict[str, Any]:
            nonlocal started
            started = True
            done.append(work(payload))
            return done[-1]

        try:
            result: dict[str, Any] = self._run(event=event, work=tracked)
        except IdempotencyPersistenceLayerError as exc:
            code = error_code(exc.__cause__) if exc.__cause__ is not None else type(exc).__name__
            metrics.add_metric(name="IdempotencyUnavailable", unit="Count", value=1)
            logger.error("idempotency table unavailable", error=code, work_started=started)
            if done:
                return done[-1]  # the work finished; only recording it failed
            if started:
                raise  # the work itself failed (a failed publish): let the delivery be retried
            note = (
                f"The idempotency table could not be used ({code}): this event was handled without "
                "the exactly-once check, so this alert may repeat one already sent."
            )
            return (unrecorded or (lambda payload, _: work(payload)))(event, note)
        return result
