"""The quota gate (``poster_common.quota_gate``) and release-and-dispatch (``dispatch``) on moto's DynamoDB."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from poster_common import dispatch
from poster_common.config import Settings
from poster_common.durations import DurationLog
from poster_common.models import Job, JobSpec, ObjectRef, SubmittedTask
from poster_common.payloads import ExecutionStatusChange
from poster_common.quota_gate import SlotTable
from poster_common.storage import S3ObjectStore
from tests.conftest import load_event
from tests.unit.domain.conftest import TABLE


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


def table(dynamodb: Any, clock: Clock, limit: int = 1, rate: float = 2.0) -> SlotTable:
    return SlotTable(
        dynamodb, TABLE, max_in_progress=limit, submissions_per_second=rate, clock=clock, sleep=clock.sleep
    )


def job(job_id: str) -> dict[str, Any]:
    return {"job_id": job_id, "stem": job_id, "model": "wanx-ast", "source": {}, "spec": {}, "submitted_at": ""}


def test_slots_are_leased_up_to_the_limit_and_released_by_their_holder(dynamodb: Any, clock: Clock) -> None:
    # GIVEN a limit of 2
    slots = table(dynamodb, clock, limit=2)
    # WHEN three holders ask
    first, second, third = (slots.acquire_slot(h, 60) for h in ("a", "b", "c"))
    # THEN two get a slot and the third gets none (it does not wait)
    assert {first, second} == {"0", "1"}
    assert third is None
    # AND a release by the holder frees exactly its slot; a second release is harmless
    assert slots.release("a") == 1
    assert slots.release("a") == 0
    assert slots.acquire_slot("c", 60) == first


def test_an_expired_lease_comes_back(dynamodb: Any, clock: Clock) -> None:
    slots = table(dynamodb, clock)
    assert slots.acquire_slot("crashed", 60) == "0"
    assert slots.acquire_slot("next", 60) is None
    clock.now += 61
    assert slots.acquire_slot("next", 60) == "0"
    assert slots.release("crashed") == 0  # the late release of the old holder cannot free the new lease
    assert [lease.holder for lease in slots.leases()] == ["next"]


def test_hand_over_and_extend_need_the_current_holder(dynamodb: Any, clock: Clock) -> None:
    slots = table(dynamodb, clock)
    slot = slots.acquire_slot("token", 60)
    assert slot is not None
    assert not slots.hand_over(slot, "someone-else", "job-1", 60)
    assert slots.hand_over(slot, "token", "job-1", 60)
    assert slots.extend("job-1", 3600) == 1
    assert slots.leases()[0].expires_at == clock.now + 3600


def test_rate_tokens_never_exceed_the_rate_in_any_window(dynamodb: Any, clock: Clock) -> None:
    # GIVEN 2 submissions per second
    slots = table(dynamodb, clock, rate=2.0)
    taken = []
    # WHEN six submissions each take a token
    for _ in range(6):
        assert slots.take_rate_token(deadline=clock.now + 60)
        taken.append(clock.now)
    # THEN no window of one second holds more than two of them
    assert all(taken[i + 2] - taken[i] >= 1.0 for i in range(len(taken) - 2))
    # AND a token that cannot come before the deadline is refused without sleeping past it
    assert not slots.take_rate_token(deadline=clock.now + 0.1)


def test_parked_jobs_are_a_fifo_without_duplicates(dynamodb: Any, clock: Clock) -> None:
    slots = table(dynamodb, clock)
    for name in ("a", "b", "c"):
        assert slots.park(job(name))
        clock.now += 0.01
    assert not slots.park(job("b"))  # a duplicate event parks nothing
    parked = slots.parked()
    assert [p.job_id for p in parked] == ["a", "b", "c"]
    # WHEN a dispatcher claims the oldest, another cannot, and an unclaimed job keeps its place
    assert slots.claim(parked[0], "t1", 60)
    assert not slots.claim(parked[0], "t2", 60)
    slots.unclaim(parked[0], "t1", attempts=1)
    again = slots.parked()
    assert [p.job_id for p in again] == ["a", "b", "c"]
    assert again[0].attempts == 1 and again[0].claimable(clock.now)
    assert slots.oldest_parked_age() == pytest.approx(0.03)


def _services(dynamodb: Any, clock: Clock, api: Any, sfn: Any) -> Any:
    settings = Settings(state_machine_arn="arn:sm", max_in_progress=1)
    return SimpleNamespace(
        settings=settings, slots=table(dynamodb, clock), durations=DurationLog(dynamodb, TABLE, clock), api=api, sfn=sfn
    )


def test_cleanup_ignores_executions_that_are_not_ours_or_not_dead(dynamodb: Any, clock: Clock) -> None:
    services = _services(dynamodb, clock, api=None, sfn=FakeSfn())
    for detail in ({"name": "job-abc", "status": "RUNNING"}, {"name": "other", "status": "FAILED"}):
        change = ExecutionStatusChange(execution_arn="", name=detail["name"], status=detail["status"])
        assert dispatch.cleanup(change, services, lambda: 100.0)["ignored"] is True


def test_dispatch_without_a_free_slot_does_nothing(dynamodb: Any, clock: Clock) -> None:
    services = _services(dynamodb, clock, api=None, sfn=None)
    services.slots.acquire_slot("busy", 60)
    services.slots.park(job("waiting"))
    report = dispatch.dispatch(services, lambda: 100.0)
    assert report.to_dict() == {"started": 0, "failed": 0, "requeued": 0, "throttled": 0, "provider_errors": 0}
    assert [p.job_id for p in services.slots.parked()] == ["waiting"]


class FakeApi:
    """The provider: accepts every task and remembers what it was given."""

    def __init__(self) -> None:
        self.submitted: list[dict[str, Any]] = []

    def submit(self, model: str, input_: dict[str, Any], parameters: dict[str, Any], **hooks: Any) -> SubmittedTask:
        if hooks.get("before_attempt"):
            hooks["before_attempt"]()
        self.submitted.append(input_)
        return SubmittedTask(task_id=f"task-{len(self.submitted)}", request_id=None)


class FakeStore:
    def presign_get(self, bucket: str, key: str, **_: Any) -> str:
        return f"https://{bucket}.s3.example/{key}"


class FakeSfn:
    """Executions by name: ``start_execution`` makes one RUNNING; ``ended`` sets a status (and error)."""

    def __init__(self, ended: dict[str, str] | None = None) -> None:
        self.started: list[str] = []
        self.inputs: dict[str, str] = {}
        self.ended = ended or {}
        self.errors: dict[str, str] = {}

    def start_execution(self, *, stateMachineArn: str, name: str, input: str) -> dict[str, Any]:
        self.started.append(name)
        self.inputs[name] = input
        return {"executionArn": f"{stateMachineArn}:{name}"}

    def describe_execution(self, *, executionArn: str) -> dict[str, Any]:
        name = executionArn.rsplit(":", 1)[-1]
        if name not in self.started and name not in self.ended:
            error = {"Error": {"Code": "ExecutionDoesNotExist", "Message": name}}
            raise ClientError(error, "DescribeExecution")  # type: ignore[arg-type]
        described = {"status": self.ended.get(name, "RUNNING"), "input": self.inputs.get(name, "{}")}
        return described | ({"error": self.errors[name]} if name in self.errors else {})


def parked_job(job_id: str, normalised: ObjectRef | None = None) -> dict[str, Any]:
    source = ObjectRef("in", f"incoming/{job_id}.jpg")
    return Job(job_id, job_id, "wanx-ast", source, JobSpec(title=("T",)), normalised=normalised).to_dict()


def _dispatching(dynamodb: Any, clock: Clock, sfn: FakeSfn | None = None) -> Any:
    settings = Settings(
        state_machine_arn="arn:aws:states:us-east-1:123456789012:stateMachine:poster", max_in_progress=1
    )
    return SimpleNamespace(
        settings=settings,
        slots=table(dynamodb, clock),
        durations=DurationLog(dynamodb, TABLE, clock),
        api=FakeApi(),
        sfn=sfn or FakeSfn(),
        store=FakeStore(),
    )


def running(services: Any, job_id: str) -> None:
    """``job_id`` holds the only slot, as after its dispatch."""
    slot = services.slots.acquire_slot("token", 60)
    assert slot is not None
    services.slots.hand_over(slot, "token", job_id, 3600)
    services.sfn.started.append(f"job-{job_id}")


def test_release_hands_the_slot_straight_to_the_oldest_parked_job(dynamodb: Any, clock: Clock) -> None:
    # GIVEN a job holding the only slot and two jobs parked behind it
    services = _dispatching(dynamodb, clock)
    running(services, "finished")
    services.slots.park(parked_job("older"))
    clock.now += 1
    services.slots.park(parked_job("younger"))
    # WHEN the finished job releases its slot
    result = dispatch.release("finished", services, lambda: 100.0)
    # THEN the lease passes to the oldest job, which is submitted and started; the younger one waits
    assert result["released"] == 1
    assert result["started"] == 1
    assert [(lease.slot, lease.holder) for lease in services.slots.leases()] == [("0", "older")]
    assert services.sfn.started[-1] == "job-older"
    assert len(services.api.submitted) == 1
    assert [p.job_id for p in services.slots.parked()] == ["younger"]


def test_release_with_nothing_parked_frees_the_slot(dynamodb: Any, clock: Clock) -> None:
    # GIVEN a job holding the only slot and an empty queue
    services = _dispatching(dynamodb, clock)
    running(services, "finished")
    # WHEN it releases its slot
    result = dispatch.release("finished", services, lambda: 100.0)
    # THEN the slot is free and nothing was submitted
    assert result["released"] == 1
    assert services.slots.leases() == []
    assert services.api.submitted == []


def test_a_second_release_changes_nothing(dynamodb: Any, clock: Clock) -> None:
    # GIVEN a release that handed the slot to the next job
    services = _dispatching(dynamodb, clock)
    running(services, "finished")
    services.slots.park(parked_job("next"))
    dispatch.release("finished", services, lambda: 100.0)
    services.slots.park(parked_job("later"))
    # WHEN the finished job's release runs again (a retried ReleaseSlot step)
    result = dispatch.release("finished", services, lambda: 100.0)
    # THEN it holds nothing any more: the next job keeps the slot and the later one waits
    assert result["released"] == 0
    assert [lease.holder for lease in services.slots.leases()] == ["next"]
    assert [p.job_id for p in services.slots.parked()] == ["later"]
    assert len(services.api.submitted) == 1


def test_the_api_gets_the_normalised_copy_when_there_is_one(dynamodb: Any, clock: Clock) -> None:
    # GIVEN two parked jobs, one with a normalised background
    services = _dispatching(dynamodb, clock)
    services.slots.park(parked_job("plain"))
    clock.now += 1
    services.slots.park(parked_job("cmyk", normalised=ObjectRef("out", "normalised/cmyk.jpg")))
    # WHEN both are dispatched, one after the other
    dispatch.dispatch(services, lambda: 100.0)
    dispatch.release("plain", services, lambda: 100.0)
    # THEN the API was given the upload for one and the normalised copy for the other, without reading either
    assert [s["image_url"] for s in services.api.submitted] == [
        "https://in.s3.example/incoming/plain.jpg",
        "https://out.s3.example/normalised/cmyk.jpg",
    ]


@pytest.mark.parametrize("status", ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"])
def test_the_sweep_frees_a_slot_whose_execution_ended_without_releasing_it(
    dynamodb: Any, clock: Clock, status: str
) -> None:
    # GIVEN a job holding the only slot although its execution has ended (its ReleaseSlot failed for good)
    services = _dispatching(dynamodb, clock, FakeSfn({"job-stuck": status}))
    running(services, "stuck")
    services.slots.park(parked_job("waiting"))
    # WHEN the sweep runs
    result = dispatch.sweep(services, lambda: 100.0)
    # THEN the slot goes to the waiting job
    assert result["reclaimed"] == 1
    assert [lease.holder for lease in services.slots.leases()] == ["waiting"]
    assert services.sfn.started[-1] == "job-waiting"


def test_the_sweep_leaves_running_and_starting_jobs_their_slots(dynamodb: Any, clock: Clock) -> None:
    # GIVEN two slots: one held by a running execution, one by a job whose execution is not started yet
    services = _dispatching(dynamodb, clock)
    services.slots = table(dynamodb, clock, limit=2)
    running(services, "busy")
    slot = services.slots.acquire_slot("token-2", 60)
    services.slots.hand_over(slot, "token-2", "starting", 300)
    services.slots.park(parked_job("waiting"))
    # WHEN the sweep runs
    result = dispatch.sweep(services, lambda: 100.0)
    # THEN both keep their slots and the waiting job keeps waiting
    assert result["reclaimed"] == 0
    assert sorted(lease.holder for lease in services.slots.leases()) == ["busy", "starting"]
    assert [p.job_id for p in services.slots.parked()] == ["waiting"]


@pytest.fixture
def outputs(dynamodb: Any) -> Any:
    """The output bucket and the default event bus (inside the same ``mock_aws``)."""
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="out")
    return SimpleNamespace(s3=s3, events=boto3.client("events", region_name="us-east-1"))


def _with_outputs(services: Any, outputs: Any) -> Any:
    services.store = S3ObjectStore(outputs.s3)
    services.events = outputs.events
    services.settings = Settings(
        state_machine_arn=services.settings.state_machine_arn, max_in_progress=1, output_bucket="out"
    )
    return services


def _failure(outputs: Any, stem: str) -> dict[str, Any] | None:
    try:
        return dict(json.loads(outputs.s3.get_object(Bucket="out", Key=f"failed/{stem}.json")["Body"].read()))
    except outputs.s3.exceptions.NoSuchKey:
        return None


def _status_change(services: Any, job_id: str, status: str) -> ExecutionStatusChange:
    arn = services.settings.state_machine_arn.replace(":stateMachine:", ":execution:") + f":job-{job_id}"
    event = load_event("slots_eventbridge_execution_aborted.json")
    event["detail"] |= {"executionArn": arn, "name": f"job-{job_id}", "status": status}
    change = ExecutionStatusChange.from_event(event)
    assert change is not None
    return change


def test_cleanup_hands_the_slot_of_an_aborted_execution_on_and_records_its_failure(
    dynamodb: Any, clock: Clock, outputs: Any
) -> None:
    # GIVEN a running job holding the only slot and a job parked behind it
    services = _with_outputs(_dispatching(dynamodb, clock), outputs)
    services.slots.park(parked_job("aborted"))
    dispatch.dispatch(services, lambda: 100.0)
    clock.now += 1
    services.slots.park(parked_job("next"))
    # WHEN an operator aborts the running job's execution
    services.sfn.ended["job-aborted"] = "ABORTED"
    result = dispatch.cleanup(_status_change(services, "aborted", "ABORTED"), services, lambda: 100.0)
    # THEN its slot goes to the parked job, and the aborted job gets a failure record
    assert (result["released"], result["started"]) == (1, 1)
    assert [lease.holder for lease in services.slots.leases()] == ["next"]
    record = _failure(outputs, "aborted")
    assert record is not None
    assert (record["stage"], record["code"], record["task_id"]) == ("execution", "ExecutionAborted", "task-1")
    assert result["failure_key"] == "failed/aborted.json"


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        ("TIMED_OUT", "States.Timeout", "ExecutionTimedOut"),
        ("FAILED", "FailureNotRecorded", "ExecutionFailed"),
        ("FAILED", "States.Runtime", "ExecutionFailed"),
        ("FAILED", "PosterJobFailed", None),
    ],
)
def test_an_execution_that_died_without_a_failure_record_gets_one(
    dynamodb: Any, clock: Clock, outputs: Any, status: str, error: str, code: str | None
) -> None:
    # GIVEN a job whose execution ended ``status`` with ``error``
    services = _with_outputs(_dispatching(dynamodb, clock), outputs)
    services.slots.park(parked_job("died"))
    dispatch.dispatch(services, lambda: 100.0)
    services.sfn.ended["job-died"] = status
    services.sfn.errors["job-died"] = error
    # WHEN the status-change event arrives
    result = dispatch.cleanup(_status_change(services, "died", status), services, lambda: 100.0)
    # THEN a failure record is written, unless the state machine's own failure exit wrote one already
    record = _failure(outputs, "died")
    assert (record or {}).get("code") == code
    assert result["failure_key"] == ("failed/died.json" if code else None)
    assert services.slots.leases() == []
