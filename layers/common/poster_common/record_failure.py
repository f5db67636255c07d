"""RecordFailure: turn whatever ended a job badly into a failure record and a FAILED event."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from poster_common import errors
from poster_common.models import Job
from poster_common.notify import FailureRecord, record_job_failure
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


def record_failure(state: dict[str, Any], services: Services) -> dict[str, Any]:
    job = Job.from_dict(state["job"])
    stage = str(state.get("failed_stage") or "unknown")
    code, message = describe(stage, state)
    task = state.get("task") or {}
    record = FailureRecord(
        job.job_id, stage, code, message, job.source, task_id=task.get("task_id"), request_id=task.get("request_id")
    )
    return {"failure_key": record_job_failure(job.stem, record, services), "code": code}


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
    state = json.loads(execution.get("input") or "{}")
    if not isinstance(state, dict) or "job" not in state:
        return None
    job, task = Job.from_dict(state["job"]), state.get("task") or {}
    code = _EXECUTION_CODES[status]
    message = f"the job's execution ended {status}" + (f" ({sanitise(str(error))})" if error else "")
    record = FailureRecord(
        job.job_id,
        "execution",
        code,
        message,
        job.source,
        task_id=task.get("task_id"),
        request_id=task.get("request_id"),
    )
    return record_job_failure(job.stem, record, services)


def describe(stage: str, state: dict[str, Any]) -> tuple[str, str]:
    """The failure's code and a safe, short message."""
    poll = state.get("poll") or {}
    error = state.get("error")
    if isinstance(error, dict):
        return _from_error(str(error.get("Error", "")), str(error.get("Cause", "")))
    if stage == "timeout":
        return "TimedOut", (
            f"task still {poll.get('status')} after {poll.get('attempt')} polls and {poll.get('elapsed_seconds')} s"
        )
    status = str(poll.get("status", "UNKNOWN"))
    code = poll.get("code") or _STATUS_CODES.get(status, "TaskFailed")
    return str(code), sanitise(str(poll.get("message") or f"task ended {status}"))


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
