from __future__ import annotations

import pytest
import requests

from poster_common.errors import (
    PermanentError,
    ResultDownloadError,
    ResultHostNotAllowedError,
    ResultNotImageError,
    ResultTooLargeError,
)
from poster_common.result_download import HostAllowlist, open_result, redact
from tests.unit.domain.fakes import FakeResponse, ScriptedSession

HOST = "dashscope-result-bj.oss-cn-beijing.aliyuncs.com"
ALLOW = HostAllowlist.parse([HOST, "localhost:8443"])
GOOD = f"https://{HOST}/1d/2.png?Expires=1&OSSAccessKeyId=k&Signature=s"
PNG = {"Content-Type": "image/png"}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        (f"http://{HOST}/a.png", "ResultUrlNotHttps"),
        (f"ftp://{HOST}/a.png", "ResultUrlNotHttps"),
        (f"//{HOST}/a.png", "ResultUrlNotHttps"),
        (f"https://{HOST}.evil.test/a.png", "ResultHostNotAllowed"),
        (f"https://evil-{HOST}/a.png", "ResultHostNotAllowed"),
        (f"https://{HOST}@evil.test/a.png", "ResultUrlHasUserinfo"),
        (f"https://user:pw@{HOST}/a.png", "ResultUrlHasUserinfo"),
        (f"https://{HOST}:8443/a.png", "ResultHostNotAllowed"),
        (f"https://{HOST}:443/a.png", "ResultHostNotAllowed"),
        (f"https://{HOST}./a.png", "ResultHostNotAllowed"),
        (f"https://{HOST.upper()}.EVIL.test/a.png", "ResultHostNotAllowed"),
        (f"https://{HOST.upper()}./a.png", "ResultHostNotAllowed"),
        (f"https://{HOST.upper()}:443/a.png", "ResultHostNotAllowed"),
        (f"https://EVIL-{HOST.upper()}/a.png", "ResultHostNotAllowed"),
        (f"https://USER@{HOST.upper()}/a.png", "ResultUrlHasUserinfo"),
        (f"https://{HOST.upper()}@EVIL.test/a.png", "ResultUrlHasUserinfo"),
        ("https://LOCALHOST:8443.evil.test/a.png", "ResultHostNotAllowed"),
        ("https://LOCALHOST./a.png", "ResultHostNotAllowed"),
        ("https://dashscope-result-bj%2Eoss-cn-beijing.aliyuncs.com/a.png", "ResultHostNotAllowed"),
        ("https://127.0.0.1/a.png", "ResultHostNotAllowed"),
        ("https://2130706433/a.png", "ResultHostNotAllowed"),
        ("https://0177.0.0.1/a.png", "ResultHostNotAllowed"),
        ("https://[::1]/a.png", "ResultHostNotAllowed"),
        ("https://localhost/a.png", "ResultHostNotAllowed"),
        ("https://localhost:8444/a.png", "ResultHostNotAllowed"),
        (f"https://{HOST}\\@evil.test/a.png", "ResultUrlMalformed"),
        (f"https://{HOST} /a.png", "ResultUrlMalformed"),
        ("javascript:alert(1)", "ResultUrlNotHttps"),
        ("", "ResultUrlNotHttps"),
    ],
)
def test_hostile_urls_are_refused_with_a_specific_code(url: str, code: str) -> None:
    with pytest.raises(ResultHostNotAllowedError) as info:
        ALLOW.check(url)
    assert info.value.code == code
    assert "Signature" not in info.value.message


@pytest.mark.parametrize(
    "url",
    [
        GOOD,
        "https://localhost:8443/results/t/0.png?Signature=x",
        # Host names compare as DNS compares them: ASCII letters in any case.
        f"https://{HOST.upper()}/a.png",
        "https://DashScope-Result-BJ.OSS-cn-beijing.aliyuncs.COM/a.png",
        "https://LocalHost:8443/a.png",
    ],
)
def test_listed_hosts_pass(url: str) -> None:
    ALLOW.check(url)


ZJK = "dashscope-result-zjk.oss-cn-zhangjiakou.aliyuncs.com"


@pytest.mark.parametrize(
    "url",
    [
        f"https://{ZJK.replace('k', chr(0x212A), 1)}/a.png",  # KELVIN SIGN: str.lower() gives "k"
        f"https://{ZJK.replace('i', chr(0x130), 1)}/a.png",  # LATIN CAPITAL I WITH DOT ABOVE
        f"https://{ZJK.replace('a', chr(0x430), 1)}/a.png",  # CYRILLIC SMALL A
        f"https://{ZJK.replace('o', chr(0xFF4F), 1)}/a.png",  # FULLWIDTH o
        "https://xn--dashscope-result-zjk-9ib.oss-cn-zhangjiakou.aliyuncs.com/a.png",  # punycode look-alike
        f"https://{ZJK.upper()}.evil.test/a.png",
        f"https://{ZJK}../a.png",
        f"https://.{ZJK}/a.png",
    ],
)
def test_unicode_and_punycode_lookalikes_never_match(url: str) -> None:
    allow = HostAllowlist.parse([ZJK])
    allow.check(f"https://{ZJK.upper()}/a.png")
    with pytest.raises(ResultHostNotAllowedError) as info:
        allow.check(url)
    assert info.value.code == "ResultHostNotAllowed"


