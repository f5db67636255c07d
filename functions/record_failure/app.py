"""RecordFailure: the state machine's single exit for every job that produced no poster."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from poster_common import services
from poster_common.observability import logger, metrics, tracer
from poster_common.payloads import ExecutionState
from poster_common.record_failure import record_failure

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(correlation_id_path="task.task_id", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = ExecutionState.from_dict(event)
    result = record_failure(state, services.from_environment())
    metrics.add_metric(name="PosterFailed", unit=MetricUnit.Count, value=1)
    logger.warning("job failed", extra={"code": result["code"], "stage": state.failed_stage})
    return result
