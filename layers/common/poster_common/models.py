"""Plain data: the uploaded object, the poster spec, the job, the task as the API reports it."""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


@dataclass(frozen=True)
class ObjectRef:
    """One S3 object version, as named by an S3 notification (key already URL-decoded)."""

    bucket: str
    key: str
    version_id: str | None = None
    etag: str | None = None

    @property
    def version_tag(self) -> str:
        """What distinguishes this upload from a later one of the same key."""
        return self.version_id or (self.etag or "").strip('"')


@dataclass(frozen=True)
class JobSpec:
    """The poster request, with the API's field names (``logo_key`` names a PNG in the input bucket)."""

    title: tuple[str, ...]
    subtitle: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    underlay: int = 0
    logo_key: str | None = None
    n: int = 1
    temperature: float = 0.7

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": list(self.title),
            "subtitle": list(self.subtitle),
            "text": list(self.text),
            "underlay": self.underlay,
            "logo_key": self.logo_key,
            "n": self.n,
            "temperature": self.temperature,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JobSpec:
        return cls(
            title=tuple(data["title"]),
            subtitle=tuple(data.get("subtitle", ())),
            text=tuple(data.get("text", ())),
            underlay=int(data.get("underlay", 0)),
            logo_key=data.get("logo_key"),
            n=int(data.get("n", 1)),
            temperature=float(data.get("temperature", 0.7)),
        )


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def job_id_for(source: ObjectRef, raw_spec: Any, model: str) -> str:
    """Deterministic id of one (image version, spec, model) job: duplicate events map to one id."""
    parts = (source.bucket, source.key, source.version_tag, canonical_json(raw_spec), model)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def stem_for(key: str, input_prefix: str) -> str:
    """The key relative to the input prefix, without its extension: ``incoming/a/b.jpg`` → ``a/b``."""
    relative = key[len(input_prefix) :] if key.startswith(input_prefix) else key
    root, _ = posixpath.splitext(relative)
    return root


@dataclass(frozen=True)
class Job:
    """One poster job: what the state machine carries in ``$.job``."""

    job_id: str
    stem: str
    model: str
    source: ObjectRef
    spec: JobSpec
    submitted_at: str = ""
    normalised: ObjectRef | None = None  # the copy the API is given when the upload itself cannot be

    @property
    def execution_name(self) -> str:
        return f"job-{self.job_id}"

    @property
    def background(self) -> ObjectRef:
        """The object the API is given: the normalised copy, or the upload itself."""
        return self.normalised or self.source

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "stem": self.stem,
            "model": self.model,
            "source": asdict(self.source),
            "spec": self.spec.to_dict(),
            "submitted_at": self.submitted_at,
            "normalised": asdict(self.normalised) if self.normalised else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        return cls(
            job_id=data["job_id"],
            stem=data["stem"],
            model=data["model"],
            source=ObjectRef(**data["source"]),
            spec=JobSpec.from_dict(data["spec"]),
            submitted_at=data.get("submitted_at", ""),
            normalised=ObjectRef(**data["normalised"]) if data.get("normalised") else None,
        )


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUSPENDED = "SUSPENDED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELED = "CANCELED"
    UNKNOWN = "UNKNOWN"

    @classmethod
    def parse(cls, value: object) -> TaskStatus:
        """Normalise whatever the API said; anything unrecognised is UNKNOWN (terminal)."""
        try:
            return cls(str(value).upper())
        except ValueError:
            return cls.UNKNOWN

    @property
    def terminal(self) -> bool:
        return self not in (TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.SUSPENDED)


@dataclass(frozen=True)
class SubmittedTask:
    task_id: str
    request_id: str | None


@dataclass(frozen=True)
class ResultItem:
    """One sub-image: a URL, or the code and message of its failure."""

    url: str | None
    code: str | None = None
    message: str | None = None
    #: What the poster could not place (the composer's extension): ``{"role", "index", "text"}`` / ``{"role": "logo"}``.
    dropped: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class TaskSnapshot:
    """A query answer, normalised."""

    task_id: str
    status: TaskStatus
    request_id: str | None = None
    code: str | None = None
    message: str | None = None
    submit_time: str | None = None
    scheduled_time: str | None = None
    end_time: str | None = None
    results: tuple[ResultItem, ...] = ()
    task_metrics: dict[str, int] = field(default_factory=dict)
    image_count: int | None = None
