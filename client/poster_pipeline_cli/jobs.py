"""Submit, wait, download, status and listings: plain functions over a boto3 S3 client and a `Target`.

The contract is the stack's S3 contract (README, "Inputs and outputs"): a job starts when an image lands
under ``incoming/`` (its ``<stem>.poster.json`` sidecar read at that moment), and ends as
``posters/<stem>/manifest.json`` (with the posters it lists) or as ``failed/<stem>.json``. Keys are per
stem, so an older job's record can still be there: a record belongs to the job that `submit_job` started
when it was written at or after the image's upload (S3's ``LastModified``, the server's clock) and names
the same image version (``source.version_id``; the input bucket is versioned).
"""

from __future__ import annotations

import json
import posixpath
import re
import time
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from datetime import datetime

    from mypy_boto3_s3 import S3Client

    from poster_pipeline_cli.target import Target

__all__ = [
    "Clock",
    "FailureEntry",
    "JobState",
    "PosterRequest",
    "PosterSet",
    "Submission",
    "UsageError",
    "download_outputs",
    "job_status",
    "list_failures",
    "list_posters",
    "output_keys",
    "read_state",
    "submit_job",
    "wait_for_job",
]

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
POSTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
MAX_RECORD_BYTES = 8 * 1024 * 1024
CHUNK_BYTES = 1024 * 1024
TICK_SECONDS = 0.1
#: A format's folder name: the pipeline's presets (poster_common/formats.py) or ``<W>x<H>``.
FORMAT_LABEL = re.compile(r"square|portrait|story|landscape|banner-4x1|\d{2,4}x\d{2,4}")

# Job statuses (`JobState.status`).
DONE, PARTIAL, FAILED, PENDING, UNKNOWN = "done", "partial", "failed", "pending", "unknown"


class UsageError(ValueError):
    """The request cannot be sent as given (no such file, not a PNG/JPEG name, a bad stem)."""


@dataclass(frozen=True)
class Clock:
    """Time as the wait loop sees it (tests pass a fake one)."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class PosterRequest:
    """What the sidecar asks for; fields left ``None`` / empty are not written (the pipeline's defaults apply).

    Values are passed through as given: the pipeline validates them with the API's own messages, and a bad
    one ends as a failure record (``InvalidParameter``), exactly as for an uploaded sidecar.
    """

    title: list[str]
    subtitle: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    underlay: int | None = None
    logo: str | None = None
    n: int | None = None
    temperature: float | None = None
    formats: list[str] = field(default_factory=list)

    def sidecar(self) -> dict[str, Any]:
        """The ``<stem>.poster.json`` document."""
        document: dict[str, Any] = {"title": list(self.title)}
        optional: dict[str, Any] = {
            "subtitle": list(self.subtitle),
            "text": list(self.text),
            "underlay": self.underlay,
            "logo": self.logo,
            "n": self.n,
            "temperature": self.temperature,
            "formats": list(self.formats),
        }
        document.update({name: value for name, value in optional.items() if value not in (None, [])})
        return document


@dataclass(frozen=True)
class Submission:
    """What `submit_job` uploaded: the job is the one of this image version."""

    stem: str
    image_key: str
    sidecar_key: str
    version_id: str | None
    etag: str
    uploaded_at: datetime
    replaced: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stem": self.stem,
            "image_key": self.image_key,
            "sidecar_key": self.sidecar_key,
            "version_id": self.version_id,
            "etag": self.etag,
            "uploaded_at": self.uploaded_at.isoformat(),
            "replaced": list(self.replaced),
        }


@dataclass(frozen=True)
class JobState:
    """Where the job of one stem stands: ``done``, ``partial``, ``failed``, ``pending`` or ``unknown``."""

    stem: str
    status: str
    manifest_key: str
    failure_key: str
    manifest: dict[str, Any] | None = None
    failure: dict[str, Any] | None = None
    output_keys: list[str] = field(default_factory=list)
    failed_results: int = 0
    image_key: str | None = None
    uploaded_at: datetime | None = None

    @property
    def code(self) -> str | None:
        """The failure code: the record's, or ``NoResultCopied`` for a manifest without a poster."""
        if self.failure is not None:
            return str(self.failure.get("code") or "") or None
        return "NoResultCopied" if self.status == FAILED else None

    @property
    def finished(self) -> bool:
        return self.status in (DONE, PARTIAL, FAILED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stem": self.stem,
            "status": self.status,
            "code": self.code,
            "image_key": self.image_key,
            "uploaded_at": self.uploaded_at.isoformat() if self.uploaded_at else None,
            "manifest_key": self.manifest_key,
            "failure_key": self.failure_key,
            "output_keys": list(self.output_keys),
            "failed_results": self.failed_results,
            "manifest": self.manifest,
            "failure": self.failure,
        }


@dataclass(frozen=True)
class PosterSet:
    """One stem with a manifest, for `list_posters`."""

    stem: str
    manifest_key: str
    last_modified: datetime
    posters: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "stem": self.stem,
            "manifest_key": self.manifest_key,
            "last_modified": self.last_modified.isoformat(),
            "posters": self.posters,
        }


