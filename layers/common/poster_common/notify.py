"""Failure records and the one "Poster job finished" event per job."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

    from poster_common.models import ObjectRef
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

    def to_dict(self, recorded_at: str) -> dict[str, Any]:
        document = asdict(self)
        document["source"] = {k: v for k, v in asdict(self.source).items() if k != "etag"}
        document["recorded_at"] = recorded_at
        return document


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def failure_key(failure_prefix: str, stem: str) -> str:
    return f"{failure_prefix}{stem}.json"


def record_job_failure(stem: str, record: FailureRecord, services: Services) -> str:
    """Write ``record`` as the failure record of the job of ``stem`` and publish its FAILED event; return its key."""
    settings = services.settings
    key = failure_key(settings.failure_prefix, stem)
    services.store.put_json(settings.output_bucket, key, record.to_dict(utc_now()))
    publish_finished(
        services.events,
        settings.event_bus_name,
        job_id=record.job_id,
        source=record.source,
        outcome="FAILED",
        failure_code=record.code,
    )
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
) -> None:
    """Put one event on the bus so other automations can chain on a finished job."""
    detail = {
        "job_id": job_id,
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
