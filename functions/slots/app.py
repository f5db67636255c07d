"""Slots: give a provider slot back and hand it to the oldest parked job (three triggers, one domain call each).

- the state machine's ``ReleaseSlot`` step: ``{"action": "release", "job_id": "…"}``;
- EventBridge "Step Functions Execution Status Change" (FAILED / TIMED_OUT / ABORTED): ``cleanup``;
- EventBridge schedule ("Scheduled Event"): ``sweep`` (slots still held by ended executions, and the oldest
  parked job's age as a metric).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from poster_common import dispatch, services
from poster_common.observability import logger, metrics, tracer
from poster_common.payloads import ExecutionStatusChange, ReleaseRequest

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = services.from_environment()

    def remaining() -> float:
        return context.get_remaining_time_in_millis() / 1000

    if release := ReleaseRequest.from_event(event):
        result = dispatch.release(release.job_id, deps, remaining)
    elif change := ExecutionStatusChange.from_event(event):
        result = dispatch.cleanup(change, deps, remaining)
        metrics.add_metric(name="SlotsReclaimed", unit=MetricUnit.Count, value=result["released"])
    else:
        result = dispatch.sweep(deps, remaining)
        metrics.add_metric(name="SlotsReclaimed", unit=MetricUnit.Count, value=result["reclaimed"])
        metrics.add_metric(
            name="OldestParkedJobAge", unit=MetricUnit.Seconds, value=result["oldest_parked_age_seconds"]
        )
    add_dispatch_metrics(result)
    logger.info("slots handled", extra=result)
    return result


def add_dispatch_metrics(result: dict[str, Any]) -> None:
    """``PosterSubmitted`` and ``ProviderThrottled`` (429s seen while submitting) of one dispatch."""
    if result.get("started"):
        metrics.add_metric(name="PosterSubmitted", unit=MetricUnit.Count, value=result["started"])
    metrics.add_metric(name="ProviderThrottled", unit=MetricUnit.Count, value=result.get("throttled", 0))
