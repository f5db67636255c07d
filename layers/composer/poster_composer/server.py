"""The composer's HTTP transport (stdlib ``ThreadingHTTPServer``, HTTP/1.1, optional TLS).

Only transport lives here: parsing requests into ``api.HttpRequest``, writing ``api.HttpResponse``,
TLS, logging without secrets, and the server's lifecycle. What the endpoints do is in ``api.py``.

Example
-------
>>> # with ComposerServer(config={"task_seconds": 0.1}) as server:
>>> #     requests.post(server.base_url + "/services/aigc/text2image/image-synthesis", ...)
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import re
import signal
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from poster_composer.api import MAX_REQUEST_BYTES, ComposerApp, HttpRequest, HttpResponse, error_response
from poster_composer.errors import (
    ApiError,
    ComposerConfigError,
    InternalServerError,
    InvalidParameterError,
    RequestTooLargeError,
)
from poster_composer.faults import ComposerConfig
from poster_composer.tls import ensure_certificate, server_context

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path
    from types import FrameType, TracebackType

    from poster_composer.input_media import MediaFetcher
    from poster_composer.tasks import Renderer

logger = logging.getLogger(__name__)

IDLE_CONNECTION_SECONDS = 60.0
_HOST_HEADER = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_QUIET_ERRORS = (ConnectionError, TimeoutError, ssl.SSLError)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # bursts of clients (load tests) must not be refused at the listen backlog

    def __init__(
        self, address: tuple[str, int], app: ComposerApp, scheme: str, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.app = app
        self.scheme = scheme
        self.ssl_context = ssl_context
        self.default_origin = ""
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        connection, address = super().get_request()
        # Headers and body go out as separate writes: without this, Nagle + delayed ACK add ~40 ms.
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            # The handshake runs in the connection's own thread (``_Handler.setup``), not here.
            connection = self.ssl_context.wrap_socket(connection, server_side=True, do_handshake_on_connect=False)
        with self._connections_lock:
            self._connections.add(connection)
        return connection, address

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End every open (e.g. idle keep-alive) connection, so nothing is served after a stop."""
        with self._connections_lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        import sys

        error = sys.exc_info()[1]
        if isinstance(error, _QUIET_ERRORS):
            logger.debug("connection from %s ended: %s", client_address[0], type(error).__name__)
            return
        logger.exception("error while serving %s", client_address[0])


class _IPv6HTTPServer(_HTTPServer):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "poster-composer/0.1"
    sys_version = ""
    timeout = IDLE_CONNECTION_SECONDS
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _origin(self) -> str:
        host = self.headers.get("Host", "")
        if host and _HOST_HEADER.match(host):
            return f"{self.server.scheme}://{host}"
        return self.server.default_origin

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise ApiError("Chunked request bodies are not supported.", status=411, code="LengthRequired")
        raw_length = self.headers.get("Content-Length", "0").strip() or "0"
        if not raw_length.isdigit():
            self.close_connection = True
            raise InvalidParameterError("Invalid Content-Length.")
        length = int(raw_length)
        if length > MAX_REQUEST_BYTES:
            self.close_connection = True
            raise RequestTooLargeError(f"Request body exceeds {MAX_REQUEST_BYTES} bytes.")
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        try:
            request = HttpRequest(
                method=self.command,
                path=parts.path,
                query=parts.query,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=self._read_body(),
                origin=self._origin(),
            )
            response = self.server.app.handle(request)
        except ApiError as error:
            response = error_response(error, "-")
        except Exception:
            logger.exception("unhandled error for %s %s", self.command, parts.path)
            response = error_response(InternalServerError("An internal error has occured."), "-")
        self._send(response, parts.path)

    def _send(self, response: HttpResponse, path: str) -> None:
        self._logged_path = path
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        length = response.content_length if response.stream is not None else len(response.body)
        self.send_header("Content-Length", str(length or 0))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if response.stream is None:
            self.wfile.write(response.body)
            return
        sent = 0
        for chunk in response.stream:
            self.wfile.write(chunk)
            self.wfile.flush()
            sent += len(chunk)
        if sent != length:
            self.close_connection = True  # the body was cut short (e.g. the server is stopping)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # Never the query string (signatures) and never a header (Authorization).
        path = getattr(self, "_logged_path", None) or urlsplit(getattr(self, "path", "")).path
        logger.info("%s %s %s -> %s", self.client_address[0], self.command, path, code)

    def log_message(self, format: str, *args: Any) -> None:
        # Errors logged by http.server embed the request line; keep only its path.
        logger.debug(
            "%s: http.server reported a protocol error (details withheld: they may hold a query)",
            self.client_address[0],
        )


