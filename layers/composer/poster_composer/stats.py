"""What the composer saw, for tests and benchmarks (``GET /_composer/stats``).

Times are epoch seconds (``time.time()``). The snapshot is plain JSON; see ``StatsRecorder.snapshot``
for its keys.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

from poster_composer.quota import max_in_window

if TYPE_CHECKING:
    from collections.abc import Callable


class StatsRecorder:
    """Thread-safe counters and timelines.

    Parameters
    ----------
    clock
        Wall clock, injectable for tests.

    Example
    -------
    >>> stats = StatsRecorder(clock=lambda: 5.0)
    >>> stats.submission("http://h/bg.png", "Sale", code=None)
    >>> stats.snapshot(in_progress=0, pending=1)["submissions"]["accepted"]
    1
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """Start every counter and timeline again (tasks still running keep their slot)."""
        with self._lock:
            self._started_at = self._clock()
            self._rejected: Counter[str] = Counter()
            self._accepted = 0
            self._by_input: dict[tuple[str, str], list[int]] = {}
            self._submission_times: list[float] = []
            self._accepted_times: list[float] = []
            self._final_statuses: Counter[str] = Counter()
            self._running_since: dict[str, float] = {}
            self._busy: list[tuple[float, float]] = []
            self._max_in_progress = 0
            self._downloads = 0
            self._downloads_rejected: Counter[str] = Counter()
            self._queries = 0

    def submission(self, image_url: str | None, title: str | None, code: str | None) -> None:
        """One create call: accepted when ``code`` is ``None``, else rejected with ``code``.

        ``image_url`` must already be stripped of its query string.
        """
        with self._lock:
            now = self._clock()
            self._submission_times.append(now)
            if code is None:
                self._accepted += 1
                self._accepted_times.append(now)
            else:
                self._rejected[code] += 1
            if image_url is not None and title is not None:
                counts = self._by_input.setdefault((image_url, title), [0, 0])
                counts[1] += 1
                if code is None:
                    counts[0] += 1

    def task_started(self, task_id: str, when: float, in_progress: int) -> None:
        """A task went RUNNING; ``in_progress`` counts it."""
        with self._lock:
            self._running_since[task_id] = when
            self._max_in_progress = max(self._max_in_progress, in_progress)

    def task_finished(self, task_id: str, status: str, when: float) -> None:
        """A task reached a terminal ``status`` (its busy interval closes if it was running)."""
        with self._lock:
            self._final_statuses[status] += 1
            started = self._running_since.pop(task_id, None)
            if started is not None:
                self._busy.append((started, when))

    def result_served(self) -> None:
        """A result image body was sent (HTTP 200)."""
        with self._lock:
            self._downloads += 1

    def result_rejected(self, code: str) -> None:
        """A result request was refused (bad signature, expired, gone)."""
        with self._lock:
            self._downloads_rejected[code] += 1

    def query(self) -> None:
        """One task query."""
        with self._lock:
            self._queries += 1

    def snapshot(self, in_progress: int, pending: int) -> dict[str, Any]:
        """The stats as JSON.

        Keys
        ----
        ``started_at``; ``submissions`` {``total``, ``accepted``, ``rejected`` {code: count}};
        ``submissions_by_input`` [{``image_url``, ``title``, ``accepted``, ``attempts``}] (image URL
        without query, first title); ``submission_times`` / ``accepted_submission_times`` (every
        create call / the accepted ones); ``max_submissions_in_1s`` / ``max_accepted_in_1s`` (most
        in any 1-second window); ``tasks_by_final_status`` {status: count}; ``in_progress``;
        ``pending``; ``max_in_progress_observed``; ``busy_intervals`` [[start, end]] (RUNNING
        periods, ``end`` null while running); ``busy_seconds``; ``result_downloads``;
        ``result_downloads_rejected`` {code: count}; ``queries``.
        """
        with self._lock:
            now = self._clock()
            intervals: list[list[float | None]] = [[start, end] for start, end in self._busy]
            intervals += [[start, None] for start in sorted(self._running_since.values())]
            busy = sum(end - start for start, end in self._busy)
            busy += sum(now - start for start in self._running_since.values())
            return {
                "started_at": self._started_at,
                "submissions": {
                    "total": len(self._submission_times),
                    "accepted": self._accepted,
                    "rejected": dict(self._rejected),
                },
                "submissions_by_input": [
                    {"image_url": url, "title": title, "accepted": counts[0], "attempts": counts[1]}
                    for (url, title), counts in self._by_input.items()
                ],
                "submission_times": list(self._submission_times),
                "accepted_submission_times": list(self._accepted_times),
                "max_submissions_in_1s": max_in_window(self._submission_times),
                "max_accepted_in_1s": max_in_window(self._accepted_times),
                "tasks_by_final_status": dict(self._final_statuses),
                "in_progress": in_progress,
                "pending": pending,
                "max_in_progress_observed": self._max_in_progress,
                "busy_intervals": intervals,
                "busy_seconds": busy,
                "result_downloads": self._downloads,
                "result_downloads_rejected": dict(self._downloads_rejected),
                "queries": self._queries,
            }
