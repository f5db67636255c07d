"""``poll_task`` with a hold: a task that ends during the hold is seen at once, a long one is answered in time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from poster_common.models import TaskSnapshot, TaskStatus
from poster_common.poll import poll_task


class Api:
    def __init__(self, statuses: list[str]) -> None:
        self.statuses = statuses
        self.queries = 0

    def query(self, task_id: str) -> TaskSnapshot:
        status = self.statuses[min(self.queries, len(self.statuses) - 1)]
        self.queries += 1
        return TaskSnapshot(task_id=task_id, status=TaskStatus(status), request_id="r")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def poll(api: Api, clock: Clock, hold: float) -> dict[str, Any]:
    return poll_task(
        "t",
        0,
        "",
        api=api,  # type: ignore[arg-type]
        schedule=(0,),
        now=datetime(2026, 11, 24, tzinfo=UTC),
        hold_seconds=hold,
        clock=clock,
        sleep=clock.sleep,
    )


def test_a_task_that_ends_during_the_hold_is_answered_when_it_ends() -> None:
    # GIVEN a task that runs for three more queries
    api, clock = Api(["RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"]), Clock()
    # WHEN Poll holds for up to 2 s
    result = poll(api, clock, hold=2.0)
    # THEN it answers SUCCEEDED after four queries, 0.3 s later
    assert result["status"] == "SUCCEEDED"
    assert api.queries == 4
    assert abs(clock.now - 0.3) < 1e-9


def test_the_hold_is_bounded_and_zero_means_one_query() -> None:
    api, clock = Api(["RUNNING"]), Clock()
    assert poll(api, clock, hold=1.0)["status"] == "RUNNING"
    assert clock.now <= 1.0 and api.queries == 11
    single = Api(["RUNNING"])
    assert poll(single, Clock(), hold=0.0)["status"] == "RUNNING"
    assert single.queries == 1
