"""Failure records and the one "Poster job finished" event per job (README "Inputs and outputs": its detail is
also the completion webhook's payload)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from poster_common.models import Delivery
from poster_common.request_outcome import settle_format

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

    from poster_common.models import Job, ObjectRef
    from poster_common.services import Services
    from poster_common.storage import S3ObjectStore

EVENT_SOURCE = "poster-pipeline"
EVENT_DETAIL_TYPE = "Poster job finished"


@dataclass(frozen=True)
class FailureRecord:
    """Machine-readable account of why a job produced no poster."""

    job_id: str | None
    stage: str  # submit | task | poll | timeout | finalize | execution
    code: str
    message: str
    source: ObjectRef
    task_id: str | None = None
    request_id: str | None = None
    correlation_id: str | None = None
    format: str | None = None

    def to_dict(self, recorded_at: str) -> dict[str, Any]:
        document = asdict(self)
        document["source"] = {k: v for k, v in asdict(self.source).items() if k != "etag"}
        document["recorded_at"] = recorded_at
        return document


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def record_job_failure(stem: str, record: FailureRecord, services: Services, *, job: Job | None = None) -> str:
    """Write ``record`` as the failure record of the job of ``stem`` and publish its FAILED event; return its key.

    With the ``job`` (once a job exists), the record answers its request (correlation id, format) and
    settles its format in a multi-format request; before that, ``record.correlation_id`` is the answer.
    """
    settings = services.settings
    delivery = job.delivery if job else Delivery(correlation_id=record.correlation_id)
    record = replace(
        record,
        correlation_id=delivery.correlation_id,
        format=delivery.format_label,
    )
    key = delivery.failure_key(settings.failure_prefix, stem)
    services.store.put_json(settings.output_bucket, key, record.to_dict(utc_now()))
    publish_finished(
        services.events,
        settings.event_bus_name,
        job_id=record.job_id,
        source=record.source,
        outcome="FAILED",
        failure_code=record.code,
        delivery=delivery,
        links=[] if settings.completion_link_seconds else None,  # with links on, every detail has the key
    )
    if job is not None:
        settle_format(job, {"outcome": "FAILED", "failure_code": record.code, "failure_key": key}, services)
    return key


def publish_finished(
    events: EventBridgeClient,
    bus: str,
    *,
    job_id: str | None,
    source: ObjectRef,
    outcome: str,
    output_keys: list[str] | None = None,
    failure_code: str | None = None,
    dropped: list[dict[str, Any]] | None = None,
    delivery: Delivery | None = None,
    links: list[dict[str, str]] | None = None,
) -> None:
    """Put one event on the bus so other automations can chain on a finished job (README "Events").

    ``links`` (`completion_links`) is added as the detail's ``links`` only when given: a stack without
    ``WebhookIncludeLinks`` publishes no such key at all.
    """
    delivery = delivery or Delivery()
    detail: dict[str, Any] = {
        "job_id": job_id,
        "correlation_id": delivery.correlation_id,
        "format": delivery.format_label,
        "source_bucket": source.bucket,
        "source_key": source.key,
        "outcome": outcome,
        "output_keys": output_keys or [],
        "failure_code": failure_code,
        "dropped": dropped or [],
    }
    if links is not None:
        detail["links"] = links
    events.put_events(
        Entries=[
            {
                "Source": EVENT_SOURCE,
                "DetailType": EVENT_DETAIL_TYPE,
                "Detail": json.dumps(detail, ensure_ascii=False),
                "EventBusName": bus,
            }
        ]
    )


def completion_links(
    store: S3ObjectStore, bucket: str, keys: list[str], *, expires_seconds: int
) -> list[dict[str, str]] | None:
    """A presigned GET of each of ``keys`` with its expiry, for the completion event; None when links are off
    (``expires_seconds`` 0: ``COMPLETION_LINK_SECONDS``, set by the template's ``WebhookIncludeLinks``).

    A link is signed with the caller's credentials: it stops working at ``expires_at`` or when they expire.

    Examples
    --------
    >>> completion_links(store, "out", ["posters/a/0.png"], expires_seconds=0) is None  # doctest: +SKIP
    True
    """
    if expires_seconds <= 0:
        return None
    expires_at = (datetime.now(UTC) + timedelta(seconds=expires_seconds)).isoformat(timespec="seconds")
    return [
        {
            "key": key,
            "url": store.presign_get(bucket, key, expires=expires_seconds),
            "expires_at": expires_at.replace("+00:00", "Z"),
        }
        for key in keys
    ]
