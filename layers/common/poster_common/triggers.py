"""What starts a job, as it arrives in an SQS body: an S3 notification, S3's own EventBridge event, or a
"Poster requested" event carrying its spec inline.

The three routes end in the same queue and the same Submit (README "Inputs and outputs"). Keys are
URL-decoded the way each route encodes them: ``+`` is a space in S3 notifications, a literal ``+`` in
EventBridge events (which percent-encode only).

Examples
--------
>>> request = requests_in('{"detail-type": "Poster requested", "source": "shop", "id": "e1", '
...     '"detail": {"key": "incoming/a.jpg", "spec": {"title": "Hi"}, "correlation_id": "c-1"}}',
...     request_source="shop", input_bucket="in")[0]
>>> request.ref.key, request.spec, request.correlation_id
('incoming/a.jpg', {'title': 'Hi'}, 'c-1')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from poster_common.models import ObjectRef
from poster_common.s3_events import NotAnS3EventError, created_objects

OBJECT_CREATED = "Object Created"
POSTER_REQUESTED = "Poster requested"
MAX_CORRELATION_ID_CHARS = 256
#: The stem of the failure record of a request too broken to name an object: ``_requests/<event id>``.
REQUESTS_STEM = "_requests/"


@dataclass(frozen=True)
class PosterRequest:
    """One job asked for: an object version and, from a "Poster requested" event, its spec and correlation id.

    ``by_event``: a "Poster requested" event, which is always answered (a poster or a failure record), where an
    upload outside the input prefix or of another type is simply not ours. ``problem`` (code, message) marks a
    request that can never become a job; it ends as a failure record.
    """

    ref: ObjectRef
    spec: Any = None
    correlation_id: str | None = None
    problem: tuple[str, str] | None = None
    stem: str | None = None
    by_event: bool = False


def requests_in(body: str, *, request_source: str, input_bucket: str) -> list[PosterRequest]:
    """The jobs an SQS body asks for; ``[]`` for S3's test event and for objects that were not created.

    Raises
    ------
    NotAnS3EventError
        The body is none of the three routes' messages (it cannot be answered: it goes to the DLQ).
    """
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise NotAnS3EventError("message body is not JSON") from exc
    if not isinstance(document, dict) or "detail-type" not in document:
        return [PosterRequest(ref) for ref in created_objects(body)]
    detail_type, source = document.get("detail-type"), document.get("source")
    if detail_type == OBJECT_CREATED and source == "aws.s3":
        return [PosterRequest(_created_object(document.get("detail")))]
    if detail_type == POSTER_REQUESTED and source == request_source:
        return [_poster_requested(document, input_bucket)]
    raise NotAnS3EventError(f"unexpected event {detail_type!r} from {source!r}")


def _created_object(detail: Any) -> ObjectRef:
    try:
        bucket, item = detail["bucket"]["name"], detail["object"]
        key = unquote(item["key"])
    except (KeyError, TypeError) as exc:
        raise NotAnS3EventError("the Object Created event names no bucket and key") from exc
    return ObjectRef(bucket, key, item.get("version-id") or None, item.get("etag") or None)


def _poster_requested(event: dict[str, Any], input_bucket: str) -> PosterRequest:
    """Parse the detail ``{"key", "bucket"?, "version_id"?, "spec"?, "correlation_id"?}``; never raise."""
    detail = event.get("detail")
    stem = f"{REQUESTS_STEM}{event.get('id') or 'unknown'}"
    if not isinstance(detail, dict):
        return _refused(input_bucket, stem, "the event's detail must be a JSON object")
    correlation_id = detail.get("correlation_id")
    if correlation_id is not None and (
        not isinstance(correlation_id, str) or not 0 < len(correlation_id) <= MAX_CORRELATION_ID_CHARS
    ):
        return _refused(
            input_bucket, stem, f"correlation_id must be a string of 1-{MAX_CORRELATION_ID_CHARS} characters"
        )
    bucket, key, version_id = detail.get("bucket", input_bucket), detail.get("key"), detail.get("version_id")
    if not isinstance(bucket, str) or not isinstance(key, str) or not key or key.endswith("/"):
        return _refused(
            input_bucket, stem, "the event must name an object: detail.key, a key in the input bucket", correlation_id
        )
    if version_id is not None and not isinstance(version_id, str):
        return _refused(input_bucket, stem, "detail.version_id must be a string", correlation_id)
    ref = ObjectRef(bucket, key.lstrip("/"), version_id)
    if bucket != input_bucket:
        problem = ("ForeignBucket", f"the object must be in the input bucket {input_bucket!r}")
        return PosterRequest(ref, None, correlation_id, problem, by_event=True)
    return PosterRequest(ref, detail.get("spec"), correlation_id, by_event=True)


def _refused(bucket: str, stem: str, message: str, correlation_id: str | None = None) -> PosterRequest:
    return PosterRequest(ObjectRef(bucket, ""), None, correlation_id, ("InvalidPosterRequest", message), stem, True)
