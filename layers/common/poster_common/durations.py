"""Polling that learns: how long a model's tasks take, and so when the wait loop should look.

Without history the wait loop follows the official SDK's schedule (1, 1, 2, 2, 2, 4, 4, 4, 5 s …): polls per
poster grow with the task's duration and a finished task is seen up to 5 s late. With the durations of the
model's recent tasks (at least `MIN_SAMPLES`):

- the first Poll comes just before the likely end: at the 5th percentile of recent durations, less a second (at
  once for sub-second tasks such as the composer's: that Poll then holds through the render);
- each Poll holds, querying on the quota's cadence (``Settings.poll_hold_interval``), until the task ends or
  `MAX_HOLD_SECONDS` have passed, so the end of a task is seen within a fraction of a second, usually by the first
  Poll. Holding is the cheap way to wait: a held second of the 128 MB Poll costs about 1/45 of another trip round
  the loop (Wait, Poll, Choice: three state transitions), so a task that outlasts its peers is held for, not re-polled;
- between Polls the loop waits one second.

History: the TaskDurationTable's items ``pk = durations#<model>``, ``sk = 0 … SAMPLES-1`` (a task writes the slot its id
hashes to, so the table keeps about the last `SAMPLES` tasks), ``seconds`` (the provider's ``end_time -
submit_time`` of a SUCCEEDED task), ``expires_at`` (`HISTORY_SECONDS`: a model that changes speed is relearnt).
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

logger = logging.getLogger(__name__)

SAMPLES = 32
MIN_SAMPLES = 5
HISTORY_SECONDS = 7 * 24 * 3600
MAX_HOLD_SECONDS = 30.0  # within Poll's 45 s timeout, with room for a slow last query
PREFIX = "durations#"
_PROVIDER_TIME = "%Y-%m-%d %H:%M:%S.%f"


@dataclass(frozen=True)
class TaskDurations:
    """Recent task durations of one model, in seconds, sorted."""

    seconds: tuple[float, ...] = ()

    @property
    def learned(self) -> bool:
        """Enough history to plan by."""
        return len(self.seconds) >= MIN_SAMPLES

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (nearest rank).

        Examples
        --------
        >>> TaskDurations(tuple(float(s) for s in range(1, 11))).quantile(0.95)
        10.0
        """
        rank = min(len(self.seconds) - 1, max(0, math.ceil(q * len(self.seconds)) - 1))
        return self.seconds[rank]


def first_wait(durations: TaskDurations, schedule: Sequence[int]) -> int:
    """Whole seconds before the first Poll (a Step Functions Wait takes whole seconds)."""
    if not durations.learned:
        return schedule[0]
    return max(0, math.floor(durations.quantile(0.05)) - 1)


def hold_seconds(durations: TaskDurations, configured: float) -> float:
    """How long a Poll may keep querying a running task: ``configured`` (``POLL_HOLD_SECONDS``) without history,
    `MAX_HOLD_SECONDS` once the durations are learnt (the Poll returns as soon as the task ends)."""
    return MAX_HOLD_SECONDS if durations.learned else configured


def wait_schedule(durations: TaskDurations, schedule: Sequence[int]) -> Sequence[int]:
    """The waits between Polls: the SDK's without history, one second once Polls hold."""
    return (1,) if durations.learned else schedule


def task_seconds(submit_time: str | None, end_time: str | None) -> float | None:
    """``end_time - submit_time`` of a task, from the provider's own timestamps (one clock, one zone)."""
    if not submit_time or not end_time:
        return None
    try:
        start = datetime.strptime(submit_time, _PROVIDER_TIME)
        end = datetime.strptime(end_time, _PROVIDER_TIME)
    except ValueError:
        return None
    seconds = (end - start).total_seconds()
    return seconds if seconds >= 0 else None


class DurationLog:
    """The durations history in the TaskDurationTable (``DURATION_TABLE``; see the module docstring).

    Parameters
    ----------
    client
        A boto3 DynamoDB client.
    table
        The table's name.
    """

    def __init__(self, client: Any, table: str, clock: Callable[[], float] = time.time) -> None:
        self._client = client
        self._table = table
        self._clock = clock

    def recent(self, model: str) -> TaskDurations:
        """The model's recent durations (expired ones left out); none when they cannot be read, since the
        history only tunes the wait loop."""
        now = self._clock()
        try:
            items = self._client.query(
                TableName=self._table,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": PREFIX + model}},
            ).get("Items", [])
        except (ClientError, BotoCoreError) as error:
            logger.warning("task durations not read: %s", type(error).__name__)
            return TaskDurations()
        seconds = [float(i["seconds"]["N"]) for i in items if float(i["expires_at"]["N"]) >= now]
        return TaskDurations(tuple(sorted(seconds)))

    def record(self, model: str, task_id: str, seconds: float) -> None:
        """Remember one SUCCEEDED task's duration (a failed write is logged: it only tunes the wait loop)."""
        slot = int(hashlib.sha256(task_id.encode()).hexdigest(), 16) % SAMPLES
        try:
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": PREFIX + model},
                    "sk": {"S": str(slot)},
                    "seconds": {"N": repr(round(seconds, 3))},
                    "expires_at": {"N": str(int(self._clock()) + HISTORY_SECONDS)},
                },
            )
        except (ClientError, BotoCoreError) as error:
            logger.warning("task duration not recorded: %s", type(error).__name__)
