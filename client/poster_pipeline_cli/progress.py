"""The waiting display on stderr: a spinner and the elapsed time on a terminal, plain lines otherwise."""

from __future__ import annotations

from typing import TextIO

__all__ = ["Progress"]

_UNICODE_FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_ASCII_FRAMES = "|/-\\"


class Progress:
    """Shows that ``label`` is being waited for.

    On a terminal one line is redrawn in place (``⠹ photo: waiting for the poster… 12s``); otherwise (a log, a
    pipe, CI) a line when waiting starts, one every ``plain_every`` seconds, and the final one.
    """

    def __init__(
        self, stream: TextIO, label: str, *, tty: bool | None = None, quiet: bool = False, plain_every: float = 30.0
    ) -> None:
        self.stream = stream
        self.label = label
        self.tty = stream.isatty() if tty is None else tty
        self.quiet = quiet
        self.plain_every = plain_every
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        self.frames = _UNICODE_FRAMES if encoding == "utf8" else _ASCII_FRAMES
        self._frame = 0
        self._next_plain = plain_every
        self._drawn = False

    def start(self, message: str) -> None:
        """The first line (``waiting for …``)."""
        if not self.quiet:
            self._line(f"{self.label}: {message}")

    def update(self, elapsed: float) -> None:
        """Called while waiting (many times a second on a terminal)."""
        if self.quiet:
            return
        if self.tty:
            frame = self.frames[self._frame % len(self.frames)]
            self._frame += 1
            self.stream.write(f"\r{frame} {self.label}: waiting for the poster… {elapsed:.0f}s\x1b[K")
            self.stream.flush()
            self._drawn = True
        elif elapsed >= self._next_plain:
            self._line(f"{self.label}: still waiting after {elapsed:.0f}s")
            while self._next_plain <= elapsed:
                self._next_plain += self.plain_every

    def finish(self, message: str) -> None:
        """The last line (clears the spinner's)."""
        if not self.quiet:
            self._line(f"{self.label}: {message}")

    def _line(self, text: str) -> None:
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self._drawn = False
        self.stream.write(text + "\n")
        self.stream.flush()
