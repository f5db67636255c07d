"""Request-rate limiting: a sliding-window counter (``Throttling.RateQuota`` when exceeded).

A request is admitted when fewer than ``rate × window`` requests were admitted in the last
``window`` seconds. Rejected requests do not count, so a client that keeps to the documented rate
never sees a 429.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class SlidingWindowLimiter:
    """Admit at most ``rate`` requests in any sliding window of ``window`` seconds.

    Parameters
    ----------
    rate
        Requests per second; ``None`` admits everything.
    window
        Window length in seconds (1 by default, the documented unit of the quota).
    clock
        Monotonic clock, injectable for tests.

    Example
    -------
    >>> now = [0.0]
    >>> limiter = SlidingWindowLimiter(2, clock=lambda: now[0])
    >>> [limiter.try_acquire() for _ in range(3)]
    [True, True, False]
    >>> now[0] = 1.0
    >>> limiter.try_acquire()
    True
    """

    def __init__(self, rate: float | None, window: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._window = window
        self._admitted: deque[float] = deque()
        self._capacity: int | None = None
        self.set_rate(rate)

    @property
    def capacity(self) -> int | None:
        """Requests admitted per window (``None``: unlimited)."""
        return self._capacity

    def set_rate(self, rate: float | None) -> None:
        """Change the rate; the admissions already in the window still count."""
        with self._lock:
            self._capacity = None if rate is None else max(1, math.floor(rate * self._window + 1e-9))

    def reset(self) -> None:
        """Forget every admission."""
        with self._lock:
            self._admitted.clear()

    def try_acquire(self) -> bool:
        """Admit one request now if the window has room; ``False`` means throttle it."""
        with self._lock:
            if self._capacity is None:
                return True
            now = self._clock()
            # Half-open window (now - window, now]: a request exactly one window later is admitted.
            while self._admitted and self._admitted[0] <= now - self._window:
                self._admitted.popleft()
            if len(self._admitted) >= self._capacity:
                return False
            self._admitted.append(now)
            return True


def max_in_window(timestamps: list[float], window: float = 1.0) -> int:
    """The largest number of ``timestamps`` inside any half-open window ``[t, t + window)``.

    Example
    -------
    >>> max_in_window([0.0, 0.5, 0.99, 1.0, 1.5])
    3
    """
    ordered = sorted(timestamps)
    best = start = 0
    for end, stamp in enumerate(ordered):
        while ordered[start] <= stamp - window:
            start += 1
        best = max(best, end - start + 1)
    return best
