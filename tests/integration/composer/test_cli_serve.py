"""``poster-composer serve`` as a child process: the listening line, the config file, SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]


def test_serve_prints_its_origin_and_stops_on_sigterm(tmp_path: Path) -> None:
    config = tmp_path / "composer.json"
    config.write_text(json.dumps({"max_in_progress": 2, "task_seconds": 0.1}), encoding="utf-8")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "poster_composer",
            "serve",
            "--port",
            "0",
            "--config",
            str(config),
            "--tls-dir",
            str(tmp_path / "tls"),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line.startswith("poster-composer listening on https://127.0.0.1:"), line
        origin = line.rsplit(" ", 1)[1]
        cert = str(tmp_path / "tls" / "cert.pem")
        assert requests.get(origin + "/_composer/config", verify=cert, timeout=5).json()["max_in_progress"] == 2
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    assert process.returncode == 0, stderr


def test_serve_rejects_an_invalid_config(tmp_path: Path) -> None:
    config = tmp_path / "composer.json"
    config.write_text(json.dumps({"max_in_progress": "many"}), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "poster_composer", "serve", "--port", "0", "--config", str(config)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "max_in_progress" in result.stderr
