"""The deployed composer's tasks, one DynamoDB item each (hash key ``task_id``, TTL ``expires_at``).

PENDING (created by the API) → RUNNING (claimed by a render worker with a conditional update, so a
duplicate queue delivery renders nothing twice) → SUCCEEDED / FAILED (with per-result outcomes).
CANCELED only from PENDING. Items expire a day after submission, as DashScope forgets its tasks.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from poster_composer.task_view import ResultEntry, TaskState, TaskStatus
from poster_composer.validation import SynthesisRequest

if TYPE_CHECKING:
    from collections.abc import Callable

_CONDITION_FAILED = "ConditionalCheckFailedException"


def _issued(task_id: str) -> bool:
    """Whether ``task_id`` has the shape of an id `DynamoTaskStore.create` issues (a UUID string).

    Any other id is unknown without a read: DynamoDB refuses a key over 2048 bytes with a
    ``ValidationException`` (a 500 to the client) instead of a miss.
    """
    try:
        return str(uuid.UUID(task_id)) == task_id
    except ValueError:
        return False


def _number(value: float) -> Decimal:
    return Decimal(str(round(value, 3)))


class DynamoTaskStore:
    """Tasks in a DynamoDB table (a boto3 ``Table`` resource or anything with its methods).

    Parameters
    ----------
    table
        ``boto3.resource("dynamodb").Table(name)``.
    retention_seconds
        Lifetime of an item (its ``expires_at``).
    clock
        Epoch seconds.
    """

    def __init__(self, table: Any, retention_seconds: int, clock: Callable[[], float]) -> None:
        self._table = table
        self._retention = retention_seconds
        self._clock = clock

    def create(self, request: SynthesisRequest) -> TaskState:
        """Store a new PENDING task and return it."""
        now = self._clock()
        task_id = str(uuid.uuid4())
        self._table.put_item(
            Item={
                "task_id": task_id,
                "status": TaskStatus.PENDING.value,
                "request": json.dumps(asdict(request), ensure_ascii=False),
                "n": request.n,
                "submit_time": _number(now),
                "expires_at": int(now) + self._retention,
            },
            ConditionExpression="attribute_not_exists(task_id)",
        )
        return TaskState(task_id, TaskStatus.PENDING, request.n, now)

    def get(self, task_id: str) -> TaskState | None:
        """The task, or ``None`` when it is unknown or expired."""
        if not _issued(task_id):
            return None
        item = self._table.get_item(Key={"task_id": task_id}, ConsistentRead=True).get("Item")
        if item is None or int(item.get("expires_at", 0)) < self._clock():
            return None
        return _state(item)

    def request(self, task_id: str) -> SynthesisRequest | None:
        """The validated request a task was created with."""
        item = self._table.get_item(Key={"task_id": task_id}, ConsistentRead=True).get("Item")
        if item is None:
            return None
        fields = json.loads(item["request"])
        for name in ("title", "subtitle", "text"):
            fields[name] = tuple(fields[name])
        if fields.get("size") is not None:
            fields["size"] = tuple(fields["size"])
        return SynthesisRequest(**fields)

    def claim(self, task_id: str, stale_after: float, max_age: float | None = None) -> bool:
        """PENDING → RUNNING for this worker (or take over a RUNNING task whose worker died ``stale_after`` s ago).

        With ``max_age``, a task submitted longer ago than that is not claimed: queries already report it
        FAILED (`poster_composer.cloud.tasks.CloudTasks.view`), a terminal status it must keep.

        Returns
        -------
        bool
            False when the task is gone, finished, too old, or being rendered by a live worker.
        """
        now = self._clock()
        condition = "#s = :pending OR (#s = :running AND scheduled_time < :stale)"
        values = {
            ":running": TaskStatus.RUNNING.value,
            ":pending": TaskStatus.PENDING.value,
            ":now": _number(now),
            ":stale": _number(now - stale_after),
        }
        if max_age is not None:
            condition = f"({condition}) AND submit_time >= :oldest"
            values[":oldest"] = _number(now - max_age)
        return self._transition(task_id, "SET #s = :running, scheduled_time = :now", condition, values)

    def finish(
        self,
        task_id: str,
        status: TaskStatus,
        *,
        results: list[ResultEntry] | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> bool:
        """RUNNING → SUCCEEDED (with ``results``) or FAILED (with ``code`` / ``message``)."""
        entries = [{k: v for k, v in asdict(entry).items() if v is not None} for entry in results or []]
        return self._transition(
            task_id,
            "SET #s = :status, end_time = :now, results = :results, code = :code, message = :message",
            "#s = :running",
            {
                ":status": status.value,
                ":now": _number(self._clock()),
                ":results": entries,
                ":code": code,
                ":message": message,
                ":running": TaskStatus.RUNNING.value,
            },
        )

    def cancel(self, task_id: str) -> bool:
        """PENDING → CANCELED; False when the task is not PENDING."""
        return self._transition(
            task_id,
            "SET #s = :canceled, end_time = :now",
            "#s = :pending",
            {
                ":canceled": TaskStatus.CANCELED.value,
                ":pending": TaskStatus.PENDING.value,
                ":now": _number(self._clock()),
            },
        )

    def _transition(self, task_id: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        if not _issued(task_id):
            return False
        try:
            self._table.update_item(
                Key={"task_id": task_id},
                UpdateExpression=update,
                ConditionExpression=f"attribute_exists(task_id) AND ({condition})",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues=values,
            )
        except Exception as error:
            if getattr(error, "response", {}).get("Error", {}).get("Code") == _CONDITION_FAILED:
                return False
            raise
        return True


def _state(item: dict[str, Any]) -> TaskState:
    def seconds(name: str) -> float | None:
        value = item.get(name)
        return None if value is None else float(value)

    return TaskState(
        task_id=str(item["task_id"]),
        status=TaskStatus(item["status"]),
        n=int(item["n"]),
        submit_time=float(item["submit_time"]),
        scheduled_time=seconds("scheduled_time"),
        end_time=seconds("end_time"),
        code=item.get("code"),
        message=item.get("message"),
        results=[ResultEntry(**entry) for entry in item.get("results") or []],
    )