class ComposerServer:
    """The composer on a host and port: the API plus its HTTP(S) transport.

    Parameters
    ----------
    host
        Address to bind (``127.0.0.1`` by default; ``::`` or ``::1`` binds IPv6).
    port
        Port; 0 picks a free one (read ``.port`` / ``.origin`` after ``start()``).
    tls_dir
        Serve HTTPS with a self-signed certificate written to ``tls_dir/cert.pem`` (``.cert_path``).
    config
        A ``ComposerConfig`` or a mapping of its JSON keys (``POST /_composer/reset`` returns to it).
    public_host
        Host name used in ``origin`` / ``base_url`` (default: the bound address; ``127.0.0.1``
        for a wildcard bind). Result URLs use the ``Host`` the client sent, or ``result_origin``.
    fetcher, renderer, secret
        Injected collaborators (see ``ComposerApp``).

    Example
    -------
    >>> # with ComposerServer(port=0, config={"task_seconds": 0.2}) as server:
    >>> #     print(server.base_url)   # http://127.0.0.1:<port>/api/v1
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        tls_dir: Path | None = None,
        config: ComposerConfig | Mapping[str, Any] | None = None,
        *,
        public_host: str | None = None,
        fetcher: MediaFetcher | None = None,
        renderer: Renderer | None = None,
        secret: bytes | None = None,
    ) -> None:
        if config is None or isinstance(config, ComposerConfig):
            parsed = config or ComposerConfig()
        else:
            parsed = ComposerConfig.from_mapping(config)
        self._host = host
        self._requested_port = port
        self._tls_dir = tls_dir
        self._public_host = public_host
        self.cert_path: Path | None = None
        self.key_path: Path | None = None
        self.app = ComposerApp(parsed, fetcher=fetcher, renderer=renderer, secret=secret)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Bind, start the workers and serve in a background thread. Returns ``self``."""
        if self._httpd is not None:
            return self
        context = None
        if self._tls_dir is not None:
            self.cert_path, self.key_path = ensure_certificate(self._tls_dir)
            context = server_context(self.cert_path, self.key_path)
        server_class = _IPv6HTTPServer if ":" in self._host else _HTTPServer
        httpd = server_class((self._host, self._requested_port), self.app, "https" if context else "http", context)
        self._httpd = httpd
        httpd.default_origin = self.origin
        self.app.start()
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, name="composer-http", daemon=True
        )
        self._thread.start()
        logger.info("poster-composer serving %s", self.origin)
        return self

    def stop(self) -> None:
        """Stop serving, stop the workers, close the socket."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        httpd.close_connections()
        self.app.stop()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ addresses

    @property
    def port(self) -> int:
        """The bound port (after ``start()``)."""
        if self._httpd is None:
            raise RuntimeError("the server is not started")
        return int(self._httpd.server_address[1])

    @property
    def scheme(self) -> str:
        """``https`` with ``tls_dir``, else ``http``."""
        return "https" if self._tls_dir is not None else "http"

    @property
    def origin(self) -> str:
        """``scheme://host:port``."""
        host = self._public_host or self._host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        try:
            if ipaddress.ip_address(host).version == 6:
                host = f"[{host}]"
        except ValueError:
            pass
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The DashScope base URL, ``origin + "/api/v1"``."""
        return self.origin + "/api/v1"

    # ------------------------------------------------------------ control (in-process shortcuts)

    @property
    def config(self) -> ComposerConfig:
        """The configuration in force."""
        return self.app.config

    def update_config(self, changes: Mapping[str, Any]) -> ComposerConfig:
        """Merge ``changes`` into the configuration (like ``PUT /_composer/config``)."""
        return self.app.update_config(changes)

    def stats(self) -> dict[str, Any]:
        """Like ``GET /_composer/stats``."""
        return self.app.stats_snapshot()

    def reset(self) -> None:
        """Like ``POST /_composer/reset``."""
        self.app.reset()


def load_config(path: Path | None) -> ComposerConfig:
    """Read a JSON configuration file (``None``: the defaults).

    Raises
    ------
    ComposerConfigError
        Unreadable, not JSON, or an invalid configuration.
    """
    if path is None:
        return ComposerConfig()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ComposerConfigError(f"cannot read config {path}: {error}") from error
    return ComposerConfig.from_mapping(data)


def serve(host: str, port: int, tls_dir: Path | None, config_path: Path | None) -> None:
    """Run the composer until SIGINT / SIGTERM (``poster-composer serve``).

    Prints ``poster-composer listening on <origin>`` (flushed) once it accepts connections, so a
    parent process started with ``--port 0`` can read the port.
    """
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("urllib3").setLevel(logging.WARNING)  # its debug lines carry full URLs
    server = ComposerServer(host, port, tls_dir, load_config(config_path))
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        print(f"poster-composer listening on {server.origin}", flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
