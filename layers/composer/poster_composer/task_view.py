"""What a task looks like on the wire: its status values, timestamps and the ``output`` of a query.

Both fronts render a task through `task_body`: the local server's in-memory `TaskManager` and the
deployed service's DynamoDB store. Only where a result's URL comes from differs (``url_of``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

#: The service's timestamps carry no offset; Beijing time is the likely zone (protocol notes §13.8).
SERVICE_TZ = timezone(timedelta(hours=8))


class TaskStatus(enum.StrEnum):
    """The wire values of ``output.task_status``."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"


TERMINAL = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELED, TaskStatus.UNKNOWN})


def format_time(epoch: float) -> str:
    """``YYYY-MM-DD HH:mm:ss.SSS`` in the service's zone.

    Example
    -------
    >>> format_time(0.25)
    '1970-01-01 08:00:00.250'
    """
    moment = datetime.fromtimestamp(epoch, tz=SERVICE_TZ)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def parse_list_time(value: str) -> float:
    """``YYYYMMDDhhmmss`` (service zone) → epoch seconds; ``ValueError`` when malformed."""
    return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=SERVICE_TZ).timestamp()


@dataclass
class ResultEntry:
    """One sub-image outcome: where its PNG is (a signed path, an object key or a foreign URL), or an error."""

    path_and_query: str | None = None
    url: str | None = None
    key: str | None = None
    code: str | None = None
    message: str | None = None
    dropped: list[dict[str, Any]] | None = None

    @property
    def succeeded(self) -> bool:
        """Whether this sub-image has a PNG."""
        return self.code is None and any((self.path_and_query, self.url, self.key))


@dataclass
class TaskState:
    """What a query reports of a task, whichever store keeps it."""

    task_id: str
    status: TaskStatus
    n: int
    submit_time: float
    scheduled_time: float | None = None
    end_time: float | None = None
    code: str | None = None
    message: str | None = None
    results: list[ResultEntry] = field(default_factory=list)


def _result_item(entry: ResultEntry, url_of: Callable[[ResultEntry], str]) -> dict[str, Any]:
    """``{"url"}`` (plus ``dropped``, our extension, when something could not be placed) or ``{"code", "message"}``."""
    if not entry.succeeded:
        return {"code": entry.code or "", "message": entry.message or ""}
    item: dict[str, Any] = {"url": url_of(entry)}
    if entry.dropped:
        item["dropped"] = entry.dropped
    return item


def task_body(task: TaskState, url_of: Callable[[ResultEntry], str]) -> dict[str, Any]:
    """``{"output": {...}}`` of a task query, plus ``usage`` once the task has finished (not cancelled).

    ``url_of`` turns a successful `ResultEntry` into the URL the client downloads.
    """
    output: dict[str, Any] = {
        "task_id": task.task_id,
        "task_status": task.status.value,
        "submit_time": format_time(task.submit_time),
    }
    if task.scheduled_time is not None:
        output["scheduled_time"] = format_time(task.scheduled_time)
    if task.end_time is not None:
        output["end_time"] = format_time(task.end_time)
    body: dict[str, Any] = {"output": output}
    total = task.n
    if task.status is TaskStatus.RUNNING:
        output["task_metrics"] = {"TOTAL": total, "SUCCEEDED": 0, "FAILED": 0}
    elif task.status is TaskStatus.SUCCEEDED:
        results = [_result_item(entry, url_of) for entry in task.results]
        succeeded = sum(1 for item in results if "url" in item)
        output["results"] = results
        output["task_metrics"] = {"TOTAL": total, "SUCCEEDED": succeeded, "FAILED": total - succeeded}
        body["usage"] = {"image_count": succeeded}
    elif task.status is TaskStatus.FAILED:
        output["code"] = task.code
        output["message"] = task.message
        output["task_metrics"] = {"TOTAL": total, "SUCCEEDED": 0, "FAILED": total}
        body["usage"] = {"image_count": 0}
    return body