@dataclass(frozen=True)
class FailureEntry:
    """One failure record, for `list_failures`."""

    stem: str
    key: str
    last_modified: datetime
    record: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stem": self.stem,
            "key": self.key,
            "last_modified": self.last_modified.isoformat(),
            "code": self.record.get("code"),
            "stage": self.record.get("stage"),
            "message": self.record.get("message"),
            "record": self.record,
        }


# ---------------------------------------------------------------------------------------------- submit


def check_stem(stem: str) -> str:
    """``stem`` if it can name a job (a key below the input prefix, folders allowed)."""
    parts = stem.split("/")
    if not stem or stem.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise UsageError(f"bad stem {stem!r}: use a name like 'photo' or 'campaign/photo'")
    return stem


def image_extension(image: Path) -> str:
    """The upload's extension (lower case); only ``.png``, ``.jpg`` and ``.jpeg`` start a job."""
    extension = image.suffix.lower()
    if extension not in IMAGE_TYPES:
        raise UsageError(f"{image.name}: the pipeline takes .png, .jpg or .jpeg files")
    return extension


def submit_job(
    s3: S3Client, target: Target, image: Path, request: PosterRequest, *, stem: str | None = None
) -> Submission:
    """Upload ``incoming/<stem>.poster.json`` and then the image as ``incoming/<stem><ext>``.

    The sidecar goes first, so the image's upload starts the job with it. Images already there under the
    same stem (any extension) are deleted first: the bucket is versioned, so they stay as older versions,
    and the new sidecar cannot re-run them (a sidecar upload re-runs the image beside it).

    Raises
    ------
    UsageError
        If the file is missing, not named .png/.jpg/.jpeg, or the stem is unusable.
    """
    if not image.is_file():
        raise UsageError(f"{image}: no such file")
    extension = image_extension(image)
    stem = check_stem(stem if stem is not None else image.stem)
    replaced = _delete_images(s3, target, stem)
    sidecar_key = target.sidecar_key(stem)
    body = json.dumps(request.sidecar(), ensure_ascii=False).encode()
    s3.put_object(Bucket=target.input_bucket, Key=sidecar_key, Body=body, ContentType="application/json")
    image_key = target.image_key(stem, extension)
    with image.open("rb") as stream:
        put = s3.put_object(Bucket=target.input_bucket, Key=image_key, Body=stream, ContentType=IMAGE_TYPES[extension])
    version_id = put.get("VersionId")
    if version_id:
        head = s3.head_object(Bucket=target.input_bucket, Key=image_key, VersionId=version_id)
    else:
        head = s3.head_object(Bucket=target.input_bucket, Key=image_key)
    return Submission(
        stem=stem,
        image_key=image_key,
        sidecar_key=sidecar_key,
        version_id=version_id,
        etag=str(put.get("ETag", "")).strip('"'),
        uploaded_at=head["LastModified"],
        replaced=replaced,
    )


def _images_of(s3: S3Client, target: Target, stem: str) -> list[dict[str, Any]]:
    """The listed objects that are images of ``stem`` (``incoming/<stem>.<png|jpg|jpeg>``, any case)."""
    prefix = target.image_key(stem, ".")
    found = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=target.input_bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item.get("Key", "")
            if posixpath.splitext(key)[1].lower() in IMAGE_TYPES and key[len(prefix) - 1 :].count(".") == 1:
                found.append(dict(item))
    return found


def _delete_images(s3: S3Client, target: Target, stem: str) -> list[str]:
    keys = [str(item["Key"]) for item in _images_of(s3, target, stem)]
    for key in keys:
        s3.delete_object(Bucket=target.input_bucket, Key=key)
    return keys


# ---------------------------------------------------------------------------------------------- state


