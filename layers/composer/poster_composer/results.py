"""Rendered results: OSS-style signed, expiring URLs and a bounded in-memory store of PNG bytes.

URLs look like ``/results/<task_id>/<i>.png?Expires=<epoch>&OSSAccessKeyId=<id>&Signature=<sig>``.
The signature is an HMAC-SHA256 over the method, expiry, access key id and path with a per-server
secret, so a tampered, foreign or expired link is refused (403, OSS-style XML error body).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

ACCESS_KEY_ID = "LTAIcomposerLocal"


class SignatureRejectedError(Exception):
    """A result URL is refused: ``status`` with an OSS-style ``code`` / ``message``."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class ResultSigner:
    """Signs and verifies result paths.

    Parameters
    ----------
    secret
        HMAC key; a random 32-byte key per server when omitted.
    access_key_id
        The ``OSSAccessKeyId`` value put in (and required from) every URL.
    clock
        Wall clock (epoch seconds), injectable for tests.

    Example
    -------
    >>> signer = ResultSigner(b"k", clock=lambda: 100.0)
    >>> query = signer.sign("/results/t/0.png", ttl_seconds=60)
    >>> query.startswith("Expires=160&OSSAccessKeyId=")
    True
    >>> from urllib.parse import parse_qs
    >>> signer.verify("/results/t/0.png", parse_qs(query))
    """

    def __init__(
        self, secret: bytes | None = None, access_key_id: str = ACCESS_KEY_ID, clock: Callable[[], float] = time.time
    ) -> None:
        self._secret = secret or secrets.token_bytes(32)
        self._access_key_id = access_key_id
        self._clock = clock

    def _signature(self, path: str, expires: int) -> str:
        message = f"GET\n{expires}\n{self._access_key_id}\n{path}".encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        # URL-safe alphabet without padding: survives any client's re-encoding of the query.
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def sign(self, path: str, ttl_seconds: float) -> str:
        """The query string (without ``?``) that authorises ``GET path`` for ``ttl_seconds``."""
        expires = int(self._clock() + ttl_seconds)
        signature = self._signature(path, expires)
        return f"Expires={expires}&OSSAccessKeyId={quote(self._access_key_id)}&Signature={signature}"

    def verify(self, path: str, query: Mapping[str, list[str]]) -> None:
        """Check a request's query (as from ``parse_qs``) against ``path``.

        Raises
        ------
        SignatureRejectedError
            403 ``AccessDenied`` (missing parameters, expired) or ``SignatureDoesNotMatch``.
        """
        expires_values = query.get("Expires", [])
        key_values = query.get("OSSAccessKeyId", [])
        signature_values = query.get("Signature", [])
        if len(expires_values) != 1 or len(key_values) != 1 or len(signature_values) != 1:
            raise SignatureRejectedError(403, "AccessDenied", "AccessDenied: missing or repeated signature parameters.")
        if not expires_values[0].isdigit():
            raise SignatureRejectedError(403, "AccessDenied", "Invalid Expires.")
        expires = int(expires_values[0])
        expected = self._signature(path, expires)
        if key_values[0] != self._access_key_id or not hmac.compare_digest(
            signature_values[0].encode(), expected.encode()
        ):
            raise SignatureRejectedError(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if expires < self._clock():
            raise SignatureRejectedError(403, "AccessDenied", "Request has expired.")


class ResultStore:
    """PNG bytes per (task id, index), bounded by total bytes (LRU) and age (TTL); thread safe.

    Parameters
    ----------
    max_bytes
        Least recently used entries are evicted beyond this total.
    ttl_seconds
        Entries older than this are gone.
    clock
        Monotonic clock, injectable for tests.

    Example
    -------
    >>> store = ResultStore(max_bytes=10, ttl_seconds=60)
    >>> store.put("t", 0, b"12345678")
    >>> store.put("u", 0, b"1234")
    >>> store.get("t", 0) is None, store.get("u", 0)
    (True, b'1234')
    """

    def __init__(self, max_bytes: int, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[str, int], tuple[float, bytes]] = OrderedDict()
        self._bytes = 0
        self._max_bytes = max_bytes
        self._ttl = ttl_seconds
        self._clock = clock

    @property
    def total_bytes(self) -> int:
        """Bytes held now."""
        return self._bytes

    def set_limits(self, max_bytes: int, ttl_seconds: float) -> None:
        """Change the bounds (applied at the next ``put``/``get``)."""
        with self._lock:
            self._max_bytes, self._ttl = max_bytes, ttl_seconds

    def put(self, task_id: str, index: int, data: bytes) -> None:
        """Keep ``data``, evicting old entries to stay within the bounds."""
        with self._lock:
            key = (task_id, index)
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._bytes -= len(previous[1])
            self._entries[key] = (self._clock(), data)
            self._bytes += len(data)
            self._evict()

    def get(self, task_id: str, index: int) -> bytes | None:
        """The bytes, or ``None`` when never stored, evicted or expired."""
        with self._lock:
            self._evict()
            entry = self._entries.get((task_id, index))
            if entry is None:
                return None
            self._entries.move_to_end((task_id, index))
            return entry[1]

    def clear(self) -> None:
        """Drop everything."""
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def _evict(self) -> None:
        oldest_allowed = self._clock() - self._ttl
        for key, (stored_at, data) in list(self._entries.items()):
            if stored_at < oldest_allowed:
                del self._entries[key]
                self._bytes -= len(data)
        while self._bytes > self._max_bytes and self._entries:
            _, (_, data) = self._entries.popitem(last=False)
            self._bytes -= len(data)
