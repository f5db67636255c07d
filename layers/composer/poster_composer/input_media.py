"""Download and inspect the task's input media (``image_url``, ``logo``), like the real service.

Every download has a connect timeout, a read timeout, an overall deadline and a byte cap. A failure
ends the task FAILED with a DashScope-like ``code`` / ``message`` (``TaskFailedError``); messages
never contain the URL's query string.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from typing import Protocol

import requests

from poster_composer.errors import TaskFailedError
from poster_composer.validation import redact_url

logger = logging.getLogger(__name__)

DATA_INSPECTION_CODE = "InvalidParameter.DataInspection"
TIMEOUT_MESSAGE = "Download the media resource timed out during the data inspection process."
UNREACHABLE_MESSAGE = "Unable to download the media resource during the data inspection process."
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class FetchLimits:
    """Timeouts (seconds) and the byte cap for one download."""

    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    total_timeout: float = 30.0
    max_bytes: int = 50 * 1024 * 1024


class MediaFetcher(Protocol):
    """Fetches one input media URL (a port: tests may pass an in-memory fake)."""

    def __call__(self, url: str, field: str, limits: FetchLimits) -> bytes:
        """The body of ``url``; raises ``TaskFailedError`` on any failure."""
        ...


class HttpMediaFetcher:
    """``MediaFetcher`` over HTTP(S) with ``requests`` (follows up to 5 redirects unless told not to).

    Parameters
    ----------
    session
        A ``requests.Session`` to reuse; one is created when omitted.
    follow_redirects
        Off in the deployed service: a presigned S3 GET never redirects, and a redirect could lead
        off the stack's own buckets (a 3xx then fails the download).

    Example
    -------
    >>> fetcher = HttpMediaFetcher()
    >>> # fetcher("https://example.com/bg.png", "image_url", FetchLimits())  -> bytes
    """

    def __init__(self, session: requests.Session | None = None, *, follow_redirects: bool = True) -> None:
        self._session = session or requests.Session()
        self._session.max_redirects = 5
        self._follow_redirects = follow_redirects

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def __call__(self, url: str, field: str, limits: FetchLimits) -> bytes:
        deadline = time.monotonic() + limits.total_timeout
        try:
            with self._session.get(
                url,
                stream=True,
                allow_redirects=self._follow_redirects,
                timeout=(limits.connect_timeout, limits.read_timeout),
            ) as response:
                if response.status_code != 200:
                    logger.info("download of %s failed: HTTP %d", redact_url(url), response.status_code)
                    raise TaskFailedError(DATA_INSPECTION_CODE, UNREACHABLE_MESSAGE)
                declared = response.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > limits.max_bytes:
                    raise _too_large(field, limits.max_bytes)
                body = bytearray()
                for chunk in response.iter_content(_CHUNK):
                    body.extend(chunk)
                    if len(body) > limits.max_bytes:
                        raise _too_large(field, limits.max_bytes)
                    if time.monotonic() > deadline:
                        raise TaskFailedError(DATA_INSPECTION_CODE, TIMEOUT_MESSAGE)
                return bytes(body)
        except requests.Timeout as error:
            raise TaskFailedError(DATA_INSPECTION_CODE, TIMEOUT_MESSAGE) from error
        except requests.RequestException as error:
            logger.info("download of %s failed: %s", redact_url(url), type(error).__name__)
            raise TaskFailedError(DATA_INSPECTION_CODE, UNREACHABLE_MESSAGE) from error


def _too_large(field: str, max_bytes: int) -> TaskFailedError:
    return TaskFailedError("InvalidParameter", f"The size of {field} exceeds the limit of {_size(max_bytes)}.")


def _size(count: int) -> str:
    mb = count / (1024 * 1024)
    return f"{mb:g}MB" if mb >= 1 else f"{count} bytes"


@dataclass(frozen=True)
class ImageRules:
    """What an input image may be: its formats and its largest long / short side."""

    formats: tuple[str, ...]
    max_long_side: int
    max_short_side: int


BACKGROUND_RULES = ImageRules(formats=("PNG", "JPEG"), max_long_side=3840, max_short_side=2160)
LOGO_RULES = ImageRules(formats=("PNG",), max_long_side=1280, max_short_side=1280)


def inspect_image(data: bytes, field: str, rules: ImageRules) -> tuple[int, int]:
    """Check the format and resolution of a downloaded image from its header only.

    Returns
    -------
    tuple[int, int]
        Width and height.

    Raises
    ------
    TaskFailedError
        ``InvalidParameter``: not an image, a format outside ``rules.formats``, or too large.
    """
    from PIL import Image, UnidentifiedImageError

    names = " and ".join("JPG" if name == "JPEG" else name for name in rules.formats)
    unsupported = TaskFailedError(
        "InvalidParameter", f"The format of {field} is not supported, only {names} are supported."
    )
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format, (width, height) = image.format, image.size
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as error:
        raise unsupported from error
    if image_format not in rules.formats:
        raise unsupported
    if max(width, height) > rules.max_long_side or min(width, height) > rules.max_short_side:
        raise TaskFailedError(
            "InvalidParameter",
            f"The resolution of {field} exceeds the limit of {rules.max_long_side}x{rules.max_short_side}.",
        )
    return width, height
