"""The ``poster-pipeline`` client against the running local stack: a separate process, found by stack name.

The stack publishes its template's outputs as a CloudFormation stack in moto (``local_stack/outputs.py``), so
the client finds the buckets exactly as on AWS; it signs with the stack's admin user (IAM is enforced here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import REPO, fixture_image

if TYPE_CHECKING:
    from pathlib import Path

    from local_stack.stack import LocalStack

pytestmark = pytest.mark.e2e


def run_cli(stack: LocalStack, *argv: str) -> tuple[int, Any, str]:
    """``python -m poster_pipeline_cli --endpoint-url … --stack … ARGV --json``: exit code, JSON document, stderr."""
    assert stack.iam is not None and stack.iam.admin is not None
    environment = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    environment |= {
        "AWS_ACCESS_KEY_ID": stack.iam.admin.access_key,
        "AWS_SECRET_ACCESS_KEY": stack.iam.admin.secret_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "PYTHONPATH": str(REPO / "client"),  # the client alone: boto3 is all it imports
    }
    command = [sys.executable, "-m", "poster_pipeline_cli", "--endpoint-url", stack.moto_endpoint]
    command += ["--stack", stack.stack_name, *argv, "--json"]
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=180, check=False)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else None, done.stderr


def test_the_stack_publishes_its_outputs(stack: LocalStack) -> None:
    described = stack.client("cloudformation").describe_stacks(StackName=stack.stack_name)["Stacks"][0]
    outputs = {item["OutputKey"]: item["OutputValue"] for item in described["Outputs"]}
    assert (outputs["InputBucketName"], outputs["OutputBucketName"]) == (stack.input_bucket, stack.output_bucket)
    assert (outputs["InputPrefix"], outputs["OutputPrefix"], outputs["FailurePrefix"]) == (
        "incoming/",
        "posters/",
        "failed/",
    )


def test_submit_waits_and_downloads_a_png_poster(stack: LocalStack, stem: str, tmp_path: Path) -> None:
    # WHEN submitting a sample photo with a title and waiting
    code, document, stderr = run_cli(
        stack, "submit", str(fixture_image("rocket.jpg")), "--title", "Launch Day", "--subtitle", "Falcon 9",
        "--name", stem, "--wait", "--timeout", "120", "--interval", "0.5", "-o", str(tmp_path),
    )  # fmt: skip
    # THEN it exits 0 with a PNG poster downloaded under DIR/<stem>/, and the manifest beside it
    assert code == 0, (document, stderr)
    assert document["status"] == "done"
    assert document["job"]["output_keys"] == [f"posters/{stem}/0.png"]
    poster = tmp_path / stem / "0.png"
    assert poster.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    manifest = json.loads((tmp_path / stem / "manifest.json").read_text())
    assert manifest["source"]["version_id"] == document["submission"]["version_id"]
    assert manifest["spec"]["title"] == ["Launch Day"]
    assert f"{stem}: done" in stderr  # the progress display (plain lines: not a terminal)
    # AND status and ls agree
    code, status, _ = run_cli(stack, "status", stem)
    assert (code, status["status"], status["output_keys"]) == (0, "done", [f"posters/{stem}/0.png"])
    code, listing, _ = run_cli(stack, "ls", "--limit", "100")
    assert code == 0
    assert stem in [entry["stem"] for entry in listing["posters"]]


def test_submit_with_formats_downloads_one_poster_per_format(stack: LocalStack, stem: str, tmp_path: Path) -> None:
    # WHEN submitting with two formats and waiting
    code, document, stderr = run_cli(
        stack, "submit", str(fixture_image("rocket.jpg")), "--title", "Two Sizes", "--format", "square",
        "--format", "1200x628", "--name", stem, "--wait", "--timeout", "120", "--interval", "0.5", "-o", str(tmp_path),
    )  # fmt: skip
    # THEN each format's poster is downloaded from its folder, and the request's manifest names both
    assert code == 0, (document, stderr)
    assert sorted(document["job"]["output_keys"]) == [f"posters/{stem}/1200x628/0.png", f"posters/{stem}/square/0.png"]
    for label in ("square", "1200x628"):
        assert (tmp_path / stem / label / "0.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    manifest = json.loads((tmp_path / stem / "manifest.json").read_text())
    assert set(manifest["formats"]) == {"square", "1200x628"}


def test_a_bad_sidecar_field_exits_1_with_the_failure_code(stack: LocalStack, stem: str) -> None:
    # WHEN submitting an underlay the API does not accept (the client passes values through)
    code, document, _ = run_cli(
        stack, "submit", str(fixture_image("rocket.jpg")), "--title", "Bad", "--underlay", "7", "--name", stem,
        "--wait", "--timeout", "120", "--interval", "0.5",
    )  # fmt: skip
    # THEN the failure record ends the wait: exit 1, its code and message
    assert code == 1, document
    assert document["status"] == "failed"
    assert document["job"]["code"] == "InvalidParameter"
    assert document["job"]["failure"]["message"] == "Range of underlay should be [0, 2]"
    # AND status and failures report it
    code, status, _ = run_cli(stack, "status", stem)
    assert (code, status["status"], status["code"]) == (1, "failed", "InvalidParameter")
    code, failures, _ = run_cli(stack, "failures", "--limit", "100")
    assert code == 0
    assert {entry["stem"]: entry["code"] for entry in failures["failures"]}[stem] == "InvalidParameter"


def test_an_unknown_stack_exits_4(stack: LocalStack) -> None:
    assert stack.iam is not None and stack.iam.admin is not None
    code, document, stderr = run_cli(stack, "--stack", "no-such-stack", "ls")
    assert code == 4
    assert document["error"]["kind"] == "stack"
    assert "no-such-stack" in stderr
