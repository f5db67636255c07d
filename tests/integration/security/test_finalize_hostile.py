"""Finalize against a real HTTPS result host: hostile URLs and hostile responses, each with its own code.

A real TLS server on ``localhost:<port>`` is the one allow-listed result host; "evil" listeners on
127.0.0.2, another port of 127.0.0.1 and ::1 count every connection they receive, and must receive
none. The cases run both through `fetch.open_result` and through the use case `finalize_job`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
import requests
from PIL import Image

from poster_common.config import Settings
from poster_common.errors import NoResultCopiedError, PermanentError
from poster_common.finalize import finalize_job
from poster_common.models import ResultItem, TaskSnapshot, TaskStatus
from poster_common.payloads import ExecutionState
from poster_common.result_download import HostAllowlist, open_result
from poster_common.services import Services
from poster_composer import tls
from tests.hostile import CANARY, SIGNED, EvilNet, hostile_urls

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration

MAX_BYTES = 200_000
TIMEOUTS = (1.0, 0.5)
DEADLINE = 1.5


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buffer, format="PNG")
    return buffer.getvalue()


PNG = png_bytes()


@dataclass
class ResultHost:
    origin: str
    authority: str
    cert: Path
    evil: EvilNet
    stop: threading.Event = field(default_factory=threading.Event)


def make_handler(host: ResultHost) -> type[BaseHTTPRequestHandler]:  # noqa: C901 - one branch per route
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _head(self, status: int, headers: dict[str, str]) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()

        def do_GET(self) -> None:  # noqa: C901 - one branch per route
            route = self.path.split("?", 1)[0]
            evil = f"https://127.0.0.2:{host.evil.v4.port}/stolen.png{SIGNED}"
            if route == "/ok.png":
                self._head(200, {"Content-Type": "image/png", "Content-Length": str(len(PNG))})
                self.wfile.write(PNG)
            elif route == "/redirect-evil":
                self._head(302, {"Location": evil, "Content-Length": "0"})
            elif route == "/redirect-evil-relative-userinfo":
                self._head(302, {"Location": f"//x@127.0.0.2:{host.evil.v4.port}/a.png", "Content-Length": "0"})
            elif route == "/redirect-http":
                self._head(302, {"Location": f"http://{host.authority}/ok.png", "Content-Length": "0"})
            elif route == "/redirect-loop":
                self._head(302, {"Location": "/redirect-loop", "Content-Length": "0"})
            elif route == "/redirect-ok":
                self._head(301, {"Location": "/ok.png", "Content-Length": "0"})
            elif route == "/html":
                body = b"<html>not an image</html>"
                self._head(200, {"Content-Type": "text/html", "Content-Length": str(len(body))})
                self.wfile.write(body)
            elif route == "/svg":
                body = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>"
                self._head(200, {"Content-Type": "image/svg+xml", "Content-Length": str(len(body))})
                self.wfile.write(body)
            elif route == "/lying-type":
                body = b"<html>" + b"x" * 100
                self._head(200, {"Content-Type": "image/png", "Content-Length": str(len(body))})
                self.wfile.write(body)
            elif route == "/declared-too-big":
                self._head(200, {"Content-Type": "image/png", "Content-Length": str(MAX_BYTES * 10)})
                self.wfile.write(PNG)
            elif route == "/undeclared-too-big":
                self._head(200, {"Content-Type": "image/png", "Connection": "close"})
                self.wfile.write(PNG)
                for _ in range(40):
                    self.wfile.write(b"\0" * 16_384)
            elif route == "/stall":
                self._head(200, {"Content-Type": "image/png", "Content-Length": str(len(PNG))})
                self.wfile.write(PNG[:100])
                self.wfile.flush()
                host.stop.wait(10)
            elif route == "/trickle":
                self._head(200, {"Content-Type": "image/png", "Content-Length": str(MAX_BYTES - 1)})
                self.wfile.write(PNG[:16])
                while not host.stop.wait(0.1):
                    self.wfile.write(b"\0")
                    self.wfile.flush()
            elif route == "/missing":
                self._head(404, {"Content-Length": "0"})
            else:
                self._head(500, {"Content-Length": "0"})

    return Handler


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ResultHost]:
    cert, key = tls.ensure_certificate(tmp_path_factory.mktemp("tls"))
    evil = EvilNet.start()
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = server.server_address[1]
    result_host = ResultHost(f"https://localhost:{port}", f"localhost:{port}", cert, evil)
    server.RequestHandlerClass = make_handler(result_host)
    server.daemon_threads = True
    server.socket = tls.server_context(cert, key).wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield result_host
    result_host.stop.set()
    server.shutdown()
    server.server_close()
    evil.stop()


@pytest.fixture
def session(host: ResultHost) -> Iterator[requests.Session]:
    with requests.Session() as http:
        http.verify = str(host.cert)
        http.trust_env = False  # REQUESTS_CA_BUNDLE would win over session.verify
        yield http


def fetch(host: ResultHost, session: requests.Session, url: str) -> bytes:
    with open_result(
        url,
        allowlist=HostAllowlist.parse([host.authority]),
        session=session,
        max_bytes=MAX_BYTES,
        timeouts=TIMEOUTS,
        deadline_seconds=DEADLINE,
    ) as body:
        return b"".join(body.chunks)


def hostile_cases() -> list[tuple[str, str, str]]:
    """The URL table with placeholders; filled per test once the servers have ports."""
    fake = EvilNet.__new__(EvilNet)
    for name in ("v4", "local", "v6"):
        setattr(fake, name, type("P", (), {"port": 1})())
    return [(label, "", code) for label, _url, code in hostile_urls("localhost:1", fake)]


@pytest.mark.parametrize(("label", "code"), [(label, code) for label, _, code in hostile_cases()])
def test_hostile_urls_are_refused_without_contacting_anyone(
    host: ResultHost, session: requests.Session, label: str, code: str
) -> None:
    # GIVEN a hostile result URL (the table in tests/hostile.py, filled with the live ports)
    url = {lbl: u for lbl, u, _ in hostile_urls(host.authority, host.evil)}[label]
    # WHEN Finalize's download opens it
    with pytest.raises(PermanentError) as refused:
        fetch(host, session, url)
    # THEN it is refused with the case's specific code, no evil listener saw a connection,
    # AND the canary signature is in neither the message nor the code
    assert refused.value.code == code
    assert sum(host.evil.connections.values()) == 0, host.evil.connections
    assert CANARY not in str(refused.value)


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/redirect-evil", "ResultHostNotAllowed"),
        ("/redirect-evil-relative-userinfo", "ResultUrlHasUserinfo"),
        ("/redirect-http", "ResultUrlNotHttps"),
        ("/redirect-loop", "ResultTooManyRedirects"),
        ("/html", "ResultNotImage"),
        ("/declared-too-big", "ResultTooLarge"),
        ("/undeclared-too-big", "ResultTooLarge"),
        ("/stall", "ResultDownloadTimedOut"),
        ("/trickle", "ResultDownloadTimedOut"),
        ("/missing", "ResultDownloadFailed"),
    ],
)
def test_hostile_responses_from_an_allowed_host_are_refused(
    host: ResultHost, session: requests.Session, path: str, code: str
) -> None:
    # GIVEN an allowed host that answers badly WHEN the result is fetched THEN a specific code, no evil contact
    with pytest.raises(PermanentError) as refused:
        fetch(host, session, f"{host.origin}{path}{SIGNED}")
    assert refused.value.code == code
    assert sum(host.evil.connections.values()) == 0, host.evil.connections
    assert CANARY not in str(refused.value)


def test_a_never_ending_body_is_cut_off_near_the_deadline(host: ResultHost, session: requests.Session) -> None:
    # GIVEN a host that trickles one byte every 0.1 s (each read is inside the read timeout)
    started = time.monotonic()
    with pytest.raises(PermanentError) as refused:
        fetch(host, session, f"{host.origin}/trickle")
    # THEN the download ends by the deadline plus one read timeout, never later (a bound, not a timing)
    assert refused.value.code == "ResultDownloadTimedOut"
    assert time.monotonic() - started < DEADLINE + TIMEOUTS[1] + 5


def test_allowed_results_and_allowed_redirects_are_copied(host: ResultHost, session: requests.Session) -> None:
    assert fetch(host, session, f"{host.origin}/ok.png{SIGNED}") == PNG
    assert fetch(host, session, f"{host.origin}/redirect-ok{SIGNED}") == PNG


def test_the_allowed_host_in_another_letter_case_is_the_same_host(host: ResultHost, session: requests.Session) -> None:
    # Host names compare as DNS compares them (the upper-case variants of the hostile table stay refused).
    assert fetch(host, session, f"https://{host.authority.upper()}/ok.png{SIGNED}") == PNG


# ---------------------------------------------------------------- the use case, end to end in-process


@dataclass
class MemoryStore:
    objects: dict[str, bytes] = field(default_factory=dict)

    def put_stream(self, bucket: str, key: str, chunks: Iterator[bytes], **_: Any) -> None:
        self.objects[key] = b"".join(chunks)

    def put_json(self, bucket: str, key: str, document: Any) -> None:
        self.objects[key] = json.dumps(document).encode()


@dataclass
class ScriptedApi:
    urls: list[str]

    def query(self, task_id: str) -> TaskSnapshot:
        return TaskSnapshot(
            task_id=task_id,
            status=TaskStatus.SUCCEEDED,
            request_id="r",
            code=None,
            message=None,
            submit_time=None,
            scheduled_time=None,
            end_time=None,
            results=tuple(ResultItem(url=url, code=None, message=None) for url in self.urls),
            task_metrics={},
            image_count=len(self.urls),
        )


@dataclass
class Events:
    entries: list[Any] = field(default_factory=list)

    def put_events(self, Entries: list[Any]) -> None:
        self.entries.extend(Entries)


def run_finalize(host: ResultHost, session: requests.Session, urls: list[str]) -> tuple[MemoryStore, Any]:
    store, events = MemoryStore(), Events()
    settings = Settings(
        output_bucket="out",
        result_host_allowlist=(host.authority,),
        max_result_bytes=MAX_BYTES,
        connect_timeout=TIMEOUTS[0],
        read_timeout=TIMEOUTS[1],
    )
    collaborators: dict[str, Any] = {f.name: None for f in dataclasses.fields(Services)}
    collaborators.update(
        settings=settings,
        store=store,
        api=ScriptedApi(urls),
        http=session,
        allowlist=HostAllowlist.parse(settings.result_host_allowlist),
        events=events,
    )
    services = Services(**collaborators)
    state = {
        "job": {
            "job_id": "j1",
            "stem": "hostile",
            "model": "wanx-ast",
            "source": {"bucket": "in", "key": "incoming/hostile.jpg", "version_id": None, "etag": "e"},
            "spec": {"title": ["T"], "subtitle": [], "text": [], "underlay": 0, "logo_key": None, "n": 1},
            "submitted_at": "2026-01-01T00:00:00.000Z",
        },
        "task": {"task_id": "t1", "request_id": "r1"},
    }
    try:
        result: Any = finalize_job(ExecutionState.from_dict(state), services, lambda: 600_000)
    except NoResultCopiedError as exc:
        result = exc
    return store, result


def test_finalize_refuses_every_hostile_url_and_copies_only_the_good_one(
    host: ResultHost, session: requests.Session
) -> None:
    # GIVEN a task whose results are every hostile URL, the hostile responses, and one good result
    table = hostile_urls(host.authority, host.evil)
    responses = [
        ("/redirect-evil", "ResultHostNotAllowed"),
        ("/html", "ResultNotImage"),
        ("/svg", "ResultNotImage"),
        ("/lying-type", "ResultNotImage"),
        ("/declared-too-big", "ResultTooLarge"),
        ("/undeclared-too-big", "ResultTooLarge"),
    ]
    urls = [url for _, url, _ in table] + [f"{host.origin}{p}{SIGNED}" for p, _ in responses]
    urls.append(f"{host.origin}/ok.png{SIGNED}")
    # WHEN Finalize runs
    store, result = run_finalize(host, session, urls)
    # THEN only the good result is copied; the manifest names each refusal's specific code
    assert result["outcome"] == "PARTIAL"
    good = len(urls) - 1
    assert result["output_keys"] == [f"posters/hostile/{good}.png"]
    manifest = json.loads(store.objects["posters/hostile/manifest.json"])
    codes = [entry.get("code") for entry in manifest["results"]]
    assert codes == [code for _, _, code in table] + [code for _, code in responses] + [None]
    # AND no evil listener was contacted, and the canary signature is nowhere in what was written
    assert sum(host.evil.connections.values()) == 0, host.evil.connections
    assert all(CANARY.encode() not in body for body in store.objects.values())
    assert set(store.objects) == {"posters/hostile/manifest.json", f"posters/hostile/{good}.png"}


def test_finalize_with_only_hostile_results_records_no_result_copied(
    host: ResultHost, session: requests.Session
) -> None:
    urls = [url for _, url, _ in hostile_urls(host.authority, host.evil)][:5]
    _, result = run_finalize(host, session, urls)
    assert isinstance(result, NoResultCopiedError)
    assert CANARY not in str(result)
