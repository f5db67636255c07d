"""Poll: one query of the task, normalised for the state machine's Choice (no URLs leave here)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from poster_common.durations import hold_seconds, task_seconds, wait_schedule
from poster_common.models import TaskStatus

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from poster_common.durations import DurationLog
    from poster_common.models import TaskSnapshot
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
    hold_seconds: float = 0.0,
    hold_interval: float = 0.1,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_terminal: Callable[[TaskSnapshot], None] | None = None,
) -> dict[str, Any]:
    """Query; ``TransientError`` propagates so the state machine's Retry handles it.

    With ``hold_seconds`` > 0 (``POLL_HOLD_SECONDS``) the query is repeated every ``hold_interval``
    (``Settings.poll_hold_interval``: the running tasks share most of the provider's query quota)
    while the task is not terminal, for at most that long: the end of a task is seen within a fraction
    of a second, so its provider slot goes to the next parked job at once. Only the jobs in progress
    (at most ``MODEL_MAX_IN_PROGRESS``) poll, so this costs the same whatever the backlog.
    """
    started = clock()
    snapshot = api.query(task_id)
    queries = 1
    # Queries start on a fixed cadence (not ``hold_interval`` after the last answer): the end of a task is
    # seen half an interval after it happens on average, and the query rate stays at 1 / hold_interval.
    while not snapshot.status.terminal and queries * hold_interval <= hold_seconds + 1e-9:
        sleep(max(0.0, started + queries * hold_interval - clock()))
        snapshot = api.query(task_id)
        queries += 1
    held = clock() - started
    if snapshot.status.terminal and on_terminal is not None:
        on_terminal(snapshot)
    return {
        "status": snapshot.status.value,
        "terminal": snapshot.status.terminal,
        "attempt": attempt + 1,
        "wait_seconds": next_wait(schedule, attempt + 1),
        "elapsed_seconds": round(seconds_since(submitted_at, now) + held, 3),
        "request_id": snapshot.request_id,
        "code": snapshot.code,
        "message": snapshot.message,
        "task_metrics": snapshot.task_metrics,
    }


def poll_learning(
    task_id: str,
    attempt: int,
    submitted_at: str,
    *,
    api: PosterApiClient,
    history: DurationLog,
    model: str,
    schedule: Sequence[int],
    now: datetime,
    configured_hold: float,
    hold_interval: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """`poll_task`, timed by the model's recent task durations (`poster_common.durations`), and a SUCCEEDED
    task's duration added to them. The history only tunes the loop (`DurationLog` tolerates a failed read or write)."""
    durations = history.recent(model)

    def learn(snapshot: TaskSnapshot) -> None:
        seconds = task_seconds(snapshot.submit_time, snapshot.end_time)
        if snapshot.status is TaskStatus.SUCCEEDED and seconds is not None:
            history.record(model, snapshot.task_id, seconds)

    return poll_task(
        task_id,
        attempt,
        submitted_at,
        api=api,
        schedule=wait_schedule(durations, schedule),
        now=now,
        hold_seconds=hold_seconds(durations, configured_hold),
        hold_interval=hold_interval,
        clock=clock,
        sleep=sleep,
        on_terminal=learn,
    )
