"""Text a poster could not place is never dropped silently: the result item, the manifest and the event carry it."""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from poster_common import finalize
from poster_common.config import Settings
from poster_common.models import ResultItem, TaskSnapshot, TaskStatus
from poster_common.payloads import ExecutionState
from poster_common.profiles import task_results
from poster_common.result_download import DownloadedBody, HostAllowlist
from poster_common.services import Services
from tests.unit.domain.fakes import RecordingEvents

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest

DROPPED = {"role": "text", "index": 1, "text": "Doors open at nine"}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)


def test_the_composers_dropped_list_is_read_in_its_documented_shape_only() -> None:
    output = {
        "results": [
            {"url": "https://r.example/0.png", "dropped": [DROPPED, {"role": "logo"}, "junk", {"no": "role"}]},
            {"url": "https://r.example/1.png"},
            {"url": "https://r.example/2.png", "dropped": "not a list"},
        ]
    }

    items = task_results(output)

    assert items[0].dropped == (DROPPED, {"role": "logo"})
    assert items[1].dropped == () == items[2].dropped


class _Store:
    def __init__(self) -> None:
        self.objects: dict[str, Any] = {}

    def put_stream(self, bucket: str, key: str, chunks: Iterator[bytes], **_: Any) -> None:
        self.objects[key] = b"".join(chunks)

    def put_json(self, bucket: str, key: str, document: Any) -> None:
        self.objects[key] = document


class _Api:
    def query(self, task_id: str) -> TaskSnapshot:
        results = (
            ResultItem(url="https://r.example/0.png", dropped=(DROPPED,)),
            ResultItem(url="https://r.example/1.png"),
        )
        return TaskSnapshot(task_id=task_id, status=TaskStatus.SUCCEEDED, results=results)


def test_finalize_puts_the_dropped_text_in_the_manifest_and_the_event(monkeypatch: pytest.MonkeyPatch) -> None:
    @contextmanager
    def open_result(url: str, **_: Any) -> Iterator[DownloadedBody]:
        yield DownloadedBody("image/png", iter([PNG]))

    monkeypatch.setattr(finalize, "open_result", open_result)
    store, events = _Store(), RecordingEvents()
    collaborators: dict[str, Any] = {f.name: None for f in dataclasses.fields(Services)}
    collaborators.update(
        settings=Settings(output_bucket="out"),
        store=store,
        api=_Api(),
        allowlist=HostAllowlist.parse(["r.example"]),
        events=events,
    )
    state = {
        "job": {
            "job_id": "j1",
            "stem": "night",
            "model": "wanx-ast",
            "source": {"bucket": "in", "key": "incoming/night.jpg", "version_id": None, "etag": "e"},
            "spec": {"title": ["T"], "subtitle": [], "text": ["Tonight", "Doors open at nine"], "n": 2},
            "submitted_at": "2026-11-27T00:00:00.000Z",
        },
        "task": {"task_id": "t1", "request_id": "r1"},
    }

    result = finalize.finalize_job(ExecutionState.from_dict(state), Services(**collaborators), lambda: 600_000)

    assert result["outcome"] == "SUCCEEDED"
    manifest = store.objects["posters/night/manifest.json"]
    assert manifest["results"][0]["dropped"] == [DROPPED]
    assert "dropped" not in manifest["results"][1]
    (detail,) = events.details
    assert detail["dropped"] == [{"result": 0, **DROPPED}]
