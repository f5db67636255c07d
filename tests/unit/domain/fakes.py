"""Test doubles at the ``requests`` layer: a scripted session and canned responses."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

if TYPE_CHECKING:
    from collections.abc import Iterator


class FakeResponse(requests.Response):
    """A real ``requests.Response`` over an in-memory body."""

    def __init__(
        self,
        status: int = 200,
        body: bytes | dict[str, Any] = b"",
        headers: dict[str, str] | None = None,
        chunks: list[bytes] | None = None,
        stall: Exception | None = None,
    ) -> None:
        super().__init__()
        data = json.dumps(body).encode() if isinstance(body, dict) else body
        self.status_code = status
        self.headers.update(headers or {})
        if isinstance(body, dict):
            self.headers.setdefault("Content-Type", "application/json")
        self.raw = io.BytesIO(data)
        self._chunks = chunks
        self._stall = stall

    def iter_content(self, chunk_size: int | None = 1, decode_unicode: bool = False) -> Iterator[Any]:
        if self._chunks is None:
            yield from super().iter_content(chunk_size, decode_unicode)
            return
        yield from self._chunks
        if self._stall is not None:
            raise self._stall


class _Raw(io.BytesIO):
    def read(self, amt: int | None = None, decode_content: bool = False) -> bytes:
        return super().read(amt)


@dataclass
class ScriptedSession:
    """Answers requests from a queue (or a per-URL map) and records every call."""

    script: list[FakeResponse | Exception] = field(default_factory=list)
    by_url: dict[str, FakeResponse] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def request(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
        self.calls.append({"method": method, "url": url, **kwargs})
        answer = self.by_url[url] if url in self.by_url else self.script.pop(0)
        if isinstance(answer, Exception):
            raise answer
        answer.raw = _Raw(answer.raw.getvalue()) if isinstance(answer.raw, io.BytesIO) else answer.raw
        answer.url = url
        return answer

    def get(self, url: str, **kwargs: Any) -> FakeResponse:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> FakeResponse:
        return self.request("POST", url, **kwargs)


class RecordingEvents:
    """An EventBridge client that keeps each put event's detail."""

    def __init__(self) -> None:
        self.details: list[dict[str, Any]] = []

    def put_events(self, Entries: list[dict[str, Any]]) -> None:
        self.details += [json.loads(entry["Detail"]) for entry in Entries]


class SimulatedClock:
    """A monotonic clock that moves only when something sleeps on it (``clock()`` and ``clock.sleep(s)``)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
