"""Poll: one query of the task, normalised for the state machine's Choice (no URLs leave here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from poster_common.poster_api import PosterApiClient


def next_wait(schedule: Sequence[int], attempt: int) -> int:
    """Seconds before poll ``attempt + 1``; the schedule's last value repeats.

    Examples
    --------
    >>> [next_wait((1, 1, 2, 2, 2, 4, 4, 4, 5), a) for a in range(11)]
    [1, 1, 2, 2, 2, 4, 4, 4, 5, 5, 5]
    """
    return schedule[min(attempt, len(schedule) - 1)]


def seconds_since(timestamp: str, now: datetime) -> float:
    started = datetime.fromisoformat(timestamp.replace("Z", "+00:00")) if timestamp else now
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return max(0.0, round((now - started).total_seconds(), 3))


def poll_task(
    task_id: str,
    attempt: int,
    submitted_at: str,
    *,
    api: PosterApiClient,
    schedule: Sequence[int],
    now: datetime,
) -> dict[str, Any]:
    """Query once; ``TransientError`` propagates so the state machine's Retry handles it."""
    snapshot = api.query(task_id)
    return {
        "status": snapshot.status.value,
        "terminal": snapshot.status.terminal,
        "attempt": attempt + 1,
        "wait_seconds": next_wait(schedule, attempt + 1),
        "elapsed_seconds": seconds_since(submitted_at, now),
        "request_id": snapshot.request_id,
        "code": snapshot.code,
        "message": snapshot.message,
        "task_metrics": snapshot.task_metrics,
    }
