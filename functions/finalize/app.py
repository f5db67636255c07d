"""Finalize: copy a succeeded task's results into the output bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from poster_common import services
from poster_common.finalize import finalize_job
from poster_common.observability import logger, metrics, tracer
from poster_common.payloads import ExecutionState

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(correlation_id_path="task.task_id", clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = ExecutionState.from_dict(event)
    result = finalize_job(state, services.from_environment(), context.get_remaining_time_in_millis)
    metrics.add_metric(name="ImagesCopied", unit=MetricUnit.Count, value=len(result["output_keys"]))
    logger.info("job finalized", extra={"outcome": result["outcome"]})
    return result
