"""RecordFailure: turn whatever ended a job badly into a failure record and a FAILED event."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from poster_common import errors
from poster_common.notify import FailureRecord, record_job_failure
from poster_common.payloads import ExecutionState, PollOutcome
from poster_common.result_download import redact

if TYPE_CHECKING:
    from poster_common.services import Services

MAX_MESSAGE_CHARS = 1000
_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
_STATUS_CODES = {"CANCELED": "TaskCanceled", "UNKNOWN": "TaskUnknown", "FAILED": "TaskFailed"}
_TIMEOUT_ERRORS = {"States.Timeout", "Sandbox.Timedout", "Lambda.Timeout"}
#: The ``Error`` of the state machine's own failure exit (``JobFailed``): RecordFailure has run.
RECORDED_FAILURE = "PosterJobFailed"
_EXECUTION_CODES = {"FAILED": "ExecutionFailed", "TIMED_OUT": "ExecutionTimedOut", "ABORTED": "ExecutionAborted"}


def record_failure(state: ExecutionState, services: Services) -> dict[str, Any]:
    job = state.job
    stage = state.failed_stage or "unknown"
    code, message = describe(stage, state)
    record = FailureRecord(job.job_id, stage, code, message, job.source, **_task_ids(state))
    return {"failure_key": record_job_failure(job.stem, record, services, job=job), "code": code}


def _task_ids(state: ExecutionState) -> dict[str, str | None]:
    task = state.task
    return {"task_id": task.task_id if task else None, "request_id": task.request_id if task else None}


def record_ended_execution(execution_arn: str, services: Services) -> str | None:
    """The failure record of a job whose execution ended without writing one; returns its key (None: not needed).

    That is an execution stopped by an operator (ABORTED), timed out, or FAILED other than through the state
    machine's own failure exit (an error no ``Catch`` handles, or RecordFailure itself failing). A job aborted
    in the moment between its manifest and its ``Succeed`` state would get both; nothing is lost either way.
    """
    execution = services.sfn.describe_execution(executionArn=execution_arn)
    status, error = str(execution["status"]), execution.get("error")
    if status not in _EXECUTION_CODES or (status == "FAILED" and error == RECORDED_FAILURE):
        return None
    data = json.loads(execution.get("input") or "{}")
    if not isinstance(data, dict) or "job" not in data:
        return None
    state = ExecutionState.from_dict(data)
    code = _EXECUTION_CODES[status]
    message = f"the job's execution ended {status}" + (f" ({sanitise(str(error))})" if error else "")
    record = FailureRecord(state.job.job_id, "execution", code, message, state.job.source, **_task_ids(state))
    return record_job_failure(state.job.stem, record, services, job=state.job)


def describe(stage: str, state: ExecutionState) -> tuple[str, str]:
    """The failure's code and a safe, short message."""
    if state.error is not None:
        return _from_error(state.error.error, state.error.cause)
    poll = state.poll or PollOutcome()
    if stage == "timeout":
        return "TimedOut", f"task still {poll.status} after {poll.attempt} polls and {poll.elapsed_seconds} s"
    code = poll.code or _STATUS_CODES.get(poll.status, "TaskFailed")
    return code, sanitise(poll.message or f"task ended {poll.status}")


def _from_error(name: str, cause: str) -> tuple[str, str]:
    try:
        parsed = json.loads(cause)
        detail = str(parsed.get("errorMessage", cause)) if isinstance(parsed, dict) else cause
    except ValueError:
        detail = cause
    if name in _TIMEOUT_ERRORS:
        return "Timeout", sanitise(f"{name}: {detail}")
    error_class = _error_classes().get(name)
    if error_class is not None:
        return error_class.code, sanitise(detail)
    return "UnexpectedError", sanitise(f"{name}: {detail}")


def sanitise(text: str) -> str:
    """Drop query strings from any URL in ``text`` and cap its length."""
    return _URL.sub(lambda match: redact(match.group(0)), text)[:MAX_MESSAGE_CHARS]


def _error_classes() -> dict[str, type[errors.PosterError]]:
    found: dict[str, type[errors.PosterError]] = {}
    pending: list[type[errors.PosterError]] = [errors.PosterError]
    while pending:
        cls = pending.pop()
        found[cls.__name__] = cls
        pending.extend(cls.__subclasses__())
    return found
