"""API Gateway HTTP APIs of the template, served on loopback over HTTPS (moto cannot serve them).

For each ``AWS::ApiGatewayV2::Api`` with a quick-create ``Target`` (a Lambda function ARN), `HttpApiFront`
turns every request into the payload-format-2.0 event API Gateway sends, invokes the function through
moto's Lambda API (so the seam runs the real handler, counted, under its own role when IAM is enforced)
and writes the function's response back. What API Gateway itself answers is emulated too: 413 for a
body over its 10 MB limit, 500 ``Internal Server Error`` when the function fails.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from poster_composer.tls import server_context

if TYPE_CHECKING:
    from pathlib import Path

    from local_stack.template import Template

_LOG = logging.getLogger(__name__)
API_TYPE = "AWS::ApiGatewayV2::Api"
#: API Gateway's payload limit for HTTP APIs.
MAX_PAYLOAD_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class HttpApiSpec:
    """One quick-create HTTP API: its logical id and the function it fronts."""

    logical_id: str
    function_name: str


def http_apis(template: Template) -> list[HttpApiSpec]:
    """The template's enabled quick-create HTTP APIs."""
    specs = []
    for logical_id in template.logical_ids(API_TYPE):
        target = template.resolve_str((template.resources[logical_id].get("Properties") or {}).get("Target"))
        specs.append(HttpApiSpec(logical_id, target.rsplit(":function:", 1)[-1]))
    return specs


def api_event(method: str, target: str, headers: dict[str, str], body: bytes, api_id: str) -> dict[str, Any]:
    """The payload-format-2.0 event of one request."""
    parts = urlsplit(target)
    text: str | None = None
    encoded = False
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode("ascii"), True
    now = time.time()
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": parts.path,
        "rawQueryString": parts.query,
        "headers": headers,
        "requestContext": {
            "apiId": api_id,
            "domainName": headers.get("host", ""),
            "http": {
                "method": method,
                "path": parts.path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "timeEpoch": int(now * 1000),
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


class _Handler(BaseHTTPRequestHandler):
    server: _FrontServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length", "0") or "0")
        if length > MAX_PAYLOAD_BYTES:
            self.close_connection = True
            self._reply(413, {"content-type": "application/json"}, b'{"message":"Request Entity Too Large"}')
            return
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        event = api_event(self.command, self.path, headers, body, self.server.api_id)
        try:
            response = self.server.lambda_client.invoke(
                FunctionName=self.server.function_name, Payload=json.dumps(event).encode()
            )
            payload = json.loads(response["Payload"].read() or b"null")
        except Exception:  # API Gateway answers 500 whatever went wrong invoking the function
            _LOG.exception("invoking %s failed", self.server.function_name)
            response, payload = {"FunctionError": "Unhandled"}, None
        if response.get("FunctionError") or not isinstance(payload, dict) or "statusCode" not in payload:
            self._reply(500, {"content-type": "application/json"}, b'{"message":"Internal Server Error"}')
            return
        raw = payload.get("body") or ""
        data = base64.b64decode(raw) if payload.get("isBase64Encoded") else str(raw).encode("utf-8")
        self._reply(int(payload["statusCode"]), dict(payload.get("headers") or {}), data)

    def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                self.send_header(name, str(value))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # never the query string (signatures)
        _LOG.debug("http api %s %s", self.command, urlsplit(self.path).path)


class _FrontServer(ThreadingHTTPServer):
    daemon_threads = True
    lambda_client: Any
    function_name: str
    api_id: str


class HttpApiFront:
    """One HTTP API on ``https://localhost:<port>``.

    Parameters
    ----------
    spec
        Which function it fronts.
    cert_path, key_path
        The loopback certificate (clients trust it through ``REQUESTS_CA_BUNDLE``).
    """

    def __init__(self, spec: HttpApiSpec, cert_path: Path, key_path: Path) -> None:
        self.spec = spec
        self._server = _FrontServer(("127.0.0.1", 0), _Handler)
        self._server.function_name = spec.function_name
        self._server.api_id = spec.logical_id.lower()
        self._server.socket = server_context(cert_path, key_path).wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"http-api-{spec.logical_id}", daemon=True
        )

    @property
    def origin(self) -> str:
        """``https://localhost:<port>``."""
        return f"https://localhost:{self._server.server_address[1]}"

    def start(self, lambda_client: Any) -> HttpApiFront:
        """Serve in a background thread, invoking through ``lambda_client`` (boto3, on moto's endpoint)."""
        self._server.lambda_client = lambda_client
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
