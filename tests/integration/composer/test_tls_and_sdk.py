"""HTTPS mode with a self-signed certificate, and the official ``dashscope`` SDK as the client."""

from __future__ import annotations

import io
import ssl
from typing import TYPE_CHECKING

import pytest
import requests
from PIL import Image

from poster_composer.server import ComposerServer

from .conftest import CREATE, HEADERS, ImageHost

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

pytestmark = pytest.mark.integration


@pytest.fixture
def tls_composer(tmp_path: Path) -> Iterator[ComposerServer]:
    with ComposerServer(
        "127.0.0.1", 0, tls_dir=tmp_path / "tls", public_host="localhost", config={"task_seconds": 0.05}
    ) as server:
        yield server


def test_https_with_the_self_signed_certificate(
    tls_composer: ComposerServer, image_host: ImageHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the composer in TLS mode and a client that trusts only its certificate, the way the
    # pipeline's clients will: through REQUESTS_CA_BUNDLE
    cert = tls_composer.cert_path
    assert cert is not None and cert.name == "cert.pem" and cert.exists()
    assert tls_composer.base_url.startswith("https://localhost:")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    session = requests.Session()

    # WHEN a task is created and polled over HTTPS (by name and by loopback address)
    body = {"model": "wanx-ast", "input": {"image_url": image_host.url("/bg.png"), "title": ["TLS"]}}
    created = session.post(tls_composer.base_url + CREATE, json=body, headers=HEADERS, timeout=10)
    assert created.status_code == 200, created.text
    task_id = created.json()["output"]["task_id"]
    by_ip = f"https://127.0.0.1:{tls_composer.port}/api/v1/tasks/{task_id}"
    for _ in range(200):
        output = session.get(by_ip, headers=HEADERS, timeout=10).json()["output"]
        if output["task_status"] == "SUCCEEDED":
            break
    else:
        pytest.fail("task did not finish")

    # THEN the result URL is HTTPS on the host the client used, and downloads with the same trust
    url = output["results"][0]["url"]
    assert url.startswith(f"https://127.0.0.1:{tls_composer.port}/results/")
    with Image.open(io.BytesIO(session.get(url, timeout=10).content)) as image:
        assert image.format == "PNG"


def test_clients_that_do_not_trust_the_certificate_fail(tls_composer: ComposerServer) -> None:
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(tls_composer.origin + "/_composer/health", verify=True, timeout=5)
    # and the server survives the failed handshake
    assert requests.get(
        tls_composer.origin + "/_composer/health", verify=str(tls_composer.cert_path), timeout=5
    ).json() == {"ok": True}


def test_the_certificate_is_reused_across_restarts(tmp_path: Path) -> None:
    with ComposerServer(tls_dir=tmp_path) as first:
        pem = (tmp_path / "cert.pem").read_bytes()
        port = first.port
    with ComposerServer(tls_dir=tmp_path) as second:
        assert (tmp_path / "cert.pem").read_bytes() == pem
        context = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
        assert second.port != 0 and port != 0
        assert (
            requests.get(second.origin + "/_composer/health", verify=str(tmp_path / "cert.pem"), timeout=5).status_code
            == 200
        )
        assert context.verify_mode == ssl.CERT_REQUIRED


# ---------------------------------------------------------------- the official SDK


@pytest.fixture
def sdk(monkeypatch: pytest.MonkeyPatch) -> object:
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-dummy-local")
    monkeypatch.setenv("DASHSCOPE_DISABLE_SDK_HEADERS", "1")
    from dashscope.client.base_api import BaseAsyncApi

    return BaseAsyncApi


def _sdk_input(image_host: ImageHost, title: str) -> dict[str, object]:
    return {
        "image_url": image_host.url("/bg.png"),
        "title": [title],
        "subtitle": ["from the SDK"],
        "text": ["GO"],
        "underlay": 1,
    }


def test_the_official_sdk_creates_and_waits_for_a_task(
    composer: ComposerServer, image_host: ImageHost, sdk: object
) -> None:
    from dashscope.client.base_api import BaseAsyncApi

    # WHEN the SDK submits with the clean-body workaround (protocol notes §10.1) and waits
    created = BaseAsyncApi.async_call(
        model="wanx-ast",
        input=_sdk_input(image_host, "SDK poster"),
        task_group="aigc",
        task="text2image",
        function="image-synthesis",
        n=1,
        temperature=0.7,
        base_address=composer.base_url,
    )
    assert created.status_code == 200, created
    assert created.output["task_status"] == "PENDING"
    done = BaseAsyncApi.wait(created, base_address=composer.base_url)

    # THEN it sees SUCCEEDED with a downloadable result and the usage
    assert done.status_code == 200
    assert done.output["task_status"] == "SUCCEEDED"
    assert done.output["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0}
    assert done.usage["image_count"] == 1
    url = done.output["results"][0]["url"]
    with Image.open(io.BytesIO(requests.get(url, timeout=10).content)) as image:
        assert image.format == "PNG"
    # AND the body was exactly what the SDK sent
    (entry,) = composer.stats()["submissions_by_input"]
    assert entry["title"] == "SDK poster" and entry["accepted"] == 1


def test_the_sdk_reads_our_error_bodies(composer: ComposerServer, image_host: ImageHost, sdk: object) -> None:
    from dashscope.client.base_api import BaseAsyncApi

    common = {
        "task_group": "aigc",
        "task": "text2image",
        "function": "image-synthesis",
        "base_address": composer.base_url,
    }
    bad = BaseAsyncApi.async_call(model="wanx-ast", input={"image_url": image_host.url("/bg.png")}, **common)
    assert (bad.status_code, bad.code, bad.message) == (400, "InvalidParameter", "Title field missing.")

    composer.update_config({"submissions_per_second": 1})
    BaseAsyncApi.async_call(model="wanx-ast", input=_sdk_input(image_host, "one"), **common)
    throttled = BaseAsyncApi.async_call(model="wanx-ast", input=_sdk_input(image_host, "two"), **common)
    assert (throttled.status_code, throttled.code) == (429, "Throttling.RateQuota")

    composer.update_config({"rules": [{"match": "fail", "task_status": "FAILED"}], "submissions_per_second": None})
    failed = BaseAsyncApi.wait(
        BaseAsyncApi.async_call(model="wanx-ast", input=_sdk_input(image_host, "fail"), **common),
        base_address=composer.base_url,
    )
    assert failed.status_code == 200 and failed.code is None
    assert (failed.output["task_status"], failed.output["code"]) == ("FAILED", "InternalError")

    unknown = BaseAsyncApi.fetch("no-such-task", base_address=composer.base_url)
    assert unknown.output["task_status"] == "UNKNOWN"
