"""Run the composer (``python -m poster_composer serve``) as a real HTTPS server in a subprocess.

The server prints ``poster-composer listening on <origin>`` once it accepts connections; that line
gives the port. The pipeline reaches it exactly as it reaches DashScope: over HTTPS, trusting the
self-signed certificate through ``REQUESTS_CA_BUNDLE``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

__all__ = ["ComposerProcess", "ComposerStartError"]

_LISTENING = re.compile(r"poster-composer listening on (\S+)")


class ComposerStartError(RuntimeError):
    """The composer did not announce its origin in time (its output is in the message)."""


class ComposerProcess:
    """The composer server in a subprocess (context manager).

    Parameters
    ----------
    config : dict[str, Any] | None
        Written to a JSON file and passed as ``--config``.
    tls : bool
        Serve HTTPS (``--tls-dir``); the certificate is `cert_path`.
    command : list[str] | None
        Replace ``[sys.executable, "-m", "poster_composer"]`` (tests use a stub).
    cwd : Path | None
        Working directory (default: the project root, so ``-m poster_composer`` is importable).
    start_timeout : float
        Seconds to wait for the "listening" line.

    Attributes
    ----------
    origin : str
        ``https://localhost:<port>`` (``localhost`` replaces ``127.0.0.1`` to match the certificate
        and the allow-list entry).
    port : int
    cert_path : Path | None

    Examples
    --------
    >>> with ComposerProcess() as composer:  # doctest: +SKIP
    ...     composer.stats()
    """

    def __init__(
        self,
        config: dict[str, Any] | None = None,
        *,
        tls: bool = True,
        command: list[str] | None = None,
        cwd: Path | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.config = config
        self.tls = tls
        self.command = command or [sys.executable, "-m", "poster_composer"]
        self.cwd = cwd or Path(__file__).resolve().parent.parent
        self.start_timeout = start_timeout
        self.origin = ""
        self.port = 0
        self.cert_path: Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._process: subprocess.Popen[str] | None = None
        self._output: deque[str] = deque(maxlen=200)
        self._reader: threading.Thread | None = None

    @property
    def api_base_url(self) -> str:
        """``<origin>/api/v1`` (``DASHSCOPE_BASE_URL``)."""
        return f"{self.origin}/api/v1"

    @property
    def host_port(self) -> str:
        """``localhost:<port>`` (``RESULT_HOST_ALLOWLIST``)."""
        return f"localhost:{self.port}"

    def pipeline_environment(self) -> dict[str, str]:
        """The variables that point the pipeline at this composer."""
        environment = {"DASHSCOPE_BASE_URL": self.api_base_url, "RESULT_HOST_ALLOWLIST": self.host_port}
        if self.cert_path is not None:
            environment["REQUESTS_CA_BUNDLE"] = str(self.cert_path)
        return environment

    @property
    def output(self) -> list[str]:
        """The last lines the server wrote (stdout and stderr)."""
        return list(self._output)

    def start(self) -> ComposerProcess:
        """Start the server and wait for its "listening" line.

        Raises
        ------
        ComposerStartError
            If the process exits or stays silent for `start_timeout` seconds.
        """
        self._tmp = tempfile.TemporaryDirectory(prefix="poster-composer-")
        tmp = Path(self._tmp.name)
        argv = [*self.command, "serve", "--host", "127.0.0.1", "--port", "0"]
        if self.tls:
            argv += ["--tls-dir", str(tmp)]
        if self.config is not None:
            config_path = tmp / "composer-config.json"
            config_path.write_text(json.dumps(self.config), encoding="utf-8")
            argv += ["--config", str(config_path)]
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._process = subprocess.Popen(
            argv,
            cwd=self.cwd,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        )
        announced = threading.Event()
        found: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(announced, found), daemon=True, name="composer-output")
        self._reader.start()
        if not announced.wait(self.start_timeout) or not found:
            tail = "\n".join(self.output[-30:])
            self.stop()
            raise ComposerStartError(f"the composer did not start ({' '.join(argv)}):\n{tail}")
        self._set_origin(found[0])
        if self.tls:
            self.cert_path = tmp / "cert.pem"
        return self

    def _read(self, announced: threading.Event, found: list[str]) -> None:
        assert self._process is not None and self._process.stdout is not None
        for line in self._process.stdout:
            self._output.append(line.rstrip("\n"))
            if not found:
                match = _LISTENING.search(line)
                if match:
                    found.append(match.group(1))
                    announced.set()
        announced.set()  # the process ended

    def _set_origin(self, announced: str) -> None:
        parts = urlsplit(announced)
        host = parts.hostname or "localhost"
        if host in ("127.0.0.1", "::1", "0.0.0.0"):
            host = "localhost"
        self.port = int(parts.port or (443 if parts.scheme == "https" else 80))
        self.origin = f"{parts.scheme}://{host}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the server (kill it after ``timeout``) and remove its temporary folder."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.terminate()
                try:
                    self._process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self._process.kill()
                    self._process.wait(timeout)
            if self._process.stdout is not None:
                self._process.stdout.close()
            self._process = None
        if self._reader is not None:
            self._reader.join(timeout)
            self._reader = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ComposerProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ control API

    def _verify(self) -> str | bool:
        return str(self.cert_path) if self.cert_path is not None else True

    def control(self, method: str, path: str, payload: Any = None) -> Any:
        """Call the control API under ``/_composer/`` and return the decoded JSON.

        Raises
        ------
        requests.HTTPError
            On a non-2xx answer.
        """
        response = requests.request(
            method, f"{self.origin}/_composer/{path}", json=payload, verify=self._verify(), timeout=(3.05, 30)
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def stats(self) -> Any:
        """``GET /_composer/stats``."""
        return self.control("GET", "stats")

    def get_config(self) -> Any:
        """``GET /_composer/config``."""
        return self.control("GET", "config")

    def set_config(self, config: dict[str, Any]) -> Any:
        """``PUT /_composer/config``."""
        return self.control("PUT", "config", config)

    def reset(self) -> Any:
        """``POST /_composer/reset``."""
        return self.control("POST", "reset")
