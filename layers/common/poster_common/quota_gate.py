"""The provider quota gate, in one DynamoDB table (hash key ``pk``, range key ``sk``, TTL ``expires_at``).

Items
-----
``("slot", "<i>")``
    A lease on one of the provider's in-progress slots: ``holder`` (a dispatch token, then the job id),
    ``expires_at`` (epoch seconds). Taken with a conditional put (free, or its lease has expired),
    given back with a conditional delete on ``holder`` (so a second release is a no-op).
``("rate", "<i>")``
    The submission-rate ring: ``R = max(1, round(rate))`` items, each the time ``at`` it was last
    used. A submission needs an item unused for ``R / rate`` seconds (plus a small guard), claimed with
    a conditional update on its old ``at``: so at most ``R`` submissions ever fall in one window,
    whichever Lambda makes them.
``("parked", "<arrival ms>#<job_id>")``
    A job waiting for a slot: ``job`` (the execution input's ``job``, JSON), ``attempts``, and while a
    dispatcher works on it ``claimed_by`` / ``claim_expires`` (and ``task`` once submitted, so a
    dispatcher that dies after submitting never submits twice). Sorted by arrival: the oldest is
    the first item of a query. Parked items never expire.
``("job#<job_id>", "-")``
    Written with the parked item in one transaction: a job is parked at most once (24 h TTL).

Nothing here polls: parked items wait, at no cost, until a release, an upload or the sweep
dispatches them (``poster_common.dispatch``).
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from collections.abc import Callable

logger = logging.getLogger(__name__)

SLOT = "slot"
RATE = "rate"
PARKED = "parked"
MARKER_TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Lease:
    """One held slot."""

    slot: str
    holder: str
    expires_at: float


@dataclass(frozen=True)
class Parked:
    """One parked job, oldest first when listed."""

    sk: str
    job: dict[str, Any]
    parked_at: float
    attempts: int
    claimed_by: str | None
    claim_expires: float
    task: dict[str, Any] | None

    @property
    def job_id(self) -> str:
        return str(self.job["job_id"])

    def claimable(self, now: float) -> bool:
        """Nobody works on it, or whoever did has let its claim expire."""
        return self.claimed_by is None or self.claim_expires < now


def _conditional_failed(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    return code in ("ConditionalCheckFailedException", "TransactionCanceledException")


def _n(value: float) -> dict[str, str]:
    return {"N": repr(round(value, 6))}


class SlotTable:
    """Leases, rate tokens and the parked FIFO (see the module docstring).

    Parameters
    ----------
    client
        A boto3 DynamoDB client.
    table
        The table name (``SLOT_TABLE``).
    max_in_progress
        Tasks allowed in progress at the provider at once (``MODEL_MAX_IN_PROGRESS``).
    submissions_per_second
        Submissions allowed per second (``MODEL_SUBMISSIONS_PER_SECOND``).
    rate_guard_seconds
        Added to the rate window: clocks and network paths differ by a few milliseconds.

    Examples
    --------
    >>> table = SlotTable(dynamodb, "slots", max_in_progress=1, submissions_per_second=2)  # doctest: +SKIP
    >>> table.acquire_slot("dispatch-1", lease_seconds=300)  # doctest: +SKIP
    '0'
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        max_in_progress: int = 1,
        submissions_per_second: float = 2.0,
        rate_guard_seconds: float = 0.1,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_in_progress < 1 or submissions_per_second <= 0:
            raise ValueError("max_in_progress must be ≥ 1 and submissions_per_second > 0")
        self._client = client
        self.table = table
        self.max_in_progress = max_in_progress
        self.rate_items = max(1, round(submissions_per_second))
        self.rate_window = self.rate_items / submissions_per_second + rate_guard_seconds
        self._clock = clock
        self._sleep = sleep

    # ------------------------------------------------------------------ slot leases

    def leases(self) -> list[Lease]:
        """Every lease item (live or expired), read strongly consistent."""
        items = self._query(SLOT)
        return [Lease(i["sk"]["S"], i.get("holder", {}).get("S", ""), float(i["expires_at"]["N"])) for i in items]

    def live_leases(self) -> list[Lease]:
        """The leases that have not expired."""
        now = self._clock()
        return [lease for lease in self.leases() if lease.expires_at >= now]

    def acquire_slot(self, holder: str, lease_seconds: float) -> str | None:
        """Take a free slot for ``holder``; None when every slot is leased (nothing waits here)."""
        for _ in range(3):  # lost races against other dispatchers: look again, a few times
            now = self._clock()
            live = {lease.slot for lease in self.live_leases()}
            if len(live) >= self.max_in_progress:
                return None
            free = [str(i) for i in range(self.max_in_progress) if str(i) not in live]
            for slot in free:
                try:
                    self._client.put_item(
                        TableName=self.table,
                        Item={
                            "pk": {"S": SLOT},
                            "sk": {"S": slot},
                            "holder": {"S": holder},
                            "expires_at": _n(now + lease_seconds),
                        },
                        ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                        ExpressionAttributeValues={":now": _n(now)},
                    )
                    return slot
                except ClientError as error:
                    if not _conditional_failed(error):
                        raise
        return None

    def hand_over(self, slot: str, holder: str, new_holder: str, lease_seconds: float) -> bool:
        """Give ``holder``'s lease on ``slot`` to ``new_holder`` for ``lease_seconds`` from now."""
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": SLOT}, "sk": {"S": slot}},
                UpdateExpression="SET holder = :new, expires_at = :exp",
                ConditionExpression="holder = :old",
                ExpressionAttributeValues={
                    ":new": {"S": new_holder},
                    ":old": {"S": holder},
                    ":exp": _n(self._clock() + lease_seconds),
                },
            )
            return True
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            return False

    def extend(self, holder: str, lease_seconds: float) -> int:
        """Renew every lease ``holder`` has for ``lease_seconds`` from now; returns how many."""
        return sum(
            self.hand_over(lease.slot, holder, holder, lease_seconds)
            for lease in self.leases()
            if lease.holder == holder
        )

    def release(self, holder: str) -> int:
        """Delete every lease ``holder`` has; returns how many (0 when already released: harmless)."""
        released = 0
        for lease in self.leases():
            if lease.holder != holder:
                continue
            try:
                self._client.delete_item(
                    TableName=self.table,
                    Key={"pk": {"S": SLOT}, "sk": {"S": lease.slot}},
                    ConditionExpression="holder = :holder",
                    ExpressionAttributeValues={":holder": {"S": holder}},
                )
                released += 1
            except ClientError as error:
                if not _conditional_failed(error):
                    raise
        return released

    # ------------------------------------------------------------------ submission rate

    def take_rate_token(self, deadline: float) -> bool:
        """Wait (sleeping, never past ``deadline``, a ``clock()`` time) for a submission token."""
        while True:
            now = self._clock()
            stamps = {item["sk"]["S"]: float(item["at"]["N"]) for item in self._query(RATE)}
            ring = [(stamps.get(str(i)), str(i)) for i in range(self.rate_items)]
            oldest_at, oldest = min(ring, key=lambda entry: -math.inf if entry[0] is None else entry[0])
            ready_at = -math.inf if oldest_at is None else oldest_at + self.rate_window
            if ready_at <= now:
                if self._claim_rate(oldest, oldest_at, now):
                    return True
                continue
            if ready_at > deadline:
                return False
            self._sleep(ready_at - now)

    def _claim_rate(self, sk: str, old: float | None, now: float) -> bool:
        condition = "attribute_not_exists(pk)" if old is None else "#at = :old"
        values: dict[str, Any] = {":now": _n(now)}
        if old is not None:
            values[":old"] = _n(old)
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": RATE}, "sk": {"S": sk}},
                UpdateExpression="SET #at = :now",
                ConditionExpression=condition,
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues=values,
            )
            return True
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            return False

    # ------------------------------------------------------------------ parked jobs

    def park(self, job: dict[str, Any]) -> bool:
        """Append ``job`` to the FIFO; False when this job id was parked before (a duplicate event)."""
        now = self._clock()
        job_id = str(job["job_id"])
        sk = f"{int(now * 1000):015d}#{job_id}"
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                "pk": {"S": f"job#{job_id}"},
                                "sk": {"S": "-"},
                                "parked_at": _n(now),
                                "expires_at": {"N": str(int(now) + MARKER_TTL_SECONDS)},
                            },
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": {
                                "pk": {"S": PARKED},
                                "sk": {"S": sk},
                                "job": {"S": json.dumps(job, ensure_ascii=False)},
                                "parked_at": _n(now),
                                "attempts": {"N": "0"},
                            },
                        }
                    },
                ]
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            return False
        return True

    def parked(self, limit: int = 10) -> list[Parked]:
        """The oldest ``limit`` parked jobs, oldest first."""
        return [self._parked(item) for item in self._query(PARKED, limit=limit)]

    def oldest_parked_age(self) -> float | None:
        """Seconds the oldest parked job has waited (None: nothing parked)."""
        oldest = self.parked(limit=1)
        return None if not oldest else max(0.0, self._clock() - oldest[0].parked_at)

    def claim(self, parked: Parked, token: str, claim_seconds: float) -> bool:
        """Mark ``parked`` as being dispatched by ``token`` (only if nobody else holds a live claim)."""
        now = self._clock()
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": PARKED}, "sk": {"S": parked.sk}},
                UpdateExpression="SET claimed_by = :token, claim_expires = :exp",
                ConditionExpression=(
                    "attribute_exists(pk) AND (attribute_not_exists(claimed_by) OR claim_expires < :now)"
                ),
                ExpressionAttributeValues={":token": {"S": token}, ":exp": _n(now + claim_seconds), ":now": _n(now)},
            )
            return True
        except ClientError as error:
            if not _conditional_failed(error):
                raise
            return False

    def note_submitted(self, parked: Parked, token: str, task: dict[str, Any]) -> None:
        """Remember the provider task on the parked item (a later dispatcher must not submit again)."""
        self._client.update_item(
            TableName=self.table,
            Key={"pk": {"S": PARKED}, "sk": {"S": parked.sk}},
            UpdateExpression="SET task = :task",
            ConditionExpression="claimed_by = :token",
            ExpressionAttributeValues={":task": {"S": json.dumps(task)}, ":token": {"S": token}},
        )

    def unclaim(self, parked: Parked, token: str, *, attempts: int) -> None:
        """Put ``parked`` back at its place in the FIFO (same key: still the oldest) with ``attempts``."""
        try:
            self._client.update_item(
                TableName=self.table,
                Key={"pk": {"S": PARKED}, "sk": {"S": parked.sk}},
                UpdateExpression="SET attempts = :attempts REMOVE claimed_by, claim_expires",
                ConditionExpression="claimed_by = :token",
                ExpressionAttributeValues={":attempts": {"N": str(attempts)}, ":token": {"S": token}},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def remove(self, parked: Parked) -> None:
        """The job left the FIFO (running, or recorded as failed)."""
        self._client.delete_item(TableName=self.table, Key={"pk": {"S": PARKED}, "sk": {"S": parked.sk}})

    # ------------------------------------------------------------------ helpers

    def _query(self, pk: str, limit: int | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "ConsistentRead": True,
            "ScanIndexForward": True,
        }
        if limit is not None:
            kwargs["Limit"] = limit
        items: list[dict[str, Any]] = self._client.query(**kwargs).get("Items", [])
        return items

    @staticmethod
    def _parked(item: dict[str, Any]) -> Parked:
        task = item.get("task", {}).get("S")
        return Parked(
            sk=item["sk"]["S"],
            job=json.loads(item["job"]["S"]),
            parked_at=float(item["parked_at"]["N"]),
            attempts=int(item.get("attempts", {}).get("N", "0")),
            claimed_by=item.get("claimed_by", {}).get("S"),
            claim_expires=float(item.get("claim_expires", {}).get("N", "0")),
            task=json.loads(task) if task else None,
        )
