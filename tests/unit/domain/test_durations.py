"""Polling that learns: the history of task durations, and the waits and holds planned from it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from poster_common.durations import (
    MAX_HOLD_SECONDS,
    MIN_SAMPLES,
    SAMPLES,
    DurationLog,
    TaskDurations,
    first_wait,
    hold_seconds,
    task_seconds,
    wait_schedule,
)
from poster_common.models import TaskSnapshot, TaskStatus
from poster_common.poll import poll_learning
from tests.unit.domain.conftest import TABLE
from tests.unit.domain.fakes import SimulatedClock

SDK = (1, 1, 2, 2, 2, 4, 4, 4, 5)
UNIFORM_8_TO_40 = TaskDurations(tuple(8.0 + i for i in range(33)))


def test_without_history_the_loop_is_the_sdks() -> None:
    few = TaskDurations((10.0,) * (MIN_SAMPLES - 1))

    assert first_wait(few, SDK) == 1
    assert hold_seconds(few, configured=0.0) == 0.0
    assert wait_schedule(few, SDK) == SDK


def test_with_history_the_first_poll_comes_just_before_the_likely_end() -> None:
    assert first_wait(UNIFORM_8_TO_40, SDK) == 8  # 5th percentile 9 s, less a second
    # sub-second tasks (the composer's renders): the first Poll comes at once and holds through the render
    assert first_wait(TaskDurations((0.3, 0.4, 0.5, 0.6, 0.9)), SDK) == 0
    assert wait_schedule(UNIFORM_8_TO_40, SDK) == (1,)


def test_a_poll_holds_as_long_as_it_safely_can_once_durations_are_learnt() -> None:
    # a task that outlasts its peers is held for (a held second costs ~1/45 of another trip round the loop)
    assert hold_seconds(UNIFORM_8_TO_40, configured=0.0) == 30.0 == MAX_HOLD_SECONDS
    assert hold_seconds(UNIFORM_8_TO_40, configured=5.0) == MAX_HOLD_SECONDS


@pytest.mark.parametrize(
    ("submit", "end", "expected"),
    [
        ("2026-11-27 13:29:23.699", "2026-11-27 13:29:24.611", 0.912),
        ("2026-11-27 23:59:59.500", "2026-11-28 00:00:01.000", 1.5),
        (None, "2026-11-27 13:29:24.611", None),
        ("yesterday", "2026-11-27 13:29:24.611", None),
        ("2026-11-27 13:29:25.000", "2026-11-27 13:29:24.000", None),
    ],
)
def test_task_seconds_come_from_the_providers_own_clock(submit: str | None, end: str, expected: float | None) -> None:
    seconds = task_seconds(submit, end)

    assert seconds == (pytest.approx(expected) if expected is not None else None)


def test_the_log_keeps_about_the_last_samples_per_model_and_forgets_old_ones(dynamodb: Any) -> None:
    now = [1_000_000.0]
    log = DurationLog(dynamodb, TABLE, clock=lambda: now[0])
    for i in range(200):
        log.record("wanx-ast", f"task-{i}", float(i % 7))
    log.record("other-model", "task-x", 99.0)

    recent = log.recent("wanx-ast")

    assert 0 < len(recent.seconds) <= SAMPLES
    assert set(recent.seconds) <= {float(i) for i in range(7)}
    assert recent.seconds == tuple(sorted(recent.seconds))
    assert log.recent("other-model").seconds == (99.0,)
    now[0] += 8 * 24 * 3600
    assert log.recent("wanx-ast").seconds == ()


class Api:
    """RUNNING until ``ends_at`` on the clock, then SUCCEEDED with the provider's timestamps."""

    def __init__(self, clock: SimulatedClock, ends_at: float) -> None:
        self.clock, self.ends_at, self.queries = clock, ends_at, 0

    def query(self, task_id: str) -> TaskSnapshot:
        self.queries += 1
        if self.clock.now < self.ends_at:
            return TaskSnapshot(task_id=task_id, status=TaskStatus.RUNNING)
        return TaskSnapshot(
            task_id=task_id,
            status=TaskStatus.SUCCEEDED,
            submit_time="2026-11-27 13:00:00.000",
            end_time="2026-11-27 13:00:12.500",
        )


def test_a_learned_poll_holds_through_the_end_and_records_the_duration(dynamodb: Any) -> None:
    log = DurationLog(dynamodb, TABLE)
    for i in range(MIN_SAMPLES):
        log.record("wanx-ast", f"old-{i}", 12.0 + i)
    clock = SimulatedClock()
    api = Api(clock, ends_at=4.2)  # the task ends 4.2 s into the Poll

    result = poll_learning(
        "t-new",
        0,
        "",
        api=api,  # type: ignore[arg-type]
        history=log,
        model="wanx-ast",
        schedule=SDK,
        now=datetime(2026, 11, 27, tzinfo=UTC),
        configured_hold=0.0,
        hold_interval=0.1,
        clock=clock,
        sleep=clock.sleep,
    )

    assert result["status"] == "SUCCEEDED"
    assert 4.2 <= clock.now <= 4.3 + 1e-9  # seen within one query interval of its end, in one Poll
    assert 12.5 in log.recent("wanx-ast").seconds


def test_without_history_a_poll_queries_once_and_the_loop_follows_the_sdk(dynamodb: Any) -> None:
    clock = SimulatedClock()
    api = Api(clock, ends_at=4.2)

    result = poll_learning(
        "t",
        0,
        "",
        api=api,  # type: ignore[arg-type]
        history=DurationLog(dynamodb, TABLE),
        model="wanx-ast",
        schedule=SDK,
        now=datetime(2026, 11, 27, tzinfo=UTC),
        configured_hold=0.0,
        hold_interval=0.1,
        clock=clock,
        sleep=clock.sleep,
    )

    assert (result["status"], result["wait_seconds"], api.queries) == ("RUNNING", 1, 1)


def test_an_unreadable_or_unwritable_history_only_loses_the_tuning() -> None:
    from botocore.exceptions import ClientError

    class Failing:
        def query(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "Query")

        def put_item(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException"}}, "PutItem")

    log = DurationLog(Failing(), TABLE)

    assert log.recent("wanx-ast") == TaskDurations()
    log.record("wanx-ast", "t", 1.0)  # logged, not raised
