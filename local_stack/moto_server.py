"""Start moto's ``ThreadedMotoServer`` on a free loopback port, configured for the pipeline.

The server executes real state machine definitions and uses the Docker-less Lambda backend (whose
``invoke`` the seam in `local_stack.lambda_seam` routes to the handlers). ``MOTO_PORT`` is set before
start because moto's Step Functions interpreter calls Lambda at ``http://localhost:$MOTO_PORT``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import urllib.request
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import MutableMapping
    from pathlib import Path

__all__ = ["MOTO_CONFIG", "MotoServer", "aws_environment", "free_port"]

#: Posted to ``/moto-api/config``.
MOTO_CONFIG: dict[str, Any] = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def aws_environment(endpoint: str, region: str = "us-east-1") -> dict[str, str]:
    """Dummy credentials, the region and ``AWS_ENDPOINT_URL`` pointing at moto.

    Examples
    --------
    >>> aws_environment("http://localhost:5000")["AWS_ACCESS_KEY_ID"]
    'testing'
    """
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ENDPOINT_URL": endpoint,
    }


class MotoServer:
    """A running ``ThreadedMotoServer`` (context manager).

    Parameters
    ----------
    port : int
        0 lets the OS pick a free port (read `port` after `start`).
    environ : MutableMapping[str, str] | None
        Where ``MOTO_PORT`` is set (default ``os.environ``; moto reads it from there).

    Examples
    --------
    >>> with MotoServer() as server:  # doctest: +SKIP
    ...     boto3.client("s3", endpoint_url=server.endpoint).list_buckets()
    """

    def __init__(self, port: int = 0, environ: MutableMapping[str, str] | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = port
        self._environ = os.environ if environ is None else environ
        self._server: Any = None
        self._tls_server: Any = None
        self._tls_thread: threading.Thread | None = None
        self.tls_endpoint = ""
        self._previous_port: str | None = None

    @property
    def endpoint(self) -> str:
        """``http://localhost:<port>`` (the name moto's interpreter uses too)."""
        return f"http://localhost:{self.port}"

    def start(self) -> MotoServer:
        """Start the server, wait until it answers, and post `MOTO_CONFIG`.

        Raises
        ------
        RuntimeError
            If the server does not answer within 10 seconds.
        """
        from moto.server import ThreadedMotoServer

        werkzeug_log = logging.getLogger("werkzeug")
        if werkzeug_log.level == logging.NOTSET:  # one access-log line per AWS call is noise here
            werkzeug_log.setLevel(logging.WARNING)
        self._previous_port = self._environ.get("MOTO_PORT")
        if self.port:
            self._environ["MOTO_PORT"] = str(self.port)
        self._server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        self._server.start()
        # With port 0 the OS picks the port; moto reads MOTO_PORT at call time, before any request.
        self.port = int(self._server.get_host_and_port()[1])
        self._environ["MOTO_PORT"] = str(self.port)
        self._wait_ready()
        self.post_config(MOTO_CONFIG)
        return self

    def _wait_ready(self, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.endpoint}/moto-api/config", timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"moto server on {self.endpoint} did not start") from None
                time.sleep(0.05)

    def post_config(self, config: dict[str, Any]) -> None:
        """POST a configuration to ``/moto-api/config``."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/config",
            data=json.dumps(config).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5):
            pass

    def start_tls(self, cert_path: Path, key_path: Path) -> str:
        """Serve the same moto backends over HTTPS too (on another free port) and return that endpoint.

        S3 is reached through it as on AWS, over TLS: presigned URLs, and the result URLs the
        pipeline's Finalize accepts only over https.
        """
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        app = DomainDispatcherApplication(create_backend_app)
        server = make_server(
            self.host,
            0,
            app,
            threaded=True,
            request_handler=MotoRequestHandler,
            ssl_context=(str(cert_path), str(key_path)),
        )
        self._tls_server = server
        self._tls_thread = threading.Thread(target=server.serve_forever, name="moto-tls", daemon=True)
        self._tls_thread.start()
        self.tls_endpoint = f"https://localhost:{server.server_address[1]}"
        return self.tls_endpoint

    def stop(self) -> None:
        """Stop the server(s) and restore ``MOTO_PORT``."""
        if self._tls_server is not None:
            self._tls_server.shutdown()
            self._tls_server = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self._previous_port is None:
            self._environ.pop("MOTO_PORT", None)
        else:
            self._environ["MOTO_PORT"] = self._previous_port

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