def output_keys(manifest: dict[str, Any], folder: str) -> tuple[list[str], int]:
    """The output keys a manifest names under ``folder``, and how many of its results failed.

    Whatever the manifest's shape (one poster set, or one per format): every ``key`` of an object that is
    not marked failed, and every string of an ``output_keys`` list, that lies under ``folder`` (so the
    source image's key is never taken); each object with ``status: FAILED`` counts as a failed result.
    """
    keys: list[str] = []
    failed = 0
    for node in _objects(manifest):
        if str(node.get("status") or "").upper() == "FAILED":
            failed += 1
            continue
        listed = node.get("output_keys")
        candidates = [node.get("key"), *(listed if isinstance(listed, list) else [])]
        for key in candidates:
            if isinstance(key, str) and key.startswith(folder) and not key.endswith("/manifest.json"):
                keys.append(key)
    return list(dict.fromkeys(keys)), failed


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``node``, depth first, except under ``source`` (the input's own key)."""
    if isinstance(node, list):
        for item in node:
            yield from _objects(item)
    elif isinstance(node, dict):
        yield node
        for name, value in node.items():
            if name != "source":
                yield from _objects(value)


def _read_record(s3: S3Client, bucket: str, key: str, since: datetime | None) -> dict[str, Any] | None:
    """The JSON object at ``key`` if it exists and was written at or after ``since``."""
    from botocore.exceptions import ClientError

    try:
        head = s3.head_object(Bucket=bucket, Key=key)
        if since is not None and head["LastModified"] < since:
            return None
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        data = body.read(MAX_RECORD_BYTES + 1)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise
    if len(data) > MAX_RECORD_BYTES:
        raise ValueError(f"s3://{bucket}/{key} is larger than {MAX_RECORD_BYTES} bytes")
    document = json.loads(data)
    if not isinstance(document, dict):
        return None
    document["_last_modified"] = head["LastModified"]
    return document


def _belongs(document: dict[str, Any] | None, version_id: str | None) -> dict[str, Any] | None:
    """``document`` unless it names another version of the image than ``version_id``."""
    if document is None:
        return None
    source = document.get("source")
    recorded = source.get("version_id") if isinstance(source, dict) else None
    if version_id and recorded and recorded != version_id:
        return None
    return document


def read_state(
    s3: S3Client,
    target: Target,
    stem: str,
    *,
    since: datetime | None = None,
    version_id: str | None = None,
    image_key: str | None = None,
) -> JobState:
    """One look at the job of ``stem``: its manifest and failure record written since ``since`` for
    ``version_id`` (the newer wins; a failure record wins a tie, since Finalize may write a manifest, then fail).
    ``pending`` when neither is there."""
    manifest_key, failure_key = target.manifest_key(stem), target.failure_key(stem)
    failure = _belongs(_read_record(s3, target.output_bucket, failure_key, since), version_id)
    manifest = _belongs(_read_record(s3, target.output_bucket, manifest_key, since), version_id)
    if failure is not None and manifest is not None and manifest["_last_modified"] > failure["_last_modified"]:
        failure = None
    elif failure is not None:
        manifest = None
    pending = JobState(stem, PENDING, manifest_key, failure_key, image_key=image_key, uploaded_at=since)
    if failure is not None:
        return replace(pending, status=FAILED, failure=_public(failure))
    if manifest is None:
        return pending
    keys, failed = output_keys(manifest, target.poster_folder(stem))
    if not keys:
        status = FAILED
    elif failed or str(manifest.get("outcome") or "").upper() == "PARTIAL":
        status = PARTIAL
    else:
        status = DONE
    return replace(pending, status=status, manifest=_public(manifest), output_keys=keys, failed_results=failed)


def _public(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "_last_modified"}


def wait_for_job(
    s3: S3Client,
    target: Target,
    submission: Submission,
    *,
    timeout: float,
    interval: float = 2.0,
    failure_grace: float = 30.0,
    clock: Clock | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> JobState:
    """Poll until the job of ``submission`` has a manifest or a failure record; ``pending`` after ``timeout`` s.

    A job's manifest that lists no poster means Finalize could copy nothing; the failure record follows it, and
    is waited for up to ``failure_grace`` s (a multi-format request's manifest is final as it stands).
    ``on_progress(elapsed)`` is called every ``TICK_SECONDS`` between polls.
    """
    clock = clock or Clock()
    start = clock.monotonic()
    empty_manifest_at: float | None = None
    while True:
        state = read_state(
            s3,
            target,
            submission.stem,
            since=submission.uploaded_at,
            version_id=submission.version_id,
            image_key=submission.image_key,
        )
        elapsed = clock.monotonic() - start
        if state.finished and (state.status != FAILED or state.failure is not None or _is_request(state.manifest)):
            return state
        if state.finished:  # a job's manifest without a poster: the failure record is on its way
            empty_manifest_at = elapsed if empty_manifest_at is None else empty_manifest_at
            if elapsed - empty_manifest_at >= failure_grace:
                return state
        if elapsed >= timeout:
            return state
        next_poll = elapsed + interval
        while (now := clock.monotonic() - start) < min(next_poll, timeout):
            if on_progress is not None:
                on_progress(now)
            clock.sleep(min(TICK_SECONDS, next_poll - now))


def _is_request(manifest: dict[str, Any] | None) -> bool:
    """A multi-format request's manifest: written once every format has ended (their failure records are
    ``failed/<stem>/<format>.json``, none at ``failed/<stem>.json``), so it is final as it stands."""
    return manifest is not None and isinstance(manifest.get("formats"), dict)


def job_status(s3: S3Client, target: Target, stem: str) -> JobState:
    """The state of the job of the current image of ``stem``.

    With the image in the input bucket, only records written since its upload, for its version, count
    (``pending`` otherwise). Without it (or without permission to list the input bucket), the records as
    they are; ``unknown`` when there is none.
    """
    from botocore.exceptions import ClientError

    check_stem(stem)
    try:
        images = _images_of(s3, target, stem)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("AccessDenied", "403"):
            raise
        images = []
    if not images:
        state = read_state(s3, target, stem)
        if state.status == PENDING:
            return JobState(stem, UNKNOWN, state.manifest_key, state.failure_key)
        return state
    newest = max(images, key=lambda item: item["LastModified"])
    key = str(newest["Key"])
    head = s3.head_object(Bucket=target.input_bucket, Key=key)
    return read_state(s3, target, stem, since=head["LastModified"], version_id=head.get("VersionId"), image_key=key)


# ---------------------------------------------------------------------------------------------- download


def download_outputs(s3: S3Client, target: Target, state: JobState, directory: Path) -> list[Path]:
    """Stream every output key of ``state`` and its manifest to ``directory/<stem>/…`` (the key below the
    output prefix); return the files written. Each file is written as ``….part`` and renamed when complete."""
    keys = [*state.output_keys, state.manifest_key] if state.manifest is not None else list(state.output_keys)
    written = []
    for key in keys:
        path = directory.joinpath(*_relative_parts(key, target.output_prefix))
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".part")
        body = s3.get_object(Bucket=target.output_bucket, Key=key)["Body"]
        try:
            with partial.open("wb") as sink:
                for chunk in _chunks(body):
                    sink.write(chunk)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)
            body.close()
        written.append(path)
    return written


