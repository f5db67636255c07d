"""Fixtures for the composer's HTTP tests: a tiny image host and a composer on loopback port 0.

The image host serves small copies of the project's fixture photos (``events/samples/backgrounds``
if present, else ``../shared/fixtures/backgrounds``) plus a few misbehaving paths (slow, missing,
not an image, too big).
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests
from PIL import Image

from poster_composer.server import ComposerServer

if TYPE_CHECKING:
    from collections.abc import Iterator

REPO = Path(__file__).resolve().parents[3]
CREATE = "/services/aigc/text2image/image-synthesis"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"}
HEADERS = {"Authorization": "Bearer test-key", "X-DashScope-Async": "enable"}


def fixture_dir(kind: str) -> Path:
    """``events/samples/<kind>`` when the project has its own copies, else the shared fixtures."""
    own = REPO / "events" / "samples" / kind
    return own if own.is_dir() else REPO.parent / "shared" / "fixtures" / kind


def _small_png(path: Path, width: int) -> bytes:
    with Image.open(path) as source:
        image = source.convert("RGBA" if source.mode in ("RGBA", "LA", "P") else "RGB")
    image.thumbnail((width, width))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass
class ImageHost:
    """A stdlib HTTP server with in-memory files: ``routes[path] = (status, type, body, delay)``."""

    routes: dict[str, tuple[int, str, bytes, float]] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)
    origin: str = ""

    def url(self, path: str, query: str = "X-Amz-Signature=topsecret") -> str:
        return f"{self.origin}{path}?{query}" if query else f"{self.origin}{path}"


def _image_host_handler(host: ImageHost) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            host.hits.append(path)
            status, content_type, body, delay = host.routes.get(path, (404, "text/plain", b"missing", 0.0))
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture(scope="session")
def image_host() -> Iterator[ImageHost]:
    host = ImageHost()
    backgrounds = fixture_dir("backgrounds")
    host.routes["/bg.png"] = (200, "image/png", _small_png(backgrounds / "coffee.png", 96), 0.0)
    host.routes["/bg2.png"] = (200, "image/png", _small_png(backgrounds / "chelsea.png", 96), 0.0)
    logo = fixture_dir("logos") / "horse.png"
    if logo.exists():
        host.routes["/logo.png"] = (200, "image/png", _small_png(logo, 32), 0.0)
    host.routes["/slow.png"] = (200, "image/png", host.routes["/bg.png"][2], 3.0)
    host.routes["/text.png"] = (200, "text/plain", b"this is not an image", 0.0)
    host.routes["/huge.png"] = (200, "image/png", bytes(300_000), 0.0)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _image_host_handler(host))
    server.daemon_threads = True
    host.origin = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    yield host
    server.shutdown()
    server.server_close()


class ComposerClient:
    """A thin ``requests`` client for the composer under test."""

    def __init__(self, server: ComposerServer, image_host: ImageHost) -> None:
        self.server = server
        self.image_host = image_host
        self.session = requests.Session()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    def body(
        self, title: Any = ("Spring Sale",), *, image_path: str = "/bg.png", n: int = 1, **input_fields: Any
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "image_url": self.image_host.url(image_path),
            "title": list(title) if isinstance(title, tuple) else title,
        }
        data.update(input_fields)
        return {"model": "wanx-ast", "input": data, "parameters": {"n": n, "temperature": 0.7}}

    def post_raw(self, body: Any, headers: dict[str, str] | None = None) -> requests.Response:
        return self.session.post(
            self.base_url + CREATE, json=body, headers=HEADERS if headers is None else headers, timeout=10
        )

    def create(self, title: Any = ("Spring Sale",), **kwargs: Any) -> str:
        response = self.post_raw(self.body(title, **kwargs))
        assert response.status_code == 200, response.text
        payload = response.json()
        assert payload["output"]["task_status"] == "PENDING"
        return str(payload["output"]["task_id"])

    def query(self, task_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.base_url}/tasks/{task_id}", headers=HEADERS, timeout=10)
        assert response.status_code == 200, response.text
        payload: dict[str, Any] = response.json()
        return payload

    def wait(self, task_id: str, statuses: set[str] | None = None, timeout: float = 15.0) -> dict[str, Any]:
        wanted = statuses or TERMINAL
        deadline = time.monotonic() + timeout
        while True:
            payload = self.query(task_id)
            if payload["output"]["task_status"] in wanted:
                return payload
            if time.monotonic() > deadline:
                raise AssertionError(f"task {task_id} still {payload['output']['task_status']}")
            time.sleep(0.02)

    def control(self, method: str, name: str, json_body: Any = None) -> requests.Response:
        return self.session.request(method, f"{self.server.origin}/_composer/{name}", json=json_body, timeout=10)


@pytest.fixture
def composer() -> Iterator[ComposerServer]:
    """A composer on a free loopback port: fast tasks, no submission-rate limit unless a test sets one."""
    server = ComposerServer("127.0.0.1", 0, config={"task_seconds": 0.05, "submissions_per_second": None})
    with server:
        yield server


@pytest.fixture
def client(composer: ComposerServer, image_host: ImageHost) -> Iterator[ComposerClient]:
    client = ComposerClient(composer, image_host)
    yield client
    client.session.close()
