"""The task store and scheduler: PENDING (FIFO) → RUNNING (at most ``max_in_progress``) → terminal.

Worker threads (as many as the in-progress limit) take the oldest PENDING task when a slot is free,
download its inputs, render it, keep the PNG bytes in the ``ResultStore`` and finish it. A task's
terminal status and the release of its slot happen under one lock, so a client that sees a task
finish can submit the next one and find the slot free.

Example
-------
>>> # manager = TaskManager(config=lambda: ComposerConfig(), stats=StatsRecorder(), ...)
>>> # task = manager.submit(request, plan); manager.view(task.task_id)["task_status"] -> "PENDING"
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from poster_composer.errors import TaskFailedError, UnsupportedOperationError
from poster_composer.faults import (
    DATA_INSPECTION_CODE,
    DATA_INSPECTION_MESSAGE,
    INFERENCE_ERROR_CODE,
    INFERENCE_ERROR_MESSAGE,
    ComposerConfig,
)
from poster_composer.production import Renderer, download_inputs, render_inputs, render_with_composer
from poster_composer.task_view import (
    TERMINAL,
    ResultEntry,
    TaskState,
    TaskStatus,
    format_time,
    parse_list_time,
    task_body,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from poster_composer.fault_injector import TaskPlan
    from poster_composer.input_media import MediaFetcher
    from poster_composer.results import ResultSigner, ResultStore
    from poster_composer.stats import StatsRecorder
    from poster_composer.validation import SynthesisRequest

logger = logging.getLogger(__name__)

CANCEL_MESSAGE = "Failed to cancel the task, please confirm if the task is in PENDING status."
MAX_TASKS_KEPT = 100_000

__all__ = [
    "TERMINAL",
    "Renderer",
    "ResultEntry",
    "Task",
    "TaskManager",
    "TaskStatus",
    "format_time",
    "parse_list_time",
    "render_with_composer",
]


@dataclass
class Task:
    """One task (mutated only under the manager's lock)."""

    task_id: str
    request: SynthesisRequest
    plan: TaskPlan
    submit_time: float
    generation: int
    status: TaskStatus = TaskStatus.PENDING
    scheduled_time: float | None = None
    end_time: float | None = None
    code: str | None = None
    message: str | None = None
    results: list[ResultEntry] = field(default_factory=list)


class TaskManager:
    """Task store + FIFO scheduler + worker threads.

    Parameters
    ----------
    config
        Returns the current configuration (read at every decision, so run-time changes apply).
    stats, results, signer
        Where runs are recorded, PNG bytes kept and result paths signed.
    fetcher
        Downloads ``image_url`` / ``logo``.
    renderer
        Turns the inputs into PNGs (default: the offline renderer).
    clock
        Wall clock, injectable for tests.
    """

    def __init__(
        self,
        config: Callable[[], ComposerConfig],
        stats: StatsRecorder,
        results: ResultStore,
        signer: ResultSigner,
        fetcher: MediaFetcher,
        renderer: Renderer = render_with_composer,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._config = config
        self._stats = stats
        self._results = results
        self._signer = signer
        self._fetcher = fetcher
        self._renderer = renderer
        self._clock = clock
        self._cond = threading.Condition()
        self._tasks: OrderedDict[str, Task] = OrderedDict()
        self._pending: deque[Task] = deque()
        self._running = 0
        self._generation = 0
        self._stopping = threading.Event()
        self._workers: list[threading.Thread] = []

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start the worker threads."""
        self._stopping.clear()
        self.config_changed()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the workers (a task in progress is abandoned after its current step)."""
        self._stopping.set()
        with self._cond:
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for worker in self._workers:  # daemon threads: one stuck in a download cannot block exit
            worker.join(max(0.0, deadline - time.monotonic()))
        self._workers.clear()

    def config_changed(self) -> None:
        """Apply a new in-progress limit: add workers as needed and wake the idle ones."""
        with self._cond:
            wanted = self._config().max_in_progress
            while len(self._workers) < wanted and not self._stopping.is_set():
                worker = threading.Thread(target=self._work, name=f"composer-worker-{len(self._workers)}", daemon=True)
                self._workers.append(worker)
                worker.start()
            self._cond.notify_all()

    def reset(self) -> None:
        """Forget every task. Tasks being rendered finish into the void but keep their slot."""
        with self._cond:
            self._generation += 1
            self._tasks.clear()
            self._pending.clear()
            self._cond.notify_all()

    @property
    def in_progress(self) -> int:
        """Tasks RUNNING now (including forgotten ones still holding a slot)."""
        return self._running

    @property
    def pending(self) -> int:
        """Tasks waiting for a slot."""
        return len(self._pending)

    # ------------------------------------------------------------ API operations

    def submit(self, request: SynthesisRequest, plan: TaskPlan) -> Task:
        """Queue a new task (PENDING) and return it."""
        with self._cond:
            self._purge()
            task = Task(
                task_id=str(uuid.uuid4()),
                request=request,
                plan=plan,
                submit_time=self._clock(),
                generation=self._generation,
            )
            self._tasks[task.task_id] = task
            self._pending.append(task)
            self._cond.notify()
            return task

    def view(self, task_id: str, origin: str) -> dict[str, Any]:
        """The ``output`` object of a task query (UNKNOWN for unknown ids), plus ``usage`` if any.

        Returns
        -------
        dict
            ``{"output": {...}, "usage": {...}}`` (``usage`` only for finished, non-cancelled tasks).
        """
        with self._cond:
            task = self._tasks.get(task_id)
            if task is None:
                return {"output": {"task_id": task_id, "task_status": TaskStatus.UNKNOWN.value}}
            return self._render_view(task, origin)

    def cancel(self, task_id: str) -> None:
        """Cancel a PENDING task.

        Raises
        ------
        UnsupportedOperationError
            The task is unknown or not PENDING.
        """
        with self._cond:
            task = self._tasks.get(task_id)
            if task is None or task.status is not TaskStatus.PENDING:
                raise UnsupportedOperationError(CANCEL_MESSAGE)
            self._pending.remove(task)
            task.status = TaskStatus.CANCELED
            task.end_time = self._clock()
            self._stats.task_finished(task.task_id, task.status.value, task.end_time)

    def list_tasks(self, filters: Mapping[str, str], origin: str) -> dict[str, Any]:
        """The flat body of ``GET /tasks`` (without ``request_id``).

        Raises
        ------
        ValueError
            A malformed filter (the caller answers 400).
        """
        page_no = int(filters.get("page_no", "1"))
        page_size = int(filters.get("page_size", "10"))
        if page_no < 1 or not 1 <= page_size <= 100:
            raise ValueError("page_no must be >= 1 and page_size in [1, 100]")
        start = parse_list_time(filters["start_time"]) if filters.get("start_time") else None
        end = parse_list_time(filters["end_time"]) if filters.get("end_time") else None
        with self._cond:
            matched = [
                task
                for task in reversed(self._tasks.values())
                if (not filters.get("task_id") or task.task_id == filters["task_id"])
                and (not filters.get("status") or task.status.value == filters["status"])
                and (not filters.get("model_name") or task.request.model == filters["model_name"])
                and (start is None or task.submit_time >= start)
                and (end is None or task.submit_time <= end)
            ]
            page = matched[(page_no - 1) * page_size : page_no * page_size]
            data = []
            for task in page:
                item = self._render_view(task, origin)["output"]
                item["model_name"] = task.request.model
                data.append(item)
        return {
            "data": data,
            "total": len(matched),
            "total_page": -(-len(matched) // page_size),
            "page_no": page_no,
            "page_size": page_size,
        }

    # ------------------------------------------------------------ views

    def _render_view(self, task: Task, origin: str) -> dict[str, Any]:
        state = TaskState(
            task.task_id,
            task.status,
            task.request.n,
            task.submit_time,
            task.scheduled_time,
            task.end_time,
            task.code,
            task.message,
            task.results,
        )
        return task_body(
            state, lambda entry: origin + entry.path_and_query if entry.path_and_query else entry.url or ""
        )

    # ------------------------------------------------------------ workers

    def _purge(self) -> None:
        retention = self._config().task_retention_seconds
        oldest = self._clock() - retention
        for task_id, task in list(self._tasks.items()):
            too_many = len(self._tasks) > MAX_TASKS_KEPT
            if task.submit_time >= oldest and not too_many:
                break
            if task.status in TERMINAL:
                del self._tasks[task_id]

    def _work(self) -> None:
        while True:
            with self._cond:
                while not self._stopping.is_set() and not (
                    self._pending and self._running < self._config().max_in_progress
                ):
                    self._cond.wait()
                if self._stopping.is_set():
                    return
                task = self._pending.popleft()
                self._running += 1
                task.status = TaskStatus.RUNNING
                task.scheduled_time = self._clock()
                self._stats.task_started(task.task_id, task.scheduled_time, self._running)
            try:
                self._execute(task)
            except Exception:  # a worker must survive anything a task does
                logger.exception("task %s crashed", task.task_id)
                self._finish(task, TaskStatus.FAILED, INFERENCE_ERROR_CODE, INFERENCE_ERROR_MESSAGE)

    def _finish(
        self,
        task: Task,
        status: TaskStatus,
        code: str | None = None,
        message: str | None = None,
        results: list[ResultEntry] | None = None,
        forget: bool = False,
    ) -> None:
        with self._cond:
            self._running -= 1
            now = self._clock()
            if task.generation == self._generation and task.status is TaskStatus.RUNNING:
                task.status, task.end_time, task.code, task.message = status, now, code, message
                task.results = results or []
                if forget:
                    self._tasks.pop(task.task_id, None)
                self._stats.task_finished(task.task_id, status.value, now)
            self._cond.notify_all()

    def _sleep_until(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining > 0:
            self._stopping.wait(remaining)

    def _execute(self, task: Task) -> None:
        plan = task.plan
        deadline = time.monotonic() + plan.task_seconds
        if plan.outcome == "UNKNOWN":
            self._finish(task, TaskStatus.UNKNOWN, forget=True)
            return
        if plan.outcome == "CANCELED":
            self._finish(task, TaskStatus.CANCELED)
            return
        try:
            if plan.outcome == "FAILED":
                raise TaskFailedError(plan.code or INFERENCE_ERROR_CODE, plan.message or INFERENCE_ERROR_MESSAGE)
            results = self._produce(task)
        except TaskFailedError as failure:
            self._sleep_until(deadline)
            self._finish(task, TaskStatus.FAILED, failure.code, failure.message)
            return
        self._sleep_until(deadline)
        self._finish(task, TaskStatus.SUCCEEDED, results=results)

    def _produce(self, task: Task) -> list[ResultEntry]:
        config, request, plan = self._config(), task.request, task.plan
        background, logo = download_inputs(request, self._fetcher, config)
        if len(plan.failed_indices) >= request.n:
            raise TaskFailedError(DATA_INSPECTION_CODE, DATA_INSPECTION_MESSAGE)
        posters = render_inputs(background, logo, request, self._renderer)
        if plan.results.urls is not None:
            return [ResultEntry(url=url) for url in plan.results.urls]
        entries = []
        for index, poster in enumerate(posters[: request.n]):
            if index in plan.failed_indices:
                entries.append(ResultEntry(code=DATA_INSPECTION_CODE, message=DATA_INSPECTION_MESSAGE))
                continue
            self._results.put(task.task_id, index, poster.png)
            path = f"/results/{task.task_id}/{index}.png"
            query = self._signer.sign(path, config.result_url_ttl_seconds)
            entries.append(ResultEntry(path_and_query=f"{path}?{query}", dropped=list(poster.dropped) or None))
        return entries

    def task(self, task_id: str) -> Task | None:
        """The task (for the result endpoint), or ``None``."""
        with self._cond:
            return self._tasks.get(task_id)
