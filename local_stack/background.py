"""One background thread per emulator: started once, stopped (and joined) on ``stop()`` or on leaving ``with``."""

from __future__ import annotations

import threading
from typing import Self


class BackgroundLoop:
    """A daemon thread running ``_run`` until ``_stop`` is set; subclasses loop on ``self._stop.wait(...)``."""

    thread_name = "background"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> Self:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
