"""The completion event's ``links`` (``WebhookIncludeLinks``): present only when ``COMPLETION_LINK_SECONDS`` is set,
one presigned GET per output key, and the key is there on every outcome so the payload keeps one shape."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest

from poster_common import finalize
from poster_common.config import Settings
from poster_common.models import ObjectRef, ResultItem, TaskSnapshot, TaskStatus
from poster_common.notify import FailureRecord, completion_links, record_job_failure
from poster_common.payloads import ExecutionState
from poster_common.result_download import DownloadedBody, HostAllowlist
from poster_common.services import Services
from poster_common.storage import S3ObjectStore
from tests.unit.domain.fakes import RecordingEvents

if TYPE_CHECKING:
    from collections.abc import Iterator

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
STATE = {
    "job": {
        "job_id": "j1",
        "stem": "night",
        "model": "wanx-ast",
        "source": {"bucket": "in", "key": "incoming/night.jpg", "version_id": None, "etag": "e"},
        "spec": {"title": ["T"], "subtitle": [], "text": [], "n": 2},
        "submitted_at": "2026-11-27T00:00:00.000Z",
    },
    "task": {"task_id": "t1", "request_id": "r1"},
}


class _Store(S3ObjectStore):
    """Writes in memory; presigns with a real (offline) botocore client."""

    def __init__(self) -> None:
        super().__init__(boto3.client("s3", region_name="us-east-1"))
        self.objects: dict[str, Any] = {}
        self.presigned: list[tuple[str, str, int]] = []

    def put_stream(self, bucket: str, key: str, chunks: Iterator[bytes], **_: Any) -> None:
        self.objects[key] = b"".join(chunks)

    def put_json(self, bucket: str, key: str, document: Any) -> None:
        self.objects[key] = document

    def presign_get(self, bucket: str, key: str, *, expires: int, version_id: str | None = None) -> str:
        self.presigned.append((bucket, key, expires))
        return super().presign_get(bucket, key, expires=expires, version_id=version_id)


class _Api:
    def query(self, task_id: str) -> TaskSnapshot:
        results = (ResultItem(url="https://r.example/0.png"), ResultItem(url="https://r.example/1.png"))
        return TaskSnapshot(task_id=task_id, status=TaskStatus.SUCCEEDED, results=results)


def _services(settings: Settings, store: _Store, events: RecordingEvents) -> Services:
    collaborators: dict[str, Any] = {f.name: None for f in dataclasses.fields(Services)}
    collaborators.update(
        settings=settings, store=store, api=_Api(), allowlist=HostAllowlist.parse(["r.example"]), events=events
    )
    return Services(**collaborators)


def _finalize(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> tuple[_Store, dict[str, Any]]:
    @contextmanager
    def open_result(url: str, **_: Any) -> Iterator[DownloadedBody]:
        yield DownloadedBody("image/png", iter([PNG]))

    monkeypatch.setattr(finalize, "open_result", open_result)
    store, events = _Store(), RecordingEvents()
    finalize.finalize_job(ExecutionState.from_dict(STATE), _services(settings, store, events), lambda: 600_000)
    (detail,) = events.details
    return store, detail


def test_finalize_links_every_output_key_when_links_are_on(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a stack deployed with WebhookIncludeLinks=true and WebhookLinkExpirySeconds=900
    before = datetime.now(UTC)
    store, detail = _finalize(monkeypatch, Settings(output_bucket="out", completion_link_seconds=900))

    # THEN each output key (posters, then the manifest) has one presigned GET of the output bucket, valid 900 s
    keys = ["posters/night/0.png", "posters/night/1.png", "posters/night/manifest.json"]
    assert detail["output_keys"] == keys
    assert [link["key"] for link in detail["links"]] == keys
    assert store.presigned == [("out", key, 900) for key in keys]
    for link in detail["links"]:
        url = urlsplit(link["url"])
        assert url.scheme == "https" and url.path.endswith("/" + link["key"])
        assert parse_qs(url.query).keys() & {"Signature", "X-Amz-Signature"}
        expires_at = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
        assert before + timedelta(seconds=899) <= expires_at <= datetime.now(UTC) + timedelta(seconds=901)


def test_finalize_puts_no_links_key_when_links_are_off(monkeypatch: pytest.MonkeyPatch) -> None:
    store, detail = _finalize(monkeypatch, Settings(output_bucket="out"))

    assert "links" not in detail
    assert store.presigned == []


@pytest.mark.parametrize(("seconds", "expected"), [(0, None), (600, [])])
def test_a_failed_job_has_an_empty_links_list_only_when_links_are_on(seconds: int, expected: Any) -> None:
    store, events = _Store(), RecordingEvents()
    record = FailureRecord(
        job_id="j1", stage="task", code="TaskFailed", message="m", source=ObjectRef("in", "incoming/night.jpg")
    )

    settings = Settings(output_bucket="out", completion_link_seconds=seconds)
    record_job_failure("night", record, _services(settings, store, events))

    (detail,) = events.details
    assert detail.get("links") == expected
    assert ("links" in detail) is (expected is not None)
    assert detail["failure_code"] == "TaskFailed"


def test_completion_links_is_none_when_off() -> None:
    assert completion_links(_Store(), "out", ["posters/a/0.png"], expires_seconds=0) is None


@pytest.mark.parametrize("text", ["-1", "604801"])
def test_completion_link_seconds_is_bounded(text: str) -> None:
    with pytest.raises(ValueError, match="COMPLETION_LINK_SECONDS"):
        Settings.from_env({"COMPLETION_LINK_SECONDS": text})


def test_completion_link_seconds_defaults_to_no_links() -> None:
    assert Settings.from_env({}).completion_link_seconds == 0
    assert Settings.from_env({"COMPLETION_LINK_SECONDS": "3600"}).completion_link_seconds == 3600
