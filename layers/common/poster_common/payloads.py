"""The Lambda payloads of docs/design.md ("Lambda payloads"), as types.

Handlers parse their event into one of these and serialise what the domain returns; the domain code takes
the typed values and never reads a raw Step Functions or EventBridge dict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from poster_common.models import Job


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class TaskRef:
    """The provider's task of a job (``$.task``): no URL, key or signature."""

    task_id: str
    request_id: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TaskRef:
        return cls(task_id=str(data["task_id"]), request_id=_optional_str(data.get("request_id")))


@dataclass(frozen=True)
class PollRequest:
    """Poll's input: ``{"task_id", "attempt", "submitted_at"}``."""

    task_id: str
    attempt: int = 0
    submitted_at: str = ""

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> PollRequest:
        return cls(str(event["task_id"]), int(event.get("attempt") or 0), str(event.get("submitted_at") or ""))


@dataclass(frozen=True)
class PollOutcome:
    """What the execution keeps of Poll's last answer (``$.poll``) and RecordFailure reads."""

    status: str = "UNKNOWN"
    attempt: int | None = None
    elapsed_seconds: float | None = None
    code: str | None = None
    message: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PollOutcome:
        attempt, elapsed = data.get("attempt"), data.get("elapsed_seconds")
        return cls(
            status=str(data.get("status") or "UNKNOWN"),
            attempt=None if attempt is None else int(attempt),
            elapsed_seconds=None if elapsed is None else float(elapsed),
            code=_optional_str(data.get("code")),
            message=_optional_str(data.get("message")),
        )


@dataclass(frozen=True)
class StepError:
    """A caught error (``$.error``: ``{"Error", "Cause"}``)."""

    error: str
    cause: str

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepError:
        return cls(str(data.get("Error", "")), str(data.get("Cause", "")))


@dataclass(frozen=True)
class ExecutionState:
    """The state Finalize and RecordFailure get: the job, its task, the last poll, and how it failed (if it did)."""

    job: Job
    task: TaskRef | None = None
    poll: PollOutcome | None = None
    failed_stage: str | None = None
    error: StepError | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExecutionState:
        """Parse the execution's state (or its input); ``KeyError`` without a job."""
        task, poll, error = data.get("task"), data.get("poll"), data.get("error")
        return cls(
            job=Job.from_dict(data["job"]),
            task=TaskRef.from_dict(task) if isinstance(task, dict) and task.get("task_id") else None,
            poll=PollOutcome.from_dict(poll) if isinstance(poll, dict) else None,
            failed_stage=_optional_str(data.get("failed_stage")),
            error=StepError.from_dict(error) if isinstance(error, dict) else None,
        )


@dataclass(frozen=True)
class ReleaseRequest:
    """The state machine's ``ReleaseSlot`` step: ``{"action": "release", "job_id"}``."""

    job_id: str

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ReleaseRequest | None:
        """The request, or ``None`` when ``event`` is another trigger."""
        return cls(str(event["job_id"])) if event.get("action") == "release" else None


@dataclass(frozen=True)
class ExecutionStatusChange:
    """EventBridge's "Step Functions Execution Status Change" (``detail``: ``executionArn``, ``name``, ``status``)."""

    DETAIL_TYPE = "Step Functions Execution Status Change"

    execution_arn: str
    name: str
    status: str

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> ExecutionStatusChange | None:
        """The change, or ``None`` when ``event`` is another trigger."""
        if event.get("detail-type") != cls.DETAIL_TYPE:
            return None
        detail = event.get("detail") or {}
        execution_arn = str(detail.get("executionArn", ""))
        return cls(
            execution_arn=execution_arn,
            name=str(detail.get("name") or execution_arn.rsplit(":", 1)[-1]),
            status=str(detail.get("status", "")),
        )
