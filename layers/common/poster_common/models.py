"""Plain data: the uploaded object, the poster spec, the job, the task as the API reports it."""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from poster_common.formats import PosterFormat, parse_format


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
    #: One poster set per format; none means the background's own size.
    formats: tuple[PosterFormat, ...] = ()
    #: Brand choices, the composer's protocol extensions (a live model ignores them).
    font_pairing: str | None = None
    accent_color: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The API's fields; the optional extensions only when set (so older specs keep their shape)."""
        document: dict[str, Any] = {
            "title": list(self.title),
            "subtitle": list(self.subtitle),
            "text": list(self.text),
            "underlay": self.underlay,
            "logo_key": self.logo_key,
            "n": self.n,
            "temperature": self.temperature,
        }
        if self.formats:
            document["formats"] = [f.label for f in self.formats]
        if self.font_pairing:
            document["font_pairing"] = self.font_pairing
        if self.accent_color:
            document["accent_color"] = self.accent_color
        return document

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
            formats=tuple(parse_format(label) for label in data.get("formats", ())),
            font_pairing=data.get("font_pairing"),
            accent_color=data.get("accent_color"),
        )


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace: equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def job_id_for(source: ObjectRef, raw_spec: Any, model: str) -> str:
    """Deterministic id of one (image version, spec, model) job: duplicate events map to one id."""
    parts = (source.bucket, source.key, source.version_tag, canonical_json(raw_spec), model)
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def format_job_id(set_id: str, poster_format: PosterFormat) -> str:
    """The job of one format of a multi-format request: distinct per format, stable per request."""
    return hashlib.sha256(f"{set_id}\0{poster_format.label}".encode()).hexdigest()[:32]


def stem_for(key: str, input_prefix: str) -> str:
    """The key relative to the input prefix, without its extension: ``incoming/a/b.jpg`` → ``a/b``."""
    relative = key[len(input_prefix) :] if key.startswith(input_prefix) else key
    root, _ = posixpath.splitext(relative)
    return root


@dataclass(frozen=True)
class Delivery:
    """Whom a job answers and where its outcome goes.

    ``correlation_id`` comes back in the completion event of a job asked for by an event; ``format`` is
    the job's size within a multi-format request ``set_id`` (all its formats are ``set_labels``).
    """

    correlation_id: str | None = None
    format: PosterFormat | None = None
    set_id: str | None = None
    set_labels: tuple[str, ...] = ()

    @property
    def format_label(self) -> str | None:
        return self.format.label if self.format else None

    @property
    def size(self) -> str | None:
        """The API's ``parameters.size`` of the job's format; None: the background's own size."""
        return self.format.size if self.format else None

    def folder(self, prefix: str, stem: str) -> str:
        """``<prefix><stem>/`` or, for one format of a set, ``<prefix><stem>/<label>/``."""
        return f"{prefix}{stem}/{self.format.label}/" if self.format else f"{prefix}{stem}/"

    def failure_key(self, prefix: str, stem: str) -> str:
        """``<prefix><stem>.json`` or, for one format of a set, ``<prefix><stem>/<label>.json``."""
        return f"{prefix}{stem}/{self.format.label}.json" if self.format else f"{prefix}{stem}.json"

    def to_dict(self) -> dict[str, Any]:
        return {
            "correlation_id": self.correlation_id,
            "format": self.format_label,
            "set_id": self.set_id,
            "set_labels": list(self.set_labels),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> Delivery:
        data = data or {}
        label = data.get("format")
        return cls(
            correlation_id=data.get("correlation_id"),
            format=parse_format(label) if label else None,
            set_id=data.get("set_id"),
            set_labels=tuple(data.get("set_labels") or ()),
        )


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
    delivery: Delivery = field(default_factory=Delivery)

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
            "delivery": self.delivery.to_dict(),
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
            delivery=Delivery.from_dict(data.get("delivery")),
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
