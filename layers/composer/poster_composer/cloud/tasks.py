"""The deployed composer's task backend for `poster_composer.api.ComposerApp`.

Create stores a PENDING task and queues its id for a render worker: rendering never runs inside the
create request. Query reads the item and presigns the result URLs. A task still unfinished
``timeout_seconds`` after submission (its worker died for good, its message went to the dead-letter
queue) reads as FAILED ``InternalError.Timeout``, so a client never polls forever.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from poster_composer.errors import InternalServerError, UnsupportedOperationError
from poster_composer.task_view import TERMINAL, TaskState, TaskStatus, task_body

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from poster_composer.cloud.results import ResultBucket
    from poster_composer.cloud.store import DynamoTaskStore
    from poster_composer.fault_injector import TaskPlan
    from poster_composer.validation import SynthesisRequest

logger = logging.getLogger(__name__)

TIMEOUT_CODE = "InternalError.Timeout"
TIMEOUT_MESSAGE = "The task did not finish in time."
CANCEL_MESSAGE = "Failed to cancel the task, please confirm if the task is in PENDING status."


class CloudTasks:
    """Tasks in DynamoDB, rendering through an SQS queue, results in S3.

    Parameters
    ----------
    store, results
        Where tasks and result PNGs live.
    sqs, queue_url
        The render queue (a boto3 SQS client and its URL).
    timeout_seconds
        After this long an unfinished task reads as FAILED.
    clock
        Epoch seconds.
    """

    in_progress = 0
    pending = 0

    def __init__(
        self,
        store: DynamoTaskStore,
        results: ResultBucket,
        sqs: Any,
        queue_url: str,
        timeout_seconds: float,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._results = results
        self._sqs = sqs
        self._queue_url = queue_url
        self._timeout = timeout_seconds
        self._clock = clock

    def submit(self, request: SynthesisRequest, plan: TaskPlan) -> TaskState:
        """Store the task (PENDING) and queue it for a worker."""
        task = self._store.create(request)
        try:
            self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps({"task_id": task.task_id}))
        except Exception as error:
            logger.exception("could not queue task %s", task.task_id)
            self._store.cancel(task.task_id)
            raise InternalServerError("An internal error has occured.") from error
        return task

    def view(self, task_id: str, origin: str) -> dict[str, Any]:
        """The body of a task query (UNKNOWN for unknown or expired ids)."""
        task = self._store.get(task_id)
        if task is None:
            return {"output": {"task_id": task_id, "task_status": TaskStatus.UNKNOWN.value}}
        if task.status not in TERMINAL and self._clock() - task.submit_time > self._timeout:
            task = replace(task, status=TaskStatus.FAILED, code=TIMEOUT_CODE, message=TIMEOUT_MESSAGE)
        return task_body(task, lambda entry: self._results.url(entry.key or ""))

    def cancel(self, task_id: str) -> None:
        """PENDING → CANCELED (the worker then skips it).

        Raises
        ------
        UnsupportedOperationError
            The task is unknown or not PENDING.
        """
        if not self._store.cancel(task_id):
            raise UnsupportedOperationError(CANCEL_MESSAGE)

    def list_tasks(self, filters: Mapping[str, str], origin: str) -> dict[str, Any]:
        """Not offered by the deployed service (its table has no index to list by time)."""
        raise UnsupportedOperationError("Listing tasks is not supported by this service; query a task by id.")

    def task(self, task_id: str) -> None:
        """Results are served by S3, not by the API."""
        return None

    def start(self) -> None:
        """Nothing runs in the API function between requests."""

    def stop(self) -> None:
        """See `start`."""

    def reset(self) -> None:
        """The control API is not deployed."""

    def config_changed(self) -> None:
        """See `reset`."""
