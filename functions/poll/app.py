"""Poll: one query of the task for the state machine's wait loop."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from poster_common import services
from poster_common.observability import logger, tracer
from poster_common.payloads import PollRequest
from poster_common.poll import poll_learning

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext


@logger.inject_lambda_context(correlation_id_path="task_id", clear_state=True)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    deps = services.from_environment()
    request = PollRequest.from_event(event)
    result = poll_learning(
        request.task_id,
        request.attempt,
        request.submitted_at,
        api=deps.api,
        history=deps.durations,
        model=deps.settings.model,
        schedule=deps.settings.poll_schedule,
        now=datetime.now(UTC),
        configured_hold=deps.settings.poll_hold_seconds,
        hold_interval=deps.settings.poll_hold_interval,
    )
    logger.info("task polled", extra={"status": result["status"], "attempt": result["attempt"]})
    return result
