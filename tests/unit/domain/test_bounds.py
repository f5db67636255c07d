"""Every HTTP call has connect and read timeouts and a size cap; every retry loop has a bound.

The timeouts are enforced by reading the source: every ``requests`` call (module-level or on a
session) and every ``urlopen`` in the pipeline, the composer and the local stack must pass
``timeout=``. The bounds of each loop are unit-tested beside it; this file adds the ones that
guard the whole pipeline (prefixes that could make it trigger itself included).
"""

from __future__ import annotations

import ast
import random
from pathlib import Path
from typing import Any

import pytest

from poster_common import aws
from poster_common.config import Settings
from poster_common.result_download import MAX_REDIRECTS
from poster_common.retry import backoff_delays

ROOT = Path(__file__).resolve().parents[3]
SOURCES = [
    ROOT / "layers/common/poster_common",
    ROOT / "layers/composer/poster_composer",
    ROOT / "local_stack",
    ROOT / "functions",
]
HTTP_METHODS = {"get", "post", "put", "delete", "head", "patch", "request", "options"}


def http_calls_without_timeout() -> tuple[int, list[str]]:
    checked, missing = 0, []
    for folder in SOURCES:
        for path in sorted(folder.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                receiver = ast.unparse(func.value).lower() if isinstance(func, ast.Attribute) else ""
                # ``requests.get``, ``session.post``, ``self._session.request`` ... but not ``sessions.get`` (a dict)
                last = receiver.rsplit(".", 1)[-1]
                is_requests = name in HTTP_METHODS and ("requests" in last or last.endswith("session"))
                if not (is_requests or name == "urlopen"):
                    continue
                checked += 1
                if not any(keyword.arg == "timeout" for keyword in node.keywords):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)[:80]}")
    return checked, missing


def test_every_http_call_has_a_timeout() -> None:
    # GIVEN every requests/session/urlopen call in the code WHEN the source is read THEN each passes timeout=
    checked, missing = http_calls_without_timeout()
    assert checked >= 5
    assert missing == []


def test_timeouts_are_connect_and_read_pairs_everywhere_in_the_pipeline() -> None:
    settings = Settings.from_env({"HTTP_CONNECT_TIMEOUT": "2", "HTTP_READ_TIMEOUT": "7"})
    assert settings.timeouts == (2.0, 7.0)
    config: Any = aws._CONFIG
    assert (config.connect_timeout, config.read_timeout) == (5, 30)
    attempts = config.retries.get("total_max_attempts") or config.retries["max_attempts"] + 1
    assert config.retries["mode"] == "standard"
    assert 1 <= attempts <= 6


@pytest.mark.parametrize("attempts", [1, 2, 5, 10])
def test_backoff_yields_one_delay_fewer_than_attempts_and_each_is_capped(attempts: int) -> None:
    delays = list(backoff_delays(attempts, base=0.5, cap=8.0, rng=random.Random(7)))
    assert len(delays) == attempts - 1
    assert all(0 <= delay <= 8.0 for delay in delays)


def test_redirects_are_bounded() -> None:
    assert 0 < MAX_REDIRECTS <= 5


@pytest.mark.parametrize(
    ("input_prefix", "other"),
    [
        ("incoming/", {"OUTPUT_PREFIX": "incoming/posters/"}),
        ("incoming/", {"FAILURE_PREFIX": "incoming/failed/"}),
        ("incoming/", {"NORMALISED_PREFIX": "incoming/"}),
        ("data/incoming/", {"OUTPUT_PREFIX": "data/"}),
    ],
)
def test_what_the_pipeline_writes_can_never_be_under_the_input_prefix(input_prefix: str, other: dict[str, str]) -> None:
    # GIVEN prefixes where an output would land under the input prefix (or contain it), one bucket for both
    environ = {"INPUT_BUCKET": "same", "OUTPUT_BUCKET": "same", "INPUT_PREFIX": input_prefix, **other}
    # WHEN the settings are read at cold start THEN they are refused: the pipeline would trigger itself
    with pytest.raises(ValueError, match="overlap"):
        Settings.from_env(environ)


def test_one_bucket_for_input_and_output_is_fine_with_separate_prefixes() -> None:
    settings = Settings.from_env({"INPUT_BUCKET": "same", "OUTPUT_BUCKET": "same"})
    written = (settings.output_prefix, settings.failure_prefix, settings.normalised_prefix)
    assert not any(prefix.startswith(settings.input_prefix) for prefix in written)