def test_allowlist_entries_in_any_case_are_the_same_host() -> None:
    allow = HostAllowlist.parse(["EXAMPLE.com", "Other.Test:8443"])
    assert allow.authorities == frozenset({"example.com", "other.test:8443"})
    allow.check("https://example.com/a.png")
    allow.check("https://other.test:8443/a.png")
    for url in ("https://EXAMPLE.com.evil.test/a.png", "https://example.com./a.png", "https://other.test/a.png"):
        with pytest.raises(ResultHostNotAllowedError):
            allow.check(url)


@pytest.mark.parametrize(
    "entry", ["evil.test/path", "*.evil.test", "user@evil.test", "evil.test:", f"{chr(0x212A)}.test", "ｅvil.test"]
)
def test_allowlist_entries_must_be_plain_ascii_authorities(entry: str) -> None:
    with pytest.raises(ValueError, match="ASCII host"):
        HostAllowlist.parse([entry])


def download(session: ScriptedSession, url: str = GOOD, max_bytes: int = 1000) -> bytes:
    with open_result(
        url,
        allowlist=ALLOW,
        session=session,  # type: ignore[arg-type]
        max_bytes=max_bytes,
        timeouts=(1, 1),
    ) as body:
        return b"".join(body.chunks)


def test_streams_an_allowed_image() -> None:
    session = ScriptedSession([FakeResponse(200, b"\x89PNG" + b"x" * 500, PNG)])
    assert download(session).startswith(b"\x89PNG")
    assert session.calls[0]["allow_redirects"] is False
    assert session.calls[0]["stream"] is True
    assert session.calls[0]["timeout"] == (1, 1)


def test_redirect_within_the_list_is_followed() -> None:
    second = "https://localhost:8443/x.png"
    session = ScriptedSession([FakeResponse(302, b"", {"Location": second}), FakeResponse(200, b"img", PNG)])
    assert download(session) == b"img"
    assert [c["url"] for c in session.calls] == [GOOD, second]


def test_redirect_off_the_list_is_refused_before_any_connection() -> None:
    session = ScriptedSession([FakeResponse(302, b"", {"Location": "https://evil.test/x.png"})])
    with pytest.raises(ResultHostNotAllowedError):
        download(session)
    assert len(session.calls) == 1


def test_redirect_loops_are_bounded() -> None:
    session = ScriptedSession([FakeResponse(302, b"", {"Location": GOOD}) for _ in range(10)])
    with pytest.raises(ResultDownloadError) as info:
        download(session)
    assert info.value.code == "ResultTooManyRedirects"
    assert len(session.calls) == 4


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (FakeResponse(200, b"<html>", {"Content-Type": "text/html"}), ResultNotImageError),
        (FakeResponse(200, b"x", {}), ResultNotImageError),
        (FakeResponse(200, b"x", {"Content-Type": "image/png", "Content-Length": "5000"}), ResultTooLargeError),
        (FakeResponse(200, b"", PNG, chunks=[b"x" * 600, b"x" * 600]), ResultTooLargeError),
        (FakeResponse(404, b"", PNG), ResultDownloadError),
        (
            FakeResponse(200, b"", PNG, chunks=[b"x"], stall=requests.ConnectionError("read timed out")),
            ResultDownloadError,
        ),
    ],
)
def test_bad_bodies_are_refused(response: FakeResponse, error: type[PermanentError]) -> None:
    with pytest.raises(error):
        download(ScriptedSession([response]))


def test_a_body_that_never_ends_hits_the_deadline() -> None:
    ticks = iter(range(0, 1000, 50))
    session = ScriptedSession([FakeResponse(200, b"", PNG, chunks=[b"x"] * 50)])
    with (
        pytest.raises(ResultDownloadError) as info,
        open_result(
            GOOD,
            allowlist=ALLOW,
            session=session,  # type: ignore[arg-type]
            max_bytes=10_000,
            timeouts=(1, 1),
            deadline_seconds=120,
            clock=lambda: float(next(ticks)),
        ) as body,
    ):
        b"".join(body.chunks)
    assert info.value.code == "ResultDownloadTimedOut"


def test_redact_drops_the_signature() -> None:
    assert redact(GOOD) == f"https://{HOST}/1d/2.png"
