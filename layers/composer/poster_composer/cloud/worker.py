"""The render worker: one queued task id in, the task's posters in the result bucket, the task finished.

A duplicate delivery finds the task already claimed or finished and does nothing. A task whose inputs
cannot be used ends FAILED with the API's code; an error of our own (S3, DynamoDB) propagates, so the
queue delivers the task again (a RUNNING task whose worker died is taken over after ``stale_after`` s). A
task older than ``max_age`` (the API's task timeout: queries already report it FAILED) is not rendered.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from poster_composer.errors import ApiError, TaskFailedError
from poster_composer.production import produce_posters
from poster_composer.task_view import ResultEntry, TaskStatus

if TYPE_CHECKING:
    from poster_composer.cloud.results import ResultBucket
    from poster_composer.cloud.sources import SourcePolicy
    from poster_composer.cloud.store import DynamoTaskStore
    from poster_composer.faults import ComposerConfig
    from poster_composer.input_media import MediaFetcher
    from poster_composer.production import Renderer

logger = logging.getLogger(__name__)


class RenderWorker:
    """Renders queued tasks (see the module docstring)."""

    def __init__(
        self,
        store: DynamoTaskStore,
        results: ResultBucket,
        sources: SourcePolicy,
        fetcher: MediaFetcher,
        renderer: Renderer,
        config: ComposerConfig,
        stale_after: float,
        max_age: float | None = None,
    ) -> None:
        self._store = store
        self._results = results
        self._sources = sources
        self._fetcher = fetcher
        self._renderer = renderer
        self._config = config
        self._stale_after = stale_after
        self._max_age = max_age

    def run(self, task_id: str) -> TaskStatus | None:
        """Render one task; the status it ended with, or ``None`` when there was nothing to do."""
        if not self._store.claim(task_id, self._stale_after, self._max_age):
            logger.info("task %s: already claimed, finished, cancelled or timed out", task_id)
            return None
        request = self._store.request(task_id)
        if request is None:
            return None
        try:
            self._sources.check(request.image_url, "image_url")
            if request.logo:
                self._sources.check(request.logo, "logo")
            posters = produce_posters(request, self._fetcher, self._config, self._renderer)
        except (TaskFailedError, ApiError) as failure:
            code = failure.code
            logger.info("task %s failed: %s", task_id, code)
            self._store.finish(task_id, TaskStatus.FAILED, code=code, message=failure.message)
            return TaskStatus.FAILED
        entries = [
            ResultEntry(key=self._results.put(task_id, index, poster.png), dropped=list(poster.dropped) or None)
            for index, poster in enumerate(posters[: request.n])
        ]
        self._store.finish(task_id, TaskStatus.SUCCEEDED, results=entries)
        logger.info("task %s succeeded with %d result(s)", task_id, len(entries))
        return TaskStatus.SUCCEEDED
