"""Leaked slots come back, on the local stack: an aborted execution and a ReleaseSlot that failed for good.

An aborted job also gets its failure record: every accepted upload still ends with an outcome.

One stack with the quota at 1 in progress. Its scheduled sweep is pushed out of the way (once an hour) so
that each test sees exactly the mechanism it is about: the status-change clean-up for the aborted
execution, and a sweep the test invokes itself for the succeeded job that kept its slot.
"""

from __future__ import annotations

import importlib
import json
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest

from local_stack.stack import LocalStack
from tests.conftest import fixture_image

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

pytestmark = pytest.mark.integration

SLOW_SECONDS = 60


class SlotsWithFailingRelease:
    """The Slots function, except that the next ``release`` fails for good once `fail_next_release` is set.

    A ``RuntimeError`` is not in the ``ReleaseSlot`` step's ``Retry``: its ``Catch`` moves on to Finalize,
    and the job succeeds while its lease stays behind.
    """

    def __init__(self) -> None:
        self.fail_next_release = False
        self.failed: list[str] = []
        self.results: list[tuple[str, dict[str, Any]]] = []
        self._handler: Callable[[Any, Any], Any] | None = None

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        if self._handler is None:  # imported late: the stack puts the template's folders on sys.path
            self._handler = importlib.import_module("functions.slots.app").lambda_handler
        if event.get("action") == "release" and self.fail_next_release:
            self.fail_next_release = False
            self.failed.append(str(event["job_id"]))
            raise RuntimeError("injected: this ReleaseSlot fails for good")
        result = self._handler(event, context)
        self.results.append((str(event.get("action") or event.get("detail-type")), result))
        return result


@pytest.fixture(scope="module")
def slots_function() -> SlotsWithFailingRelease:
    return SlotsWithFailingRelease()


@pytest.fixture(scope="module")
def stack(slots_function: SlotsWithFailingRelease) -> Iterator[LocalStack]:
    composer = {
        # Room for the slow task that keeps running at the provider after its execution is aborted.
        "max_in_progress": 2,
        "rules": [{"match": "[slow]", "task_seconds": SLOW_SECONDS}],
    }
    with LocalStack(
        parameters={
            "Engine": "dashscope",  # the stand-in server: its rules make the slow task
            "ModelName": "wanx-ast",
            "PollSchedule": "1",
            "MaxWaitSeconds": str(SLOW_SECONDS * 2),
            "ModelMaxInProgress": "1",
        },
        composer_config=composer,
        environment={"POWERTOOLS_METRICS_DISABLED": "true"},
        handlers={"SlotsFunction": slots_function},
        schedule_seconds=3600,
    ) as running:
        yield running


def _upload(stack: LocalStack, stem: str, title: str) -> None:
    stack.upload(fixture_image("rocket.jpg"), f"incoming/{stem}.jpg", {"poster-title": title})


def _wait(condition: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)
    return value


def _slot_items(stack: LocalStack, pk: str) -> list[dict[str, Any]]:
    """The slot table's items of one kind (``slot``, ``parked``), read strongly consistent."""
    items: list[dict[str, Any]] = stack.client("dynamodb").query(
        TableName=stack.environment["SLOT_TABLE"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    )["Items"]
    return items


def _leases(stack: LocalStack) -> list[str]:
    return [item["holder"]["S"] for item in _slot_items(stack, "slot")]


def _parked(stack: LocalStack) -> list[str]:
    return [json.loads(item["job"]["S"])["stem"] for item in _slot_items(stack, "parked")]


def _running_execution(stack: LocalStack, stem: str) -> str | None:
    for execution in stack.executions():
        if execution.stem == stem and execution.status == "RUNNING":
            return execution.arn
    return None


def test_an_aborted_execution_hands_its_slot_to_the_parked_job(stack: LocalStack) -> None:
    # GIVEN a slow job holding the only slot, and a job parked behind it
    _upload(stack, "leak-slow", "[slow] holds the slot")
    slow_arn = _wait(lambda: _running_execution(stack, "leak-slow"))
    _upload(stack, "leak-next", "Waits its turn")
    _wait(lambda: _parked(stack) == ["leak-next"])
    # WHEN the slow job's execution is aborted (it never reaches ReleaseSlot)
    stack.client("stepfunctions").stop_execution(executionArn=slow_arn, cause="operator")
    # THEN the status-change clean-up hands its slot to the parked job, which becomes a poster,
    assert stack.wait_for_outcome("leak-next", timeout=60).succeeded
    assert _parked(stack) == []
    assert _wait(lambda: _leases(stack) == [])
    # ... and gives the aborted job a failure record (nothing is lost, even to an operator's abort)
    aborted = stack.wait_for_outcome("leak-slow", timeout=30)
    assert aborted.failure is not None
    assert (aborted.failure["stage"], aborted.failure["code"]) == ("execution", "ExecutionAborted")


def test_a_slot_kept_by_a_succeeded_job_comes_back_at_the_sweep(
    stack: LocalStack, slots_function: SlotsWithFailingRelease
) -> None:
    # GIVEN a job that succeeded although its ReleaseSlot failed for good: its lease is still there
    slots_function.fail_next_release = True
    _upload(stack, "leak-kept", "Keeps its slot")
    kept = stack.wait_for_outcome("leak-kept", timeout=60)
    assert kept.succeeded
    job_id = kept.executions[-1].input["job"]["job_id"]
    assert slots_function.failed == [job_id]
    assert _leases(stack) == [job_id]
    # ... and a job that arrives afterwards finds no slot and parks
    _upload(stack, "leak-after", "Arrives afterwards")
    _wait(lambda: _parked(stack) == ["leak-after"])
    # WHEN the scheduled sweep runs (invoked as EventBridge would)
    scheduled = {
        "version": "0",
        "id": "sweep-1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": {},
    }
    response = stack.client("lambda").invoke(
        FunctionName=stack.resources.function_arns["SlotsFunction"], Payload=json.dumps(scheduled)
    )
    # THEN it frees the slot of the ended execution and hands it to the parked job, which becomes a poster
    swept = json.loads(response["Payload"].read())
    assert (swept["reclaimed"], swept["started"]) == (1, 1)
    assert stack.wait_for_outcome("leak-after", timeout=60).succeeded
    assert _wait(lambda: _leases(stack) == [])
