"""Sliding-window quota, result-URL signing and the bounded result store."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from poster_composer.quota import SlidingWindowLimiter, max_in_window
from poster_composer.results import ResultSigner, ResultStore, SignatureRejectedError


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_the_limiter_admits_rate_per_sliding_second() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(2, clock=clock)
    assert [limiter.try_acquire(), limiter.try_acquire(), limiter.try_acquire()] == [True, True, False]
    clock.now += 0.5
    assert not limiter.try_acquire()  # rejected requests do not count ...
    clock.now += 0.5
    assert limiter.try_acquire()  # ... so the window frees exactly one second after the first admission
    assert limiter.try_acquire()
    assert not limiter.try_acquire()


def test_the_limiter_can_change_rate_and_be_unlimited() -> None:
    clock = Clock()
    limiter = SlidingWindowLimiter(None, clock=clock)
    assert all(limiter.try_acquire() for _ in range(100))
    limiter.set_rate(0.5)  # below one per second still admits one per window
    assert limiter.capacity == 1
    limiter.reset()
    assert limiter.try_acquire() and not limiter.try_acquire()


def test_max_in_window() -> None:
    assert max_in_window([]) == 0
    assert max_in_window([0.0, 1.0, 2.0]) == 1
    assert max_in_window([0.0, 0.2, 0.4, 1.3, 1.35]) == 3
    assert max_in_window([5.0, 0.1, 0.2]) == 2


def test_signed_paths_verify_and_tampering_is_refused() -> None:
    clock = Clock()
    signer = ResultSigner(b"secret", clock=clock)
    query = signer.sign("/results/t/0.png", ttl_seconds=60)
    signer.verify("/results/t/0.png", parse_qs(query))

    cases = [
        ("/results/t/1.png", query, "SignatureDoesNotMatch"),
        ("/results/t/0.png", query.replace("Expires=1060", "Expires=1061"), "SignatureDoesNotMatch"),
        ("/results/t/0.png", query.replace("OSSAccessKeyId=", "OSSAccessKeyId=x"), "SignatureDoesNotMatch"),
        ("/results/t/0.png", query + "&Signature=again", "AccessDenied"),
        ("/results/t/0.png", "", "AccessDenied"),
    ]
    for path, tampered, code in cases:
        with pytest.raises(SignatureRejectedError) as caught:
            signer.verify(path, parse_qs(tampered))
        assert (caught.value.status, caught.value.code) == (403, code)
    with pytest.raises(SignatureRejectedError):
        ResultSigner(b"other", clock=clock).verify("/results/t/0.png", parse_qs(query))

    clock.now += 61
    with pytest.raises(SignatureRejectedError, match="expired"):
        signer.verify("/results/t/0.png", parse_qs(query))


def test_signatures_need_no_percent_encoding() -> None:
    query = ResultSigner().sign("/results/t/0.png", 60)
    assert "%" not in query and "+" not in query and "/" not in query.split("Signature=")[1]


def test_the_store_evicts_least_recently_used_and_expired() -> None:
    clock = Clock()
    store = ResultStore(max_bytes=10, ttl_seconds=100, clock=clock)
    store.put("a", 0, b"1234")
    store.put("b", 0, b"1234")
    assert store.get("a", 0) == b"1234"  # a is now the most recently used
    store.put("c", 0, b"1234")
    assert store.get("b", 0) is None and store.get("a", 0) == b"1234" and store.total_bytes == 8
    store.put("a", 0, b"12")  # replacing keeps the byte count right
    assert store.total_bytes == 6
    clock.now += 101
    assert store.get("a", 0) is None and store.total_bytes == 0
    store.put("d", 1, b"x")
    store.clear()
    assert store.get("d", 1) is None
