"""Finding the stack, the manifest's output keys, safe download paths, the progress display, the local outputs."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from local_stack.outputs import publish_outputs, resolved_outputs
from local_stack.stack import DEFAULT_TEMPLATE
from local_stack.template import Template
from poster_pipeline_cli.cli import EXIT_AWS, EXIT_OK, main
from poster_pipeline_cli.jobs import JobState, download_outputs, output_keys
from poster_pipeline_cli.progress import Progress
from poster_pipeline_cli.target import StackError, Target, resolve_target
from tests.unit.cli.conftest import INPUT_BUCKET, OUTPUT_BUCKET, OUTPUTS, STACK, json_out

if TYPE_CHECKING:
    from pathlib import Path


def test_the_target_comes_from_the_stack_outputs(s3: Any) -> None:
    target = resolve_target(boto3.client("cloudformation", region_name="us-east-1"), STACK)
    assert target == Target(STACK, INPUT_BUCKET, OUTPUT_BUCKET, "incoming/", "posters/", "failed/")


def test_prefixes_default_for_a_stack_deployed_before_those_outputs(s3: Any) -> None:
    session = boto3.session.Session()
    publish_outputs(session, None, "older", {"InputBucketName": "in", "OutputBucketName": "out", "InputPrefix": "up/"})
    target = resolve_target(session.client("cloudformation", region_name="us-east-1"), "older")
    assert (target.input_prefix, target.output_prefix, target.failure_prefix) == ("up/", "posters/", "failed/")


def test_a_missing_stack_or_output_is_a_stack_error(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    with pytest.raises(StackError, match="no stack named 'nope'"):
        resolve_target(cloudformation, "nope")
    publish_outputs(boto3.session.Session(), None, "other", {"Something": "x"})
    with pytest.raises(StackError, match="no output InputBucketName, OutputBucketName"):
        resolve_target(cloudformation, "other")
    # exit 4, and with --json the error as a document
    assert main(["--json", "--stack", "nope", "ls"]) == EXIT_AWS
    captured = capsys.readouterr()
    assert json_out_text(captured.out)["error"]["kind"] == "stack"
    assert "no stack named 'nope'" in captured.err


def json_out_text(text: str) -> Any:
    import json

    return json.loads(text)


def test_the_stack_name_defaults_to_the_environment(
    s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    publish_outputs(boto3.session.Session(), None, "from-env", OUTPUTS)
    monkeypatch.setenv("POSTER_PIPELINE_STACK", "from-env")
    assert main(["ls", "--json"]) == EXIT_OK
    assert json_out(capsys)["stack"] == "from-env"


def test_output_keys_whatever_the_manifest_shape() -> None:
    manifest = {
        "source": {"bucket": "in", "key": "posters/x/looks-like-an-output.png"},  # the input's key is never taken
        "results": [
            {"index": 0, "status": "COPIED", "key": "posters/x/0.png"},
            {"index": 1, "status": "FAILED", "code": "ResultNotImage"},
        ],
        "formats": {"story": {"results": [{"status": "COPIED", "key": "posters/x/story/0.png"}]}},
        "output_keys": ["posters/x/0.png", "posters/x/banner-4x1/0.png", "posters/x/manifest.json", "elsewhere/1.png"],
    }
    keys, failed = output_keys(manifest, "posters/x/")
    assert keys == ["posters/x/0.png", "posters/x/banner-4x1/0.png", "posters/x/story/0.png"]
    assert failed == 1


def test_a_key_outside_the_output_folder_is_never_written_outside_dir(s3: Any, tmp_path: Path) -> None:
    target = Target(STACK, INPUT_BUCKET, OUTPUT_BUCKET)
    state = JobState("x", "done", "posters/x/manifest.json", "failed/x.json", output_keys=["posters/../../etc/passwd"])
    with pytest.raises(ValueError, match="outside the output directory"):
        download_outputs(s3, target, state, tmp_path)


def test_progress_on_a_terminal_redraws_one_line() -> None:
    stream = io.StringIO()
    progress = Progress(stream, "photo", tty=True)
    progress.start("uploaded")
    progress.update(1.0)
    progress.update(2.0)
    progress.finish("done")
    text = stream.getvalue()
    assert text.startswith("photo: uploaded\n")
    assert text.count("\r") >= 3
    assert "waiting for the poster… 2s" in text
    assert text.endswith("\r\x1b[Kphoto: done\n")


def test_progress_elsewhere_prints_plain_lines_now_and_then() -> None:
    stream = io.StringIO()
    progress = Progress(stream, "photo", tty=False, plain_every=30)
    progress.start("uploaded")
    for tenth in range(700):
        progress.update(tenth / 10)
    progress.finish("done")
    assert stream.getvalue().splitlines() == [
        "photo: uploaded",
        "photo: still waiting after 30s",
        "photo: still waiting after 60s",
        "photo: done",
    ]


def test_the_local_stack_publishes_the_templates_outputs(s3: Any) -> None:
    # GIVEN the template resolved as the local stack resolves it
    outputs = resolved_outputs(Template(DEFAULT_TEMPLATE, {"Engine": "dashscope"}, stack_name="poster-pipeline"))
    # THEN the client's outputs are there, and the composer's (a false condition) are not
    assert outputs["InputBucketName"].startswith("poster-pipeline-")
    assert (outputs["InputPrefix"], outputs["OutputPrefix"], outputs["FailurePrefix"]) == (
        "incoming/",
        "posters/",
        "failed/",
    )
    assert "ComposerApiBaseUrl" not in outputs
    # AND publishing twice replaces the stack
    session = boto3.session.Session()
    publish_outputs(session, None, "poster-pipeline", outputs)
    publish_outputs(session, None, "poster-pipeline", {**outputs, "InputPrefix": "up/"})
    described = boto3.client("cloudformation", region_name="us-east-1").describe_stacks(StackName="poster-pipeline")
    published = {o["OutputKey"]: o["OutputValue"] for o in described["Stacks"][0]["Outputs"]}
    assert published == {**outputs, "InputPrefix": "up/"}


def test_the_client_imports_only_the_standard_library_and_boto3() -> None:
    import ast
    import sys
    from pathlib import Path

    import poster_pipeline_cli

    allowed = set(sys.stdlib_module_names) | {"__future__", "boto3", "botocore", "poster_pipeline_cli"}
    package = Path(poster_pipeline_cli.__file__).parent
    imported = set()
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    type_stubs = {name for name in imported if name.startswith("mypy_boto3_")}  # under TYPE_CHECKING only
    assert imported - type_stubs <= allowed
