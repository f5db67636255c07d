"""Polling that learns against the official SDK's schedule, on the same task durations, in the same run.

For each task-time distribution, the same seeded durations are polled two ways by the real Poll code
(`poster_common.poll.poll_learning`, on a simulated clock: a task "runs" until its duration has passed):

- ``sdk``: no history: the wait loop follows the SDK's schedule (1, 1, 2, 2, 2, 4, 4, 4, 5 s …), one query a Poll;
- ``learned``: a history of the model's recent durations (32, from the same distribution): the first Poll just
  before the likely end, Polls that hold on the query quota's cadence (one task in progress: every 1/15 s).

Per poster: Poll invocations, provider queries, the wait loop's state transitions (Wait + Poll + Choice per Poll),
the held Polls' GB-seconds (at the template's ``PollFunction`` ``MemorySize``), detection lag (when the loop saw
the end − when the task ended) p50/p95, and
the loop's cost at us-east-1 prices (Step Functions Standard $0.025 / 1,000 transitions, arm64 Lambda
$0.0000133334 / GB-s + $0.20 / million requests). The Step Functions and Lambda hops themselves (tens of ms) are
not simulated. Prints a table; asserts nothing.

Usage: ``python bench/bench_polling.py [--jobs 500]``
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from local_stack.stack import DEFAULT_TEMPLATE
from local_stack.template import Template
from poster_common.durations import SAMPLES, TaskDurations, first_wait
from poster_common.models import TaskSnapshot, TaskStatus
from poster_common.poll import poll_learning
from tests.unit.domain.fakes import SimulatedClock

SDK_SCHEDULE = (1, 1, 2, 2, 2, 4, 4, 4, 5)
HOLD_INTERVAL = 1 / 15  # one task in progress, three quarters of 20 queries/s
POLL_GB = Template(DEFAULT_TEMPLATE).function("PollFunction").memory_mb / 1024
PRICE_TRANSITION = 0.025 / 1000
PRICE_GB_SECOND = 0.0000133334
PRICE_REQUEST = 0.20 / 1_000_000
EPOCH = datetime(2026, 11, 27, tzinfo=UTC)
DISTRIBUTIONS = {"composer render (0.2-1.0 s)": (0.2, 1.0), "DashScope-like (8-40 s)": (8.0, 40.0)}


class _Task:
    """The provider's view of one task: RUNNING until ``seconds`` on the clock."""

    def __init__(self, clock: SimulatedClock, seconds: float) -> None:
        self.clock, self.seconds, self.queries = clock, seconds, 0

    def query(self, task_id: str) -> TaskSnapshot:
        self.queries += 1
        status = TaskStatus.SUCCEEDED if self.clock.now >= self.seconds else TaskStatus.RUNNING
        return TaskSnapshot(task_id=task_id, status=status)


class _History:
    """A fixed history (the DurationLog's interface)."""

    def __init__(self, durations: TaskDurations) -> None:
        self.durations = durations

    def recent(self, model: str) -> TaskDurations:
        return self.durations

    def record(self, model: str, task_id: str, seconds: float) -> None:
        """The bench keeps its history fixed."""


def poll_one(seconds: float, durations: TaskDurations) -> dict[str, float]:
    """Run the wait loop for one task; what it cost and how late it saw the end."""
    clock = SimulatedClock()
    task = _Task(clock, seconds)
    clock.now = float(first_wait(durations, SDK_SCHEDULE))
    polls, held = 0, 0.0
    while True:
        polls += 1
        started = clock.now
        result = poll_learning(
            "t",
            polls - 1,
            EPOCH.isoformat(),
            api=task,  # type: ignore[arg-type]
            history=_History(durations),  # type: ignore[arg-type]
            model="m",
            schedule=SDK_SCHEDULE,
            now=EPOCH + timedelta(seconds=clock.now),
            configured_hold=0.0,
            hold_interval=HOLD_INTERVAL,
            clock=clock,
            sleep=clock.sleep,
        )
        held += clock.now - started
        if result["terminal"]:
            return {"polls": polls, "queries": task.queries, "lag": clock.now - seconds, "held": held}
        clock.now += result["wait_seconds"]


def summarise(runs: list[dict[str, float]]) -> dict[str, Any]:
    polls = statistics.mean(r["polls"] for r in runs)
    gb_seconds = statistics.mean(r["held"] for r in runs) * POLL_GB
    lags = sorted(r["lag"] for r in runs)
    cost = polls * 3 * PRICE_TRANSITION + gb_seconds * PRICE_GB_SECOND + polls * PRICE_REQUEST
    return {
        "polls": polls,
        "queries": statistics.mean(r["queries"] for r in runs),
        "transitions": polls * 3,
        "gb_seconds": gb_seconds,
        "lag_p50": lags[len(lags) // 2],
        "lag_p95": lags[min(len(lags) - 1, int(0.95 * len(lags)))],
        "cost": cost,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(
        "| durations | loop | Polls/poster | queries/poster | transitions/poster | Poll GB-s | lag p50 | lag p95 "
        "| $/poster (loop) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for label, (low, high) in DISTRIBUTIONS.items():
        durations = [rng.uniform(low, high) for _ in range(args.jobs)]
        history = TaskDurations(tuple(sorted(rng.uniform(low, high) for _ in range(SAMPLES))))
        rows = {"sdk": summarise([poll_one(d, TaskDurations()) for d in durations])}
        rows["learned"] = summarise([poll_one(d, history) for d in durations])
        for name, row in rows.items():
            print(
                f"| {label} | {name} | {row['polls']:.2f} | {row['queries']:.1f} | {row['transitions']:.1f} "
                f"| {row['gb_seconds']:.2f} | {row['lag_p50']:.2f} s | {row['lag_p95']:.2f} s | {row['cost']:.6f} |"
            )
        polls = rows["learned"]["polls"] / rows["sdk"]["polls"]
        cost = rows["learned"]["cost"] / rows["sdk"]["cost"]
        print(f"| {label} | learned ÷ sdk | {polls:.2f}× | | | | | | {cost:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
