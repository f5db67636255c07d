"""S3 adapter: the few operations the pipeline needs, with S3 errors mapped to domain errors."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from poster_common.errors import SourceMissingError, TransientError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mypy_boto3_s3.client import S3Client

# Multipart parts of 5 MiB (S3's smallest), two in flight: memory stays bounded whatever the object's size
# (bench/bench_finalize.py: peak RSS copying 64 MB vs 1 MB).
_STREAM_TRANSFER = TransferConfig(
    multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=2, use_threads=True
)
# s3transfer reads a non-seekable stream up to this many parts ahead (10 by default: 80 MiB); boto3's
# TransferConfig has no argument for it. Two parts: the two in flight, and memory stays flat.
_STREAM_TRANSFER.max_in_memory_upload_chunks = 2
CHUNK_BYTES = 1024 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}


@dataclass(frozen=True)
class ObjectHead:
    size: int
    content_type: str
    etag: str
    version_id: str | None
    metadata: dict[str, str]


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of chunks, so ``upload_fileobj`` can stream it."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = chunk
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class S3ObjectStore:
    """Thin wrapper over an S3 client.

    Examples
    --------
    >>> store = S3ObjectStore(aws.client("s3"))  # doctest: +SKIP
    """

    def __init__(self, client: S3Client) -> None:
        self._s3 = client

    def head(self, bucket: str, key: str, version_id: str | None = None) -> ObjectHead:
        args: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            args["VersionId"] = version_id
        try:
            answer = self._s3.head_object(**args)
        except ClientError as exc:
            raise _translate(exc, f"s3://{bucket}/{key}") from exc
        return ObjectHead(
            size=answer["ContentLength"],
            content_type=answer.get("ContentType", ""),
            etag=answer.get("ETag", "").strip('"'),
            version_id=answer.get("VersionId"),
            metadata=dict(answer.get("Metadata", {})),
        )

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.head(bucket, key)
        except SourceMissingError:
            return False
        return True

    def read(self, bucket: str, key: str, *, max_bytes: int, version_id: str | None = None) -> bytes:
        """The first ``max_bytes`` of an object (a ranged GET: cheap even for large objects)."""
        return self._ranged(bucket, key, f"bytes=0-{max_bytes - 1}", max_bytes, version_id)[:max_bytes]

    def read_tail(self, bucket: str, key: str, *, nbytes: int, version_id: str | None = None) -> bytes:
        """The last ``nbytes`` of an object (a suffix-range GET)."""
        return self._ranged(bucket, key, f"bytes=-{nbytes}", nbytes, version_id)[-nbytes:]

    def _ranged(self, bucket: str, key: str, byte_range: str, limit: int, version_id: str | None) -> bytes:
        args: dict[str, Any] = {"Bucket": bucket, "Key": key, "Range": byte_range}
        if version_id:
            args["VersionId"] = version_id
        try:
            answer = self._s3.get_object(**args)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""
            raise _translate(exc, f"s3://{bucket}/{key}") from exc
        body: bytes = answer["Body"].read(limit)
        return body

    def put_bytes(self, bucket: str, key: str, body: bytes, *, content_type: str) -> None:
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type)

    def presign_get(self, bucket: str, key: str, *, expires: int, version_id: str | None = None) -> str:
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version_id:
            params["VersionId"] = version_id
        return self._s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires)

    def put_json(self, bucket: str, key: str, document: Any) -> None:
        body = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True).encode()
        self._s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json; charset=utf-8")

    def get_json(self, bucket: str, key: str, *, max_bytes: int = 1024 * 1024) -> Any:
        return json.loads(self.read(bucket, key, max_bytes=max_bytes))

    def put_stream(
        self,
        bucket: str,
        key: str,
        chunks: Iterator[bytes],
        *,
        content_type: str,
        metadata: dict[str, str] | None = None,
    ) -> None:
        """Stream chunks into an object in bounded memory (multipart above 8 MiB)."""
        extra: dict[str, Any] = {"ContentType": content_type}
        if metadata:
            extra["Metadata"] = metadata
        self._s3.upload_fileobj(
            io.BufferedReader(_ChunkReader(chunks), CHUNK_BYTES), bucket, key, ExtraArgs=extra, Config=_STREAM_TRANSFER
        )


def _translate(exc: ClientError, what: str) -> Exception:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    if code in _MISSING:
        return SourceMissingError(f"{what} does not exist")
    if code in {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"}:
        return TransientError(f"S3 {code} for {what}")
    return exc
