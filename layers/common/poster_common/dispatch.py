"""Release-and-dispatch: hand free provider slots to the oldest parked jobs.

``dispatch`` is the only place a task is submitted. It runs wherever a slot may have become free or a
job may have arrived, and costs a couple of DynamoDB calls when there is nothing to do:

- after Submit parked a batch of uploads (``functions/submit``);
- when an execution gives its slot back (the state machine's ``ReleaseSlot`` step, via ``release``);
- when an execution died without doing so (the Step Functions status-change event, via ``cleanup``);
- from a schedule (``sweep``): leases that expired or whose execution ended without releasing them,
  dispatchers that crashed, and the age metric.

One round: lease a slot (conditional put; none free → stop, a later release will come back here), or,
on release, keep the finished job's lease; claim the oldest parked job and hand it the lease; take a rate
token and submit (429/5xx retried with jittered backoff, each try with its own token), start the
execution named after the job, extend its lease to ``execution_lease_seconds`` and drop the parked item.
No slot, no work: nothing ever waits in a loop for a slot, so a parked job costs nothing, whatever the
backlog.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from poster_common.durations import first_wait
from poster_common.errors import PermanentError, TransientError
from poster_common.models import Job
from poster_common.notify import utc_now
from poster_common.record_failure import record_ended_execution
from poster_common.submit import execution_input, record_submit_failure, submit_task

if TYPE_CHECKING:
    from collections.abc import Callable

    from poster_common.payloads import ExecutionStatusChange
    from poster_common.quota_gate import Parked
    from poster_common.services import Services

logger = logging.getLogger(__name__)

#: A dispatcher stops starting rounds when fewer seconds than this are left in its invocation.
MIN_SECONDS_LEFT = 20.0
MAX_ROUNDS_PER_CALL = 50
TERMINAL_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


@dataclass
class DispatchReport:
    """What one ``dispatch`` call did (for logs and metrics)."""

    started: int = 0
    failed: int = 0
    requeued: int = 0
    throttled: int = 0
    provider_errors: int = 0

    def to_dict(self) -> dict[str, int]:
        return {
            "started": self.started,
            "failed": self.failed,
            "requeued": self.requeued,
            "throttled": self.throttled,
            "provider_errors": self.provider_errors,
        }


def dispatch(
    services: Services, remaining_seconds: Callable[[], float], report: DispatchReport | None = None
) -> DispatchReport:
    """Start parked jobs, oldest first, while slots are free (see the module docstring)."""
    slots = services.slots
    report = report or DispatchReport()
    for _ in range(MAX_ROUNDS_PER_CALL):
        if remaining_seconds() < MIN_SECONDS_LEFT:
            logger.info("dispatch stops: too little time left (the sweep continues)")
            break
        token = _token()
        slot = slots.acquire_slot(token, services.settings.dispatch_lease_seconds)
        if slot is None:
            break  # every slot is busy: whoever releases one dispatches next
        if _fill(slot, token, services, remaining_seconds, report):
            continue
        slots.release(token)
        # Re-check after releasing: a job parked between our look and our release found no slot.
        if not any(p.claimable(time.time()) for p in slots.parked(limit=10)):
            break
    return report


def release(job_id: str, services: Services, remaining_seconds: Callable[[], float]) -> dict[str, Any]:
    """The job's task is over (or given up on): its slot goes straight to the oldest parked job, or is freed.

    Handing the lease over in place (one conditional update) keeps the provider busy: no delete, no
    re-acquire, no window in which another dispatcher could take the slot for a younger job.
    """
    report = DispatchReport()
    released = _release(job_id, services, remaining_seconds, report)
    dispatch(services, remaining_seconds, report)  # other free slots, and jobs parked meanwhile
    return {"released": released, **report.to_dict()}


def _release(job_id: str, services: Services, remaining_seconds: Callable[[], float], report: DispatchReport) -> int:
    """Hand each lease ``job_id`` holds to the oldest parked job, or free it; returns how many it held."""
    held = [lease for lease in services.slots.leases() if lease.holder == job_id]
    for lease in held:
        if remaining_seconds() < MIN_SECONDS_LEFT or not _fill(lease.slot, job_id, services, remaining_seconds, report):
            services.slots.release(job_id)
    return len(held)


def cleanup(
    change: ExecutionStatusChange, services: Services, remaining_seconds: Callable[[], float]
) -> dict[str, Any]:
    """An execution died. Free its slot, and give its job a failure record if the execution did not write one
    (``record_failure.record_ended_execution``)."""
    execution_arn, name, status = change.execution_arn, change.name, change.status
    if status not in TERMINAL_STATUSES or not name.startswith("job-"):
        return {"released": 0, "ignored": True}
    result = release(name.removeprefix("job-"), services, remaining_seconds)
    if result["released"]:
        logger.warning("execution %s ended %s holding a slot: released", name, status)
    failure_key = record_ended_execution(execution_arn, services) if execution_arn else None
    if failure_key:
        logger.warning("execution %s ended %s without an outcome: failure record %s", name, status, failure_key)
    return {**result, "failure_key": failure_key}


def sweep(services: Services, remaining_seconds: Callable[[], float]) -> dict[str, Any]:
    """The scheduled safety net: free slots whose execution has ended, dispatch (expired leases and claims
    count as free) and report the backlog."""
    report = DispatchReport()
    reclaimed = 0
    for holder in _holders_of_ended_executions(services):
        logger.warning("job %s's execution has ended but its slot was never released: releasing it", holder)
        reclaimed += _release(holder, services, remaining_seconds, report)
    dispatch(services, remaining_seconds, report)
    age = services.slots.oldest_parked_age()
    return {"reclaimed": reclaimed, "oldest_parked_age_seconds": age or 0.0, **report.to_dict()}


def _holders_of_ended_executions(services: Services) -> list[str]:
    """Jobs holding a live lease whose execution is no longer running (its ReleaseSlot failed for good).

    One ``DescribeExecution`` per live lease, so at most ``MODEL_MAX_IN_PROGRESS`` calls a sweep. A job
    whose execution does not exist yet is being started by a dispatcher: its lease stays.
    """
    ended = []
    prefix = services.settings.state_machine_arn.replace(":stateMachine:", ":execution:", 1)
    for lease in services.slots.live_leases():
        if lease.holder.startswith("dispatch-"):
            continue
        try:
            status = services.sfn.describe_execution(executionArn=f"{prefix}:job-{lease.holder}")["status"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ExecutionDoesNotExist":
                raise
            continue
        if status != "RUNNING":
            ended.append(lease.holder)
    return ended


def _throttled(error: TransientError) -> bool:
    """A 429 (``Throttling``, ``Throttling.RateQuota``, ``Throttling.BurstRate``, ...)."""
    return error.code.startswith("Throttling") or error.message.startswith("HTTP 429")


def _token() -> str:
    return f"dispatch-{uuid.uuid4().hex}"


def _fill(
    slot: str, holder: str, services: Services, remaining_seconds: Callable[[], float], report: DispatchReport
) -> bool:
    """Give ``holder``'s lease on ``slot`` to the oldest parked job and start it; False when none is waiting
    (or the lease is no longer ``holder``'s: then the job goes back to its place in the queue)."""
    slots, lease_seconds = services.slots, services.settings.dispatch_lease_seconds
    token = _token()
    parked = _claim_oldest(services, token)
    if parked is None:
        return False
    if not slots.hand_over(slot, holder, parked.job_id, lease_seconds):
        logger.warning("slot %s is no longer held by %s: job %s goes back to the queue", slot, holder, parked.job_id)
        slots.unclaim(parked, token, attempts=parked.attempts)
        return False
    _start(parked, token, services, remaining_seconds, report)
    return True


def _claim_oldest(services: Services, token: str) -> Parked | None:
    now = time.time()
    for parked in services.slots.parked(limit=10):
        if parked.claimable(now) and services.slots.claim(parked, token, services.settings.dispatch_lease_seconds):
            return parked
    return None


def _start(
    parked: Parked, token: str, services: Services, remaining_seconds: Callable[[], float], report: DispatchReport
) -> None:
    """Submit the claimed job's task (unless a dispatcher that died already did: ``parked.task``), then start its
    execution."""
    job = Job.from_dict(parked.job)
    task = parked.task
    if task is None:
        task = _submit(parked, token, job, services, remaining_seconds, report)
        if task is None:
            return
        services.slots.note_submitted(parked, token, task)
    _start_execution(parked, replace(job, submitted_at=str(task["submitted_at"])), task, services, report)


def _submit(
    parked: Parked,
    token: str,
    job: Job,
    services: Services,
    remaining_seconds: Callable[[], float],
    report: DispatchReport,
) -> dict[str, Any] | None:
    """POST the job's task, each try with a rate token; None when it failed (recorded, or back in the queue)."""
    slots = services.slots
    deadline = time.time() + max(0.0, remaining_seconds() - MIN_SECONDS_LEFT / 2)

    def take_token() -> None:
        if not slots.take_rate_token(deadline):
            raise TransientError("no submission token before the invocation's deadline", code="RateTokenTimeout")

    def count(error: TransientError) -> None:
        if _throttled(error):
            report.throttled += 1
        else:
            report.provider_errors += 1

    try:
        submitted = submit_task(job, services, before_attempt=take_token, on_transient=count)
    except PermanentError as exc:
        record_submit_failure(job, exc, services)
        slots.remove(parked)
        slots.release(job.job_id)
        report.failed += 1
        return None
    except TransientError as exc:
        slots.release(job.job_id)
        _requeue_or_fail(parked, token, job, exc, services, report)
        return None
    return {"task_id": submitted.task_id, "request_id": submitted.request_id, "submitted_at": utc_now()}


def _requeue_or_fail(
    parked: Parked, token: str, job: Job, exc: TransientError, services: Services, report: DispatchReport
) -> None:
    """A submit round failed transiently: back at the head of the queue, or a failure record after the last round."""
    slots = services.slots
    # Throttling never costs the job: only 5xx / timeouts / connection errors count towards the cap.
    attempts = parked.attempts + (0 if _throttled(exc) else 1)
    if attempts >= services.settings.dispatch_max_rounds:
        logger.error("job %s: provider still failing after %d rounds: %s", job.job_id, attempts, exc.code)
        record_submit_failure(job, exc, services)
        slots.remove(parked)
        report.failed += 1
    else:
        logger.warning(
            "job %s: submit round %d failed (%s); back at the head of the queue", job.job_id, attempts, exc.code
        )
        slots.unclaim(parked, token, attempts=attempts)
        report.requeued += 1


def _start_execution(
    parked: Parked, job: Job, task: dict[str, Any], services: Services, report: DispatchReport
) -> None:
    """Start the execution named after the job with its submitted task, hold the slot for it, drop the parked item."""
    settings, slots = services.settings, services.slots
    wait = first_wait(services.durations.recent(job.model), settings.poll_schedule)
    try:
        services.sfn.start_execution(
            stateMachineArn=settings.state_machine_arn,
            name=job.execution_name,
            input=json.dumps(execution_input(job, task, settings, wait), ensure_ascii=False),
        )
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ExecutionAlreadyExists":
            # The task runs at the provider: keep the slot (its dispatch lease runs out) and the claim;
            # the sweep starts the execution with the recorded task, without submitting again.
            logger.error("job %s: StartExecution failed (%s); the sweep will retry", job.job_id, type(exc).__name__)
            raise
        logger.info("execution %s already exists", job.execution_name)
    slots.extend(job.job_id, settings.execution_lease_seconds)
    slots.remove(parked)
    report.started += 1
    logger.info("job %s submitted as task %s", job.job_id, task["task_id"])
