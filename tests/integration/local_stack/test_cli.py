"""``poster-local-stack up``: prints the endpoints and runs until SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from local_stack.cli import build_parser

pytestmark = pytest.mark.integration

FIXTURE_TEMPLATE = Path(__file__).resolve().parent / "fixtures" / "template.yaml"
ROOT = Path(__file__).resolve().parents[3]


def test_parameters_are_name_value_pairs() -> None:
    args = build_parser().parse_args(["up", "-p", "PollSchedule=0", "--parameter", "Url=https://x/?a=b"])

    assert dict(args.parameter) == {"PollSchedule": "0", "Url": "https://x/?a=b"}
    assert args.enforce_iam is False
    assert build_parser().parse_args(["up", "--enforce-iam"]).enforce_iam is True
    with pytest.raises(SystemExit):
        build_parser().parse_args(["up", "-p", "no-equals-sign"])


def test_up_prints_the_endpoint_and_stops_on_sigterm() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_stack",
            "up",
            "--template",
            str(FIXTURE_TEMPLATE),
            "--no-composer",
            "-p",
            "Greeting=cli",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    try:
        for line in process.stdout:
            lines.append(line)
            if "Ctrl-C" in line or time.monotonic() > deadline:
                break
        output = "".join(lines)
        assert "moto at http://localhost:" in output, output
        assert "aws --endpoint-url http://localhost:" in output
        assert "s3://poster-local-input-123456789012" in output
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
