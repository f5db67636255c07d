"""Fixtures of the ``poster-pipeline`` client's tests: a stack in moto (in process, no sockets) and a fake pipeline."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from local_stack.outputs import publish_outputs
from poster_pipeline_cli.jobs import Clock
from tests.conftest import fixture_image

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

STACK = "poster-pipeline"
INPUT_BUCKET = "pp-input"
OUTPUT_BUCKET = "pp-output"
OUTPUTS = {
    "InputBucketName": INPUT_BUCKET,
    "OutputBucketName": OUTPUT_BUCKET,
    "InputPrefix": "incoming/",
    "OutputPrefix": "posters/",
    "FailurePrefix": "failed/",
}
PNG = b"\x89PNG\r\n\x1a\n" + b"poster" * 10


@dataclass
class FakeClock:
    """Time that passes only when slept; ``at(t, action)`` runs ``action`` once time reaches ``t``."""

    now: float = 0.0
    actions: list[tuple[float, Callable[[], object]]] = field(default_factory=list)
    sleeps: int = 0

    def at(self, when: float, action: Callable[[], object]) -> None:
        self.actions.append((when, action))

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds
        due = [item for item in self.actions if item[0] <= self.now]
        self.actions = [item for item in self.actions if item[0] > self.now]
        for _, action in due:
            action()

    def clock(self) -> Clock:
        return Clock(monotonic=self.monotonic, sleep=self.sleep)


class FakePipeline:
    """Writes what the pipeline would: posters and a manifest (Finalize's shape), or a failure record."""

    def __init__(self, s3: Any) -> None:
        self.s3 = s3

    def image_version(self, stem: str, extension: str = ".jpg") -> str | None:
        head = self.s3.head_object(Bucket=INPUT_BUCKET, Key=f"incoming/{stem}{extension}")
        version: str | None = head.get("VersionId")
        return version

    def finish(
        self,
        stem: str,
        *,
        version_id: str | None = None,
        posters: int = 2,
        failed: tuple[int, ...] = (),
        formats: tuple[str, ...] = (),
        failed_formats: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        """With ``formats``, the request's manifest as ``poster_common.request_outcome`` writes it (each format's
        own manifest beside its posters; ``failed_formats`` ended as failure records)."""
        version_id = version_id or self.image_version(stem)
        source = {"bucket": INPUT_BUCKET, "key": f"incoming/{stem}.jpg", "version_id": version_id}
        if not formats:
            manifest = self._job_manifest(f"posters/{stem}/", source, posters, failed)
            self.s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"posters/{stem}/manifest.json", Body=json.dumps(manifest))
            return manifest
        ended: dict[str, Any] = {}
        for name in formats:
            if name in failed_formats:
                ended[name] = {
                    "outcome": "FAILED",
                    "failure_code": "InternalError",
                    "failure_key": f"failed/{stem}/{name}.json",
                }
                continue
            own = self._job_manifest(f"posters/{stem}/{name}/", source, posters, failed)
            key = f"posters/{stem}/{name}/manifest.json"
            self.s3.put_object(Bucket=OUTPUT_BUCKET, Key=key, Body=json.dumps(own))
            copied = [r["key"] for r in own["results"] if r["status"] == "COPIED"]
            ended[name] = {"outcome": "SUCCEEDED", "output_keys": copied, "manifest_key": key}
        outcomes = {entry["outcome"] for entry in ended.values()}
        request = {
            "set_id": "set-1",
            "correlation_id": None,
            "source": source,
            "model": "wanx-ast",
            "outcome": "SUCCEEDED" if outcomes == {"SUCCEEDED"} else "FAILED" if outcomes == {"FAILED"} else "PARTIAL",
            "formats": ended,
            "output_keys": [key for entry in ended.values() for key in entry.get("output_keys", ())],
        }
        self.s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"posters/{stem}/manifest.json", Body=json.dumps(request))
        return request

    def _job_manifest(
        self, folder: str, source: dict[str, Any], posters: int, failed: tuple[int, ...]
    ) -> dict[str, Any]:
        """One job's manifest (Finalize's shape), its posters written under ``folder``."""
        results = []
        for index in range(posters):
            if index in failed:
                results.append({"index": index, "status": "FAILED", "code": "ResultNotImage", "message": "x"})
                continue
            key = f"{folder}{index}.png"
            self.s3.put_object(Bucket=OUTPUT_BUCKET, Key=key, Body=PNG, ContentType="image/png")
            results.append({"index": index, "status": "COPIED", "key": key, "content_type": "image/png"})
        return {"job_id": "job-1", "source": source, "model": "wanx-ast", "results": results}

    def fail(self, stem: str, *, code: str = "InvalidParameter", version_id: str | None = None) -> dict[str, Any]:
        record = {
            "job_id": "job-1",
            "stage": "submit",
            "code": code,
            "message": "Range of underlay should be [0, 2]",
            "task_id": None,
            "request_id": None,
            "source": {
                "bucket": INPUT_BUCKET,
                "key": f"incoming/{stem}.jpg",
                "version_id": version_id or self.image_version(stem),
            },
            "recorded_at": "2026-11-24T09:00:00.000Z",
        }
        self.s3.put_object(Bucket=OUTPUT_BUCKET, Key=f"failed/{stem}.json", Body=json.dumps(record))
        return record


@pytest.fixture
def s3() -> Iterator[Any]:
    """moto's S3 (in process) with the stack's buckets (the input one versioned, as deployed) and the stack's
    outputs published as `local_stack.outputs` does for the local stack."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        for bucket in (INPUT_BUCKET, OUTPUT_BUCKET):
            client.create_bucket(Bucket=bucket)
        client.put_bucket_versioning(Bucket=INPUT_BUCKET, VersioningConfiguration={"Status": "Enabled"})
        publish_outputs(boto3.session.Session(), None, STACK, OUTPUTS)
        yield client


@pytest.fixture
def ticking_s3(s3: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`s3` whose every new object is one second newer than the one before (S3 keeps whole seconds)."""
    import datetime

    import moto.s3.models

    start = datetime.datetime(2026, 11, 27, 9, 0, 0)  # naive UTC, as moto keeps it
    ticks = iter(range(1_000_000))
    monkeypatch.setattr(moto.s3.models, "utcnow", lambda: start + datetime.timedelta(seconds=next(ticks)))
    return s3


@pytest.fixture
def pipeline(s3: Any) -> FakePipeline:
    return FakePipeline(s3)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    """A real sample photo, copied so its name can be the stem."""
    path = tmp_path / "photo.jpg"
    path.write_bytes(fixture_image("rocket.jpg").read_bytes())
    return path


def json_out(capsys: pytest.CaptureFixture[str]) -> Any:
    """The JSON document the command printed on stdout."""
    return json.loads(capsys.readouterr().out)
