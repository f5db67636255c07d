"""The seeded fault injector: applies a `ComposerConfig`'s rules and random rates to each submission and task.

What to inject is configured in `poster_composer.faults`; this module decides, per submission, whether it is
rejected (`FaultInjector.submit_fault`), per query whether it fails (`FaultInjector.query_fault`), and per accepted
task what will happen to it (`FaultInjector.plan_task` → `TaskPlan`).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from poster_composer.errors import ApiError, InternalServerError, ServiceUnavailableError, ThrottlingError
from poster_composer.faults import (
    INFERENCE_ERROR_CODE,
    INFERENCE_ERROR_MESSAGE,
    INTERNAL_ERROR_MESSAGE,
    SERVICE_UNAVAILABLE_MESSAGE,
    THROTTLING_MESSAGE,
)

if TYPE_CHECKING:
    from poster_composer.faults import ComposerConfig, Rule, TaskStatusOverride

__all__ = ["FaultInjector", "ResultBehaviour", "TaskPlan"]


@dataclass(frozen=True)
class ResultBehaviour:
    """How a task's results are handed out (from its rule; the default is plain PNG URLs)."""

    urls: tuple[str, ...] | None = None
    redirect: str | None = None
    content_type: str | None = None
    extra_bytes: int = 0
    stall_seconds: float = 0.0


@dataclass(frozen=True)
class TaskPlan:
    """What will happen to one accepted task, decided at submission time."""

    outcome: TaskStatusOverride | None = None
    code: str | None = None
    message: str | None = None
    failed_indices: frozenset[int] = frozenset()
    task_seconds: float = 0.0
    results: ResultBehaviour = field(default_factory=ResultBehaviour)


class FaultInjector:
    """Applies a ``ComposerConfig``'s rules and random rates; thread safe.

    Parameters
    ----------
    seed
        Seed of the RNG behind every random rate (``reseed`` restarts the sequence).

    Example
    -------
    >>> from poster_composer.faults import ComposerConfig
    >>> injector = FaultInjector(seed=0)
    >>> injector.submit_fault(ComposerConfig(), None, "Spring Sale") is None
    True
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._rule_hits: dict[tuple[int, str], int] = {}

    def reseed(self, seed: int) -> None:
        """Restart the RNG from ``seed`` and forget how often each rule fired."""
        with self._lock:
            self._rng = random.Random(seed)
            self._rule_hits.clear()

    def submit_fault(self, config: ComposerConfig, rule: Rule | None, title: str) -> ApiError | None:
        """The error to reject this submission with, or ``None`` to accept it."""
        with self._lock:
            if rule is not None and rule.submit_error is not None:
                action = rule.submit_error
                hit_key = (config.rules.index(rule), title)
                hits = self._rule_hits.get(hit_key, 0)
                self._rule_hits[hit_key] = hits + 1
                if action.times is None or hits < action.times:
                    return ApiError(action.message, code=action.code, status=action.status)
            if config.submit_429_rate and self._rng.random() < config.submit_429_rate:
                return ThrottlingError(THROTTLING_MESSAGE)
            if config.submit_5xx_rate and self._rng.random() < config.submit_5xx_rate:
                if self._rng.random() < 0.5:
                    return InternalServerError(INTERNAL_ERROR_MESSAGE)
                return ServiceUnavailableError(SERVICE_UNAVAILABLE_MESSAGE)
            return None

    def query_fault(self, config: ComposerConfig) -> ApiError | None:
        """A transient 503 for a task query, drawn at ``query_5xx_rate``."""
        with self._lock:
            if config.query_5xx_rate and self._rng.random() < config.query_5xx_rate:
                return ServiceUnavailableError(SERVICE_UNAVAILABLE_MESSAGE)
            return None

    def plan_task(self, config: ComposerConfig, rule: Rule | None, n: int) -> TaskPlan:
        """Decide the fate of an accepted task with ``n`` sub-images."""
        with self._lock:
            failed: set[int] = set()
            outcome: TaskStatusOverride | None = None
            code = message = None
            if rule is not None and rule.task_status is not None:
                outcome, code, message = rule.task_status, rule.code, rule.message
                if outcome == "FAILED":
                    code = code or INFERENCE_ERROR_CODE
                    message = message or INFERENCE_ERROR_MESSAGE
            elif config.task_failed_rate and self._rng.random() < config.task_failed_rate:
                outcome, code, message = "FAILED", INFERENCE_ERROR_CODE, INFERENCE_ERROR_MESSAGE
            if rule is not None and rule.partial:
                failed.update(index for index in rule.partial if index < n)
            elif n >= 2 and config.partial_rate and self._rng.random() < config.partial_rate:
                failed.add(self._rng.randrange(n))
            task_seconds = config.task_seconds
            behaviour = ResultBehaviour()
            if rule is not None:
                if rule.task_seconds is not None:
                    task_seconds = rule.task_seconds
                behaviour = ResultBehaviour(
                    urls=rule.result_urls,
                    redirect=rule.result_redirect,
                    content_type=rule.result_content_type,
                    extra_bytes=rule.result_extra_bytes,
                    stall_seconds=rule.result_stall_seconds,
                )
            return TaskPlan(
                outcome=outcome,
                code=code,
                message=message,
                failed_indices=frozenset(failed),
                task_seconds=task_seconds,
                results=behaviour,
            )
