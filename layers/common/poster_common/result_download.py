"""Allow-listed, bounded downloads of result images.

A URL is fetched only if it is ``https`` and its authority is exactly an entry of the allow-list,
compared as DNS compares names: ASCII letters in any case (``host`` means port 443; ``host:port``
names another port). Nothing else is folded: no trailing dot, no suffix, no IDN or Unicode look-alike.
Redirects are followed by hand, re-checking every hop. The body must be ``image/*``, no larger than the cap, and arrive
before the deadline; it is yielded in chunks, never held whole.
"""

from __future__ import annotations

import re
import string
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from poster_common.errors import (
    ResultDownloadError,
    ResultHostNotAllowedError,
    ResultNotImageError,
    ResultTooLargeError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

CHUNK_BYTES = 256 * 1024
MAX_REDIRECTS = 3
_SAFE_AUTHORITY = re.compile(r"[a-z0-9.-]+(:[0-9]{1,5})?")
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def redact(url: str) -> str:
    """The URL without its query and fragment: safe to log or record (signatures live in the query)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{parts.path}" if parts.scheme else "<unparseable URL>"


@dataclass(frozen=True)
class HostAllowlist:
    """Exact-match allow-list of result hosts (ASCII case-insensitive, as DNS is).

    Examples
    --------
    >>> allow = HostAllowlist.parse(["dashscope-result-bj.oss-cn-beijing.aliyuncs.com"])
    >>> allow.check("https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/a/1.png?Signature=x")
    >>> allow.check("https://DashScope-Result-BJ.oss-cn-beijing.aliyuncs.com/a/1.png")
    >>> allow.check("https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com.evil.test/1.png")
    Traceback (most recent call last):
    ...
    poster_common.errors.ResultHostNotAllowedError: result host not on the allow-list: ...
    """

    authorities: frozenset[str]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> HostAllowlist:
        cleaned = {_fold(entry.strip()) for entry in entries if entry.strip()}
        for entry in cleaned:
            if not _SAFE_AUTHORITY.fullmatch(entry):
                raise ValueError(f"allow-list entries are ASCII host or host:port, got {entry!r}")
        return cls(frozenset(cleaned))

    def check(self, url: str) -> None:
        """Raise ``ResultHostNotAllowedError`` (with a specific code) unless ``url`` may be fetched."""
        if any(ch.isspace() or ord(ch) < 0x20 or ch == "\\" for ch in url):
            raise ResultHostNotAllowedError(
                "result URL has whitespace, control characters or backslashes", code="ResultUrlMalformed"
            )
        parts = urlsplit(url)
        if parts.scheme != "https" or not url.startswith("https://"):
            raise ResultHostNotAllowedError(f"result URL is not https: {redact(url)}", code="ResultUrlNotHttps")
        authority = parts.netloc
        if "@" in authority:
            raise ResultHostNotAllowedError("result URL carries userinfo", code="ResultUrlHasUserinfo")
        if _fold(authority) not in self.authorities:
            raise ResultHostNotAllowedError(
                f"result host not on the allow-list: {_printable(authority)}", code="ResultHostNotAllowed"
            )


def _fold(authority: str) -> str:
    """Lower-case ASCII letters only: ``str.lower`` would also map look-alikes such as the Kelvin sign
    (U+212A) to ``k``, and a non-ASCII authority must never match."""
    return authority.translate(_ASCII_LOWER)


def _printable(text: str) -> str:
    return text.encode("ascii", "backslashreplace").decode()[:200]


@dataclass(frozen=True)
class DownloadedBody:
    """An open, checked result: its content type and a bounded stream of its bytes."""

    content_type: str
    chunks: Iterator[bytes]


@contextmanager
def open_result(
    url: str,
    *,
    allowlist: HostAllowlist,
    session: requests.Session,
    max_bytes: int,
    timeouts: tuple[float, float],
    deadline_seconds: float = 120.0,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[DownloadedBody]:
    """Open ``url`` under every rule above; the caller consumes ``chunks`` inside the ``with``."""
    deadline = clock() + deadline_seconds
    current = url
    for _hop in range(MAX_REDIRECTS + 1):
        allowlist.check(current)
        try:
            response = session.get(current, stream=True, allow_redirects=False, timeout=timeouts)
        except requests.Timeout as exc:
            raise ResultDownloadError(f"timed out contacting {redact(current)}", code="ResultDownloadTimedOut") from exc
        except requests.RequestException as exc:
            raise ResultDownloadError(f"could not fetch {redact(current)}: {type(exc).__name__}") from exc
        with response:
            if response.is_redirect:
                location = response.headers.get("Location", "")
                current = urljoin(current, location)
                continue
            if response.status_code != 200:
                raise ResultDownloadError(f"HTTP {response.status_code} from {redact(current)}")
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if not content_type.startswith("image/"):
                raise ResultNotImageError(f"result is {content_type or 'untyped'}, not an image")
            declared = response.headers.get("Content-Length")
            if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                raise ResultTooLargeError(f"result declares {declared} bytes, over the {max_bytes}-byte cap")
            yield DownloadedBody(content_type, _bounded(response, max_bytes, deadline, clock))
            return
    raise ResultDownloadError(f"more than {MAX_REDIRECTS} redirects", code="ResultTooManyRedirects")


def _bounded(
    response: requests.Response, max_bytes: int, deadline: float, clock: Callable[[], float]
) -> Iterator[bytes]:
    """The body in chunks; the size cap, the deadline and the read timeout each end it with a specific code.

    The deadline is checked before every read, and each read returns as soon as *some* bytes arrive
    (``read1``), so a server that trickles a byte just inside the read timeout is cut off at
    ``deadline + read timeout`` at the latest, instead of never.
    """
    received = 0
    read = _reader(response)
    try:
        while True:
            if clock() > deadline:
                raise ResultDownloadError("result download exceeded its deadline", code="ResultDownloadTimedOut")
            chunk = read()
            if not chunk:
                return
            received += len(chunk)
            if received > max_bytes:
                raise ResultTooLargeError(f"result exceeds the {max_bytes}-byte cap")
            yield chunk
    except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
        raise ResultDownloadError(
            f"result download broke off: {type(exc).__name__}",
            code="ResultDownloadTimedOut" if _is_timeout(exc) else "ResultDownloadFailed",
        ) from exc


def _reader(response: requests.Response) -> Callable[[], bytes]:
    """A function returning the next bytes of the body (``b""`` at the end)."""
    raw = response.raw
    if isinstance(raw, urllib3.response.HTTPResponse):
        return lambda: raw.read1(CHUNK_BYTES, decode_content=True)
    chunks = response.iter_content(CHUNK_BYTES)
    return lambda: next(chunks, b"")


def _is_timeout(exc: BaseException) -> bool:
    """True for a read timeout, however ``requests`` or ``urllib3`` wrapped it."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, requests.Timeout | urllib3.exceptions.TimeoutError | TimeoutError):
            return True
        nested = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = nested or seen.__cause__ or seen.__context__
    return False
