"""``poll_task`` with a hold: a task that ends during the hold is seen at once, a long one is answered in time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from poster_common.config import Settings
from poster_common.models import TaskSnapshot, TaskStatus
from poster_common.poll import poll_task
from tests.unit.domain.fakes import SimulatedClock


class Api:
    def __init__(self, statuses: list[str], clock: SimulatedClock, round_trip: float = 0.0) -> None:
        self.statuses = statuses
        self.queries = 0
        self.clock = clock
        self.round_trip = round_trip

    def query(self, task_id: str) -> TaskSnapshot:
        status = self.statuses[min(self.queries, len(self.statuses) - 1)]
        self.queries += 1
        self.clock.now += self.round_trip
        return TaskSnapshot(task_id=task_id, status=TaskStatus(status), request_id="r")


def poll(api: Api, clock: SimulatedClock, hold: float) -> dict[str, Any]:
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
    clock = SimulatedClock()
    api = Api(["RUNNING", "RUNNING", "RUNNING", "SUCCEEDED"], clock)
    # WHEN Poll holds for up to 2 s
    result = poll(api, clock, hold=2.0)
    # THEN it answers SUCCEEDED after four queries, 0.3 s later
    assert result["status"] == "SUCCEEDED"
    assert api.queries == 4
    assert abs(clock.now - 0.3) < 1e-9


def test_the_hold_is_bounded_and_zero_means_one_query() -> None:
    clock = SimulatedClock()
    api = Api(["RUNNING"], clock)
    assert poll(api, clock, hold=1.0)["status"] == "RUNNING"
    assert clock.now <= 1.0 and api.queries == 11
    single_clock = SimulatedClock()
    single = Api(["RUNNING"], single_clock)
    assert poll(single, single_clock, hold=0.0)["status"] == "RUNNING"
    assert single.queries == 1


def test_queries_keep_their_cadence_whatever_the_round_trip() -> None:
    # GIVEN a provider that takes 30 ms to answer and a task that never ends
    clock = SimulatedClock()
    api = Api(["RUNNING"], clock, round_trip=0.03)
    # WHEN Poll holds for 1 s
    poll(api, clock, hold=1.0)
    # THEN it queried every 0.1 s (not every 0.13 s): 11 queries, the last one started at 1.0 s
    assert api.queries == 11
    assert abs(clock.now - 1.03) < 1e-9


def test_held_polls_share_three_quarters_of_the_query_quota() -> None:
    # GIVEN the provider's query quota (20/s by default) WHEN 1 or 4 tasks may run at once
    one = Settings.from_env({})
    four = Settings.from_env({"MODEL_MAX_IN_PROGRESS": "4", "MODEL_QUERIES_PER_SECOND": "40"})
    # THEN the held Polls together query 15 (resp. 30) times per second, whatever the number running
    assert 1 / one.poll_hold_interval == pytest.approx(15)
    assert 4 / four.poll_hold_interval == pytest.approx(30)
    with pytest.raises(ValueError, match="MODEL_QUERIES_PER_SECOND"):
        Settings.from_env({"MODEL_QUERIES_PER_SECOND": "0"})
