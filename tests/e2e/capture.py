"""Every log record any logger in this process emits, as text, for the leak scan.

``logging.Logger.handle`` is wrapped, so records are seen at their source whatever handlers, levels
of propagation or formatters (Powertools' JSON) are configured later: the message, the formatted
traceback of an exception, and every extra attribute (Powertools' ``extra=`` keys) are kept.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

_FORMAT = logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s")
_PLAIN = frozenset(vars(logging.LogRecord("n", 0, "p", 0, "m", None, None)))


class LogCapture:
    """Context manager: record everything logged in the process while it is active."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._original: Any = None

    def __enter__(self) -> LogCapture:
        original = logging.Logger.handle
        capture = self

        def handle(logger: logging.Logger, record: logging.LogRecord) -> None:
            capture.add(record)
            original(logger, record)

        self._original = original
        setattr(logging.Logger, "handle", handle)  # noqa: B010 - patching on purpose
        return self

    def __exit__(self, *exc_info: object) -> None:
        setattr(logging.Logger, "handle", self._original)  # noqa: B010

    def add(self, record: logging.LogRecord) -> None:
        try:
            text = _FORMAT.format(record)
        except Exception as error:  # a broken %-format must not break the handler under test
            text = f"{record.name} unformattable record {record.msg!r} {record.args!r}: {error!r}"
        extras = {key: value for key, value in vars(record).items() if key not in _PLAIN}
        if extras:
            text += " " + json.dumps(extras, default=repr, ensure_ascii=False)
        with self._lock:
            self.lines.append(text)

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.lines)
