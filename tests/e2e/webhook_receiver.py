"""The completion-webhook e2e helpers: a receiver on HTTPS ``localhost`` (its own self-signed CA) checking the
``X-Poster-Webhook-Key`` header as README "Webhooks" tells a receiver to, recording every request.

It answers 401 to a wrong or missing key, and otherwise by a marker in the payload's ``source_key``: ``hook503``
→ 503 (EventBridge retries it), ``hook400`` → 400 (it does not), anything else → 204. `webhook_stack` starts the
deployed-shape stack pointed at it; `run_jobs` uploads a package's jobs and awaits their outcomes and deliveries.
"""

from __future__ import annotations

import hmac
import json
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from local_stack.api_destinations import ApiDestinationOptions, RetryPolicy
from local_stack.stack import LocalStack
from poster_composer.tls import ensure_certificate, server_context
from tests.conftest import fixture_image
from tests.e2e.conftest import SESSION_TOKEN

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from local_stack.api_destinations import Delivery
    from local_stack.stack import Outcome

KEY_HEADER = "X-Poster-Webhook-Key"
MARKERS = {"hook503": 503, "hook400": 400}
#: The template's retry policy (a day, 185 retries) shortened: two retries, fractions of a second apart.
RETRY = RetryPolicy(
    maximum_event_age_seconds=60, maximum_retry_attempts=2, base_delay_seconds=0.2, max_delay_seconds=0.5
)


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it, and what it answered."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """The server (a context manager); set `expected_key` to the secret's value before jobs finish."""

    def __init__(self, tls_dir: Path) -> None:
        self.cert, self.key = ensure_certificate(tls_dir)
        self.expected_key: str | None = None
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"https://localhost:{self._server.server_address[1]}/hooks/poster"

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.answer(self.headers.get(KEY_HEADER), body)
                with receiver._lock:
                    receiver.received.append(Received("POST", self.path, dict(self.headers.items()), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = server_context(self.cert, self.key).wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True)
        self._thread.start()
        return self

    def answer(self, key: str | None, body: bytes) -> int:
        if self.expected_key is None or key is None or not hmac.compare_digest(key, self.expected_key):
            return 401
        try:
            source_key = str(json.loads(body).get("source_key", ""))
        except (ValueError, AttributeError):
            return 400
        return next((status for marker, status in MARKERS.items() if marker in source_key), 204)

    def for_source(self, source_key: str) -> list[Received]:
        with self._lock:
            return [r for r in self.received if _source_key(r.body) == source_key]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _source_key(body: bytes) -> str | None:
    try:
        return str(json.loads(body).get("source_key"))
    except (ValueError, AttributeError):
        return None


def webhook_key(stack: LocalStack) -> str:
    """The value every delivery must carry, read as a receiver's operator reads it (``WebhookSecretArn``)."""
    arn = stack.resources.secret_arns["WebhookSigningSecret"]
    return str(stack.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


@contextmanager
def webhook_stack(receiver: WebhookReceiver, **parameters: str) -> Iterator[LocalStack]:
    """The deployed-shape stack (``Engine=composer``, IAM enforced) with ``CompletionWebhookUrl`` = the receiver."""
    with LocalStack(
        parameters={"PollSchedule": "1", "MaxWaitSeconds": "120", "CompletionWebhookUrl": receiver.url, **parameters},
        enforce_iam=True,
        environment={
            "POWERTOOLS_METRICS_DISABLED": "true",
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "AWS_SECURITY_TOKEN": SESSION_TOKEN,
        },
        api_destinations=ApiDestinationOptions(retry=RETRY, ca_bundle=str(receiver.cert)),
    ) as stack:
        receiver.expected_key = webhook_key(stack)
        yield stack


@dataclass
class Jobs:
    """The package's jobs by name (``ok``, ``bad``, ``hook503``, ``hook400``): source keys, outcomes, deliveries."""

    keys: dict[str, str]
    outcomes: dict[str, Outcome]
    deliveries: list[Delivery]
    events: list[dict[str, Any]]


def run_jobs(stack: LocalStack, names: list[str]) -> Jobs:
    """Upload one job per name (``bad`` is text named .jpg: a failure record), await outcomes and deliveries."""
    tag = uuid.uuid4().hex[:8]
    photo = fixture_image("rocket.jpg").read_bytes()
    keys = {}
    for name in names:
        stem = f"wh-{name}-{tag}"
        keys[name] = f"incoming/{stem}.jpg"
        stack.upload(b"hello, I am not a picture\n" * 10 if name == "bad" else photo, keys[name])
    outcomes = {name: stack.wait_for_outcome(key[len("incoming/") : -len(".jpg")], 120) for name, key in keys.items()}
    assert stack.api_destinations is not None
    deliveries = stack.api_destinations.wait_for(
        lambda ds: len(ds) >= len(names) and all(d.status != "PENDING" for d in ds), timeout=60
    )
    return Jobs(keys, outcomes, deliveries, stack.events(wait_seconds=0))


def event_detail(jobs: Jobs, source_key: str) -> dict[str, Any]:
    """The completion event's detail the bus carried for ``source_key``."""
    (detail,) = [e["detail"] for e in jobs.events if e["detail"].get("source_key") == source_key]
    return dict(detail)
