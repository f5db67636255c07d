"""Submit: SQS batch of S3 notifications and EventBridge events → one idempotent, parked poster job per request."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from poster_common import dispatch, services, submit
from poster_common.observability import logger, metrics, tracer
from poster_common.triggers import requests_in

if TYPE_CHECKING:
    from collections.abc import Callable

    from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext


# A sidecar may arrive before its image: its message is tried this many times before it counts as orphaned.
SIDECAR_TRIES = 3

# A job's outcome (parked or failed) is remembered for 24 h: a duplicate event inside that window does nothing.
idempotency_config = IdempotencyConfig(event_key_jmespath="job_id", expires_after_seconds=24 * 3600)


@cache
def _start_job_once() -> Callable[..., dict[str, Any]]:
    persistence = DynamoDBPersistenceLayer(table_name=services.from_environment().settings.idempotency_table)

    def start_job(request: dict[str, Any]) -> dict[str, Any]:
        return submit.start_job(request, services.from_environment())

    once: Callable[..., dict[str, Any]] = idempotent_function(
        start_job, data_keyword_argument="request", config=idempotency_config, persistence_store=persistence
    )
    return once


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    settings = services.from_environment().settings
    asked = requests_in(record.body, request_source=settings.poster_request_source, input_bucket=settings.input_bucket)
    for poster_request in asked:
        logger.append_keys(object_key=poster_request.ref.key, correlation_id=poster_request.correlation_id)
        last_try = int(record.attributes.approximate_receive_count or 1) >= SIDECAR_TRIES
        request = submit.plan_job(poster_request, services.from_environment(), last_try=last_try)
        if request is None:
            continue
        result = _start_job_once()(request=request)
        logger.info("job handled", extra={"job_id": request["job_id"], "outcome": result["outcome"]})
        metrics.add_metric(
            name="PosterRejected" if result["outcome"] == "FAILED" else "PosterParked",
            unit=MetricUnit.Count,
            value=1,
        )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    idempotency_config.register_lambda_context(context)
    processor = BatchProcessor(event_type=EventType.SQS)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    _dispatch_parked(context)
    return response


def _dispatch_parked(context: LambdaContext) -> None:
    """Submit the oldest parked jobs if a provider slot is free (else the next release will)."""
    try:
        report = dispatch.dispatch(services.from_environment(), lambda: context.get_remaining_time_in_millis() / 1000)
    except Exception:  # the jobs are parked durably: the next release or the sweep dispatches them
        logger.exception("dispatch after parking failed")
        return
    if report.started:
        metrics.add_metric(name="PosterSubmitted", unit=MetricUnit.Count, value=report.started)
    metrics.add_metric(name="ProviderThrottled", unit=MetricUnit.Count, value=report.throttled)
