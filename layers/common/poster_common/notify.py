"""Failure records and the one "Poster job finished" event per job."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from poster_common.format_sets import settle_format
from poster_common.models import Delivery

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

    from poster_common.models import Job, ObjectRef
    from poster_common.services import Services

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
        format=delivery.format.label if delivery.format else None,
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
) -> None:
    """Put one event on the bus so other automations can chain on a finished job (README "Events")."""
    delivery = delivery or Delivery()
    detail = {
        "job_id": job_id,
        "correlation_id": delivery.correlation_id,
        "format": delivery.format.label if delivery.format else None,
        "source_bucket": source.bucket,
        "source_key": source.key,
        "outcome": outcome,
        "output_keys": output_keys or [],
        "failure_code": failure_code,
        "dropped": dropped or [],
    }
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
