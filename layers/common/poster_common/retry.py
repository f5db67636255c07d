"""Capped exponential backoff with full jitter: one delay (``full_jitter``), or a bounded iterator of them."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator


def backoff_delays(
    attempts: int,
    *,
    base: float = 0.25,
    cap: float = 8.0,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Yield ``attempts - 1`` sleep times: uniform in ``[0, min(cap, base * 2**i)]`` ("full jitter").

    The default base is short because every submission attempt also waits for a rate token
    (``SlotTable.take_rate_token``): retries never exceed the provider's rate, and the backoff only has to
    spread them out, while each second it adds is a second the provider's slot stands idle.

    Examples
    --------
    >>> len(list(backoff_delays(4, rng=random.Random(1))))
    3
    """
    draw = rng or random.Random()
    for attempt in range(attempts - 1):
        yield full_jitter(attempt, base=base, cap=cap, rng=draw)


def full_jitter(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """The sleep before try ``attempt + 2`` (``attempt`` from 0): uniform in ``[0, min(cap, base * 2**attempt)]``."""
    upper = min(cap, base * 2**attempt)
    return rng.uniform(0, upper) if rng else random.uniform(0, upper)
