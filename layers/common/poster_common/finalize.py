"""Finalize: copy a succeeded task's results into the output bucket, with a manifest and an event.

The task is queried again here so signed result URLs never pass through the execution history.
Keys are deterministic (``<prefix><stem>/<i>.<ext>``; one format of a multi-format request:
``<prefix><stem>/<label>/<i>.<ext>``), so a re-run writes the same objects.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from poster_common.errors import NoResultCopiedError, PermanentError, TransientError
from poster_common.notify import completion_links, publish_finished
from poster_common.profiles import find_profile
from poster_common.request_outcome import settle_format
from poster_common.result_download import open_result

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from poster_common.models import Job, ResultItem, TaskSnapshot
    from poster_common.payloads import ExecutionState
    from poster_common.services import Services

logger = logging.getLogger(__name__)

EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
# The body must start like the type it claims (a page served as image/png is not copied).
_MAGIC: dict[str, Callable[[bytes], bool]] = {
    "image/png": lambda head: head.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda head: head.startswith(b"\xff\xd8\xff"),
    "image/webp": lambda head: head[:4] == b"RIFF" and head[8:12] == b"WEBP",
    "image/gif": lambda head: head[:4] == b"GIF8",
}
SAFETY_MARGIN_MS = 15_000


def finalize_job(state: ExecutionState, services: Services, remaining_ms: Callable[[], int]) -> dict[str, Any]:
    settings = services.settings
    job = state.job
    if state.task is None:
        raise PermanentError("the execution has no task to finalize", code="TaskMissing")
    snapshot = services.api.query(state.task.task_id)
    if snapshot.status.value != "SUCCEEDED":
        raise PermanentError(f"task is {snapshot.status.value}, not SUCCEEDED", code="TaskNotSucceeded")
    folder = job.delivery.folder(settings.output_prefix, job.stem)
    outcomes = []
    for index, item in enumerate(snapshot.results):
        if remaining_ms() < SAFETY_MARGIN_MS:
            raise TransientError("not enough time left to copy every result; retrying the whole step")
        outcomes.append(_copy_one(index, item, folder, job, services))
    copied = [o["key"] for o in outcomes if o["status"] == "COPIED"]
    manifest_key = folder + "manifest.json"
    services.store.put_json(settings.output_bucket, manifest_key, _manifest(job, state, snapshot, outcomes))
    if not copied:
        reasons = "; ".join(f"{o['index']}: {o['code']}" for o in outcomes) or "the task returned no results"
        raise NoResultCopiedError(f"no result could be copied ({reasons})")
    outcome = "SUCCEEDED" if len(copied) == len(outcomes) else "PARTIAL"
    output_keys = [*copied, manifest_key]
    publish_finished(
        services.events,
        settings.event_bus_name,
        job_id=job.job_id,
        source=job.source,
        outcome=outcome,
        output_keys=output_keys,
        dropped=[{"result": o["index"], **d} for o in outcomes for d in o.get("dropped", ())],
        delivery=job.delivery,
        links=completion_links(
            services.store, settings.output_bucket, output_keys, expires_seconds=settings.completion_link_seconds
        ),
    )
    settle_format(job, {"outcome": outcome, "output_keys": copied, "manifest_key": manifest_key}, services)
    return {"outcome": outcome, "output_keys": copied, "manifest_key": manifest_key}


def _copy_one(index: int, item: ResultItem, folder: str, job: Job, services: Services) -> dict[str, Any]:
    settings = services.settings
    if item.url is None:
        return {"index": index, "status": "FAILED", "code": item.code or "NoUrl", "message": item.message}
    try:
        with open_result(
            item.url,
            allowlist=services.allowlist,
            session=services.http,
            max_bytes=settings.max_result_bytes,
            timeouts=settings.timeouts,
        ) as body:
            extension = EXTENSIONS.get(body.content_type)
            if extension is None:
                raise PermanentError(f"{body.content_type} results are not accepted", code="ResultNotImage")
            key = f"{folder}{index}.{extension}"
            services.store.put_stream(
                settings.output_bucket,
                key,
                _checked_magic(body.content_type, body.chunks),
                content_type=body.content_type,
                metadata={"job-id": job.job_id},
            )
    except PermanentError as exc:
        logger.warning("result %d of job %s refused: %s", index, job.job_id, exc.code)
        return {"index": index, "status": "FAILED", "code": exc.code, "message": exc.message}
    copied: dict[str, Any] = {"index": index, "status": "COPIED", "key": key, "content_type": body.content_type}
    if item.dropped:
        copied["dropped"] = list(item.dropped)
    return copied


def _checked_magic(content_type: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Pass the chunks through once the first 12 bytes match ``content_type`` (``ResultNotImage`` if not)."""
    head = b""
    for chunk in chunks:
        if len(head) < 12:
            head += chunk
            if len(head) < 12:
                continue
            if not _MAGIC[content_type](head):
                raise PermanentError(f"the result body is not {content_type}", code="ResultNotImage")
            yield head
            continue
        yield chunk
    if len(head) < 12:
        if not _MAGIC[content_type](head):
            raise PermanentError(f"the result body is not {content_type}", code="ResultNotImage")
        yield head


def _ignored_fields(job: Job) -> list[str]:
    """The spec fields the job's model could not honour (e.g. ``underlay`` for wan2.5-i2i-preview; the optional
    extensions such as ``formats`` only when the spec sets them)."""
    profile = find_profile(job.model)
    asked = job.spec.to_dict()
    return [name for name in profile.ignored_fields if name in asked] if profile else []


def _manifest(
    job: Job, state: ExecutionState, snapshot: TaskSnapshot, outcomes: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "source": {
            "bucket": job.source.bucket,
            "key": job.source.key,
            "version_id": job.source.version_id,
            "etag": job.source.etag,
        },
        "spec": job.spec.to_dict(),
        "correlation_id": job.delivery.correlation_id,
        "format": job.delivery.format_label,
        "model": job.model,
        "ignored_spec_fields": _ignored_fields(job),
        "task_id": snapshot.task_id,
        "request_id": state.task.request_id if state.task else None,
        "timings": {
            "submitted_at": job.submitted_at,
            "task_submit_time": snapshot.submit_time,
            "task_scheduled_time": snapshot.scheduled_time,
            "task_end_time": snapshot.end_time,
            "polls": state.poll.attempt if state.poll else None,
        },
        "task_metrics": snapshot.task_metrics,
        "results": outcomes,
    }
