"""ComposerProcess: start the server in a subprocess, learn its origin, use the control API, stop it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from local_stack.composer_process import ComposerProcess, ComposerStartError

pytestmark = pytest.mark.integration

STUB = [sys.executable, str(Path(__file__).resolve().parent / "fixtures" / "composer_stub.py")]


def test_origin_is_rewritten_to_localhost_and_the_control_api_works() -> None:
    with ComposerProcess({"quota": 2}, tls=False, command=STUB) as composer:
        assert composer.origin == f"http://localhost:{composer.port}"
        assert composer.pipeline_environment() == {
            "DASHSCOPE_BASE_URL": f"http://localhost:{composer.port}/api/v1",
            "RESULT_HOST_ALLOWLIST": f"localhost:{composer.port}",
        }
        assert composer.get_config() == {"quota": 2}  # --config reached the server
        assert composer.set_config({"quota": 5}) == {"quota": 5}
        assert composer.stats()["requests"] >= 2
        process = composer._process
    assert process is not None and process.poll() is not None  # stopped


def test_a_server_that_never_announces_itself_is_an_error() -> None:
    silent = [sys.executable, "-c", "import sys; print('starting'); sys.exit(3)"]

    with pytest.raises(ComposerStartError, match="starting"):
        ComposerProcess(tls=False, command=silent, start_timeout=10).start()


@pytest.mark.skipif(
    not (Path(__file__).resolve().parents[3] / "layers" / "composer" / "poster_composer" / "server.py").exists(),
    reason="poster_composer/server.py not written yet",
)
def test_the_real_composer_serves_https_with_its_certificate() -> None:
    with ComposerProcess() as composer:
        assert composer.origin.startswith("https://localhost:")
        assert composer.cert_path is not None and composer.cert_path.exists()
        assert composer.pipeline_environment()["REQUESTS_CA_BUNDLE"] == str(composer.cert_path)
        assert isinstance(composer.stats(), dict)
