"""S3 notifications as they arrive in an SQS body: the objects created, keys URL-decoded."""

from __future__ import annotations

import json
from urllib.parse import unquote_plus

from aws_lambda_powertools.utilities.data_classes import S3Event

from poster_common.errors import PosterError
from poster_common.models import ObjectRef


class NotAnS3EventError(PosterError):
    """The message body is not an S3 notification; it cannot be processed (it goes to the DLQ)."""

    code = "NotAnS3Event"


def created_objects(body: str) -> list[ObjectRef]:
    """The objects an SQS body announces; ``[]`` for S3's ``s3:TestEvent`` and for non-create events.

    Examples
    --------
    >>> created_objects('{"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}')
    []
    """
    try:
        document = json.loads(body)
    except ValueError as exc:
        raise NotAnS3EventError("message body is not JSON") from exc
    if not isinstance(document, dict):
        raise NotAnS3EventError("message body is not a JSON object")
    if document.get("Event") == "s3:TestEvent":
        return []
    records = document.get("Records")
    if not isinstance(records, list) or not all(isinstance(r, dict) and isinstance(r.get("s3"), dict) for r in records):
        raise NotAnS3EventError("message body has no S3 Records")
    refs = []
    for record in S3Event(document).records:
        if not record.event_name.startswith("ObjectCreated:"):
            continue
        obj = record.s3.get_object
        refs.append(
            ObjectRef(
                bucket=record.s3.bucket.name,
                key=unquote_plus(obj.key),
                version_id=obj.version_id,
                etag=obj.etag or None,
            )
        )
    return refs
