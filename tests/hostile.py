"""Hostile inputs shared by the tests: result URLs and "evil" listeners (the Finalize integration test and the
e2e tests), and a decompression-bomb PNG (the normalisation unit test and the bad-input e2e test).

Every URL carries a canary signature (``Signature=canary-…``) so the leak scan can prove it never
shows up anywhere. The "evil" addresses are real listeners on other loopback addresses and ports:
they resolve and accept connections, so a refused URL is proven never to have been contacted.
"""

from __future__ import annotations

import socket
import struct
import threading
import uuid
import zlib
from dataclasses import dataclass, field

CANARY = f"canary-{uuid.uuid4().hex}"
SIGNED = f"?Expires=1&OSSAccessKeyId=k&Signature={CANARY}"
DASHSCOPE = "dashscope-result-bj.oss-cn-beijing.aliyuncs.com"


@dataclass
class EvilListener:
    """A TCP listener that counts the connections it accepts (and closes them at once)."""

    host: str
    family: socket.AddressFamily = socket.AF_INET
    connections: int = 0
    port: int = 0
    _sock: socket.socket | None = field(default=None, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> EvilListener:
        sock = socket.socket(self.family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(16)
        sock.settimeout(0.2)
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        self._thread = threading.Thread(target=self._serve, name=f"evil-{self.host}", daemon=True)
        self._thread.start()
        return self

    def _serve(self) -> None:
        assert self._sock is not None
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            conn.close()

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=2)


@dataclass
class EvilNet:
    """Three listeners standing in for "evil": 127.0.0.2, another port on 127.0.0.1, and ::1."""

    v4: EvilListener
    local: EvilListener
    v6: EvilListener

    @classmethod
    def start(cls) -> EvilNet:
        return cls(
            EvilListener("127.0.0.2").start(),
            EvilListener("127.0.0.1").start(),
            EvilListener("::1", socket.AF_INET6).start(),
        )

    def stop(self) -> None:
        for listener in (self.v4, self.local, self.v6):
            listener.stop()

    @property
    def connections(self) -> dict[str, int]:
        return {f"{lst.host}:{lst.port}": lst.connections for lst in (self.v4, self.local, self.v6)}


def hostile_urls(allowed: str, evil: EvilNet) -> list[tuple[str, str, str]]:
    """``(label, url, expected code)`` for ``allowed`` (the one allow-listed ``host:port``)."""
    host, port = allowed.rsplit(":", 1)
    e4, el, e6 = evil.v4.port, evil.local.port, evil.v6.port
    path = "/results/t/0.png" + SIGNED
    return [
        ("off-list host", f"https://evil.test{path}", "ResultHostNotAllowed"),
        ("off-list address that resolves", f"https://127.0.0.2:{e4}{path}", "ResultHostNotAllowed"),
        ("allowed host, other port", f"https://{host}:{el}{path}", "ResultHostNotAllowed"),
        ("allowed host, no port (443)", f"https://{host}{path}", "ResultHostNotAllowed"),
        ("default host with :443", f"https://{DASHSCOPE}:443{path}", "ResultHostNotAllowed"),
        ("suffix trick (dashscope)", f"https://{DASHSCOPE}.evil.test{path}", "ResultHostNotAllowed"),
        ("suffix trick (local)", f"https://{host}.evil.test:{port}{path}", "ResultHostNotAllowed"),
        ("prefix trick (dashscope)", f"https://evil-{DASHSCOPE}{path}", "ResultHostNotAllowed"),
        ("prefix trick (local)", f"https://evil{host}:{port}{path}", "ResultHostNotAllowed"),
        ("userinfo: allowed@evil", f"https://{allowed}@127.0.0.2:{e4}{path}", "ResultUrlHasUserinfo"),
        ("userinfo: user:pw@allowed", f"https://user:pw@{allowed}{path}", "ResultUrlHasUserinfo"),
        ("userinfo: evil@allowed", f"https://127.0.0.2:{e4}@{allowed}{path}", "ResultUrlHasUserinfo"),
        ("IPv4 literal of the allowed server", f"https://127.0.0.1:{port}{path}", "ResultHostNotAllowed"),
        ("IPv4 literal", f"https://127.0.0.2:{e4}{path}", "ResultHostNotAllowed"),
        ("IPv6 literal", f"https://[::1]:{e6}{path}", "ResultHostNotAllowed"),
        ("IPv4-mapped IPv6", f"https://[::ffff:127.0.0.2]:{e4}{path}", "ResultHostNotAllowed"),
        ("decimal IPv4", f"https://2130706434:{e4}{path}", "ResultHostNotAllowed"),
        ("octal IPv4", f"https://0177.0.0.2:{e4}{path}", "ResultHostNotAllowed"),
        ("hex IPv4", f"https://0x7f.0.0.2:{e4}{path}", "ResultHostNotAllowed"),
        ("short IPv4", f"https://127.2:{e4}{path}", "ResultHostNotAllowed"),
        ("http to the allowed authority", f"http://{allowed}{path}", "ResultUrlNotHttps"),
        ("http to evil", f"http://127.0.0.2:{e4}{path}", "ResultUrlNotHttps"),
        ("ftp", f"ftp://{allowed}{path}", "ResultUrlNotHttps"),
        ("file", "file:///etc/passwd", "ResultUrlNotHttps"),
        ("gopher", f"gopher://127.0.0.2:{e4}/_GET", "ResultUrlNotHttps"),
        ("data", "data:image/png;base64,iVBORw0KGgo=", "ResultUrlNotHttps"),
        ("javascript", "javascript:alert(1)", "ResultUrlNotHttps"),
        ("scheme-relative", f"//{allowed}{path}", "ResultUrlNotHttps"),
        ("upper-case scheme", f"HTTPS://{allowed}{path}", "ResultUrlNotHttps"),
        ("upper-case suffix trick", f"https://{host.upper()}.EVIL.test:{port}{path}", "ResultHostNotAllowed"),
        ("upper-case trailing dot", f"https://{host.upper()}.:{port}{path}", "ResultHostNotAllowed"),
        ("upper-case host, other port", f"https://{host.upper()}:{el}{path}", "ResultHostNotAllowed"),
        ("punycode look-alike", f"https://xn--{host}-9ib:{port}{path}", "ResultHostNotAllowed"),
        ("Cyrillic look-alike", f"https://{host.replace('o', chr(0x43E), 1)}:{port}{path}", "ResultHostNotAllowed"),
        ("percent-encoded host", f"https://%6c{host[1:]}:{port}{path}", "ResultHostNotAllowed"),
        ("percent-encoded dots", f"https://127%2E0%2E0%2E2:{e4}{path}", "ResultHostNotAllowed"),
        ("trailing dot", f"https://{host}.:{port}{path}", "ResultHostNotAllowed"),
        ("trailing dot (dashscope)", f"https://{DASHSCOPE}.{path}", "ResultHostNotAllowed"),
        ("fullwidth letter", f"https://ｌ{host[1:]}:{port}{path}", "ResultHostNotAllowed"),
        ("double port", f"https://{allowed}:{e4}{path}", "ResultHostNotAllowed"),
        ("backslash authority", f"https://{allowed}\\@127.0.0.2:{e4}{path}", "ResultUrlMalformed"),
        ("tab in host", f"https://{host}\t.evil.test:{port}{path}", "ResultUrlMalformed"),
        ("CRLF header injection", f"https://{allowed}/x.png\r\nHost: evil.test", "ResultUrlMalformed"),
        ("space in host", f"https://{allowed} .evil.test{path}", "ResultUrlMalformed"),
    ]


def png_bomb(side: int = 30_000) -> bytes:
    """A valid 1-bit PNG of side×side pixels in a few kilobytes: a decompression bomb."""
    row = b"\0" + bytes((side + 7) // 8)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