def _chunks(body: Any) -> Iterator[bytes]:
    while chunk := body.read(CHUNK_BYTES):
        yield chunk


def _relative_parts(key: str, prefix: str) -> tuple[str, ...]:
    relative = PurePosixPath(key[len(prefix) :] if key.startswith(prefix) else key)
    parts = relative.parts
    if relative.is_absolute() or not parts or any(part in ("..", ".") for part in parts):
        raise ValueError(f"refusing to write {key!r} outside the output directory")
    return parts


# ---------------------------------------------------------------------------------------------- listings


def list_posters(s3: S3Client, target: Target, limit: int | None = None) -> list[PosterSet]:
    """Stems with a manifest, newest manifest first, each with its number of poster images."""
    manifests: dict[str, dict[str, Any]] = {}
    images: list[str] = []
    prefix = target.output_prefix
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=target.output_bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            key = item.get("Key", "")
            if key.endswith("/manifest.json"):
                manifests[key[len(prefix) : -len("/manifest.json")]] = dict(item)
            elif key.lower().endswith(POSTER_SUFFIXES):
                images.append(key[len(prefix) :])
    for stem in [s for s in manifests if _is_format_folder(s, manifests)]:
        del manifests[stem]  # one format's own manifest, inside its request's folder
    counts = dict.fromkeys(manifests, 0)
    by_length = sorted(manifests, key=len, reverse=True)  # a nested stem ("a/b") owns its own folder
    for relative in images:
        owner = next((stem for stem in by_length if relative.startswith(stem + "/")), None)
        if owner is not None:
            counts[owner] += 1
    sets = [
        PosterSet(stem, f"{prefix}{stem}/manifest.json", item["LastModified"], counts[stem])
        for stem, item in manifests.items()
    ]
    sets.sort(key=lambda entry: entry.last_modified, reverse=True)
    return sets[:limit] if limit is not None else sets


def _is_format_folder(stem: str, stems: dict[str, Any]) -> bool:
    """``b/square`` beside ``b``: the folder of one format of request ``b`` (README "Formats")."""
    parent, _, label = stem.rpartition("/")
    return parent in stems and FORMAT_LABEL.fullmatch(label) is not None


def list_failures(s3: S3Client, target: Target, limit: int | None = None) -> list[FailureEntry]:
    """The failure records, newest first (each one read)."""
    prefix = target.failure_prefix
    listed: list[dict[str, Any]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=target.output_bucket, Prefix=prefix):
        listed.extend(dict(item) for item in page.get("Contents", []) if item.get("Key", "").endswith(".json"))
    listed.sort(key=lambda item: item["LastModified"], reverse=True)
    entries = []
    for item in listed[:limit] if limit is not None else listed:
        key = str(item["Key"])
        record = _read_record(s3, target.output_bucket, key, None)
        if record is None:
            continue
        stem = key[len(prefix) : -len(".json")]
        entries.append(FailureEntry(stem, key, item["LastModified"], _public(record)))
    return entries
