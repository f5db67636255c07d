"""``poster-pipeline status``, ``ls`` and ``failures``: states, ordering, limits, ``--json`` and exit codes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from poster_pipeline_cli.cli import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_OK, EXIT_PENDING, main
from tests.unit.cli.conftest import OUTPUT_BUCKET, PNG, json_out

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.unit.cli.conftest import FakePipeline


def submit(photo: Path, stem: str) -> None:
    assert main(["submit", str(photo), "--title", "Hi", "--name", stem, "-q"]) == EXIT_OK


def test_status_of_each_state(
    s3: Any, pipeline: FakePipeline, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for stem in ("done", "failed", "pending"):
        submit(photo, stem)
    pipeline.finish("done", posters=1)
    pipeline.fail("failed", code="InvalidParameter")
    capsys.readouterr()

    assert main(["status", "done", "--json", "-o", str(tmp_path)]) == EXIT_OK
    done = json_out(capsys)
    assert (done["status"], done["output_keys"], done["image_key"]) == (
        "done",
        ["posters/done/0.png"],
        "incoming/done.jpg",
    )
    assert done["manifest"]["results"][0]["status"] == "COPIED"
    assert (tmp_path / "done" / "0.png").read_bytes() == PNG

    assert main(["status", "failed", "--json"]) == EXIT_FAILED
    failed = json_out(capsys)
    assert (failed["status"], failed["code"], failed["failure"]["stage"]) == ("failed", "InvalidParameter", "submit")

    assert main(["status", "pending", "--json"]) == EXIT_PENDING
    assert json_out(capsys)["status"] == "pending"

    assert main(["status", "nobody"]) == EXIT_NOT_FOUND
    assert capsys.readouterr().out.startswith("nobody: unknown")


def test_status_without_the_image_reports_the_records_there(
    s3: Any, pipeline: FakePipeline, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a failure record whose image is gone (or was never readable to this user)
    pipeline.fail("gone", version_id="v1")
    assert main(["status", "gone"]) == EXIT_FAILED
    assert capsys.readouterr().out == "gone: failed at submit: InvalidParameter: Range of underlay should be [0, 2]\n"


def test_status_after_a_resubmission_is_pending_until_the_new_record(
    s3: Any, pipeline: FakePipeline, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit(photo, "again")
    pipeline.fail("again")
    submit(photo, "again")  # a new version: the old record is not its outcome
    assert main(["status", "again"]) == EXIT_PENDING
    pipeline.finish("again")
    assert main(["status", "again"]) == EXIT_OK


def test_ls_lists_stems_with_posters_newest_first(
    ticking_s3: Any, pipeline: FakePipeline, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for stem in ("a", "b", "c"):
        submit(photo, stem)
    pipeline.finish("b", posters=2, formats=("square", "story"))  # 4 posters in two format folders
    pipeline.finish("c", posters=3)
    pipeline.finish("a", posters=1)  # the newest manifest
    capsys.readouterr()
    assert main(["ls", "--json"]) == EXIT_OK
    listed = json_out(capsys)["posters"]
    assert [entry["stem"] for entry in listed] == ["a", "c", "b"]
    assert {entry["stem"]: entry["posters"] for entry in listed} == {"a": 1, "b": 4, "c": 3}
    assert main(["ls", "--limit", "1"]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("  1  a")


def test_failures_lists_the_records_newest_first(
    ticking_s3: Any, pipeline: FakePipeline, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    submit(photo, "x")
    pipeline.fail("x", code="InvalidParameter")
    pipeline.fail("y", code="SourceMissing", version_id="v1")
    ticking_s3.put_object(Bucket=OUTPUT_BUCKET, Key="failed/not-a-record.txt", Body=b"ignored")
    capsys.readouterr()
    assert main(["failures", "--json"]) == EXIT_OK
    failures = json_out(capsys)["failures"]
    assert [entry["stem"] for entry in failures] == ["y", "x"]
    assert failures[0]["last_modified"] > failures[1]["last_modified"]
    assert failures[0]["code"] == "SourceMissing"
    assert failures[0]["record"]["source"]["version_id"] == "v1"
    assert main(["failures", "--limit", "1"]) == EXIT_OK
    assert (
        capsys.readouterr().out.splitlines()[0].endswith("SourceMissing  submit  y: Range of underlay should be [0, 2]")
    )


def test_empty_listings_succeed(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ls", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out) == {"stack": "poster-pipeline", "posters": []}
    assert main(["failures"]) == EXIT_OK
    assert capsys.readouterr().out == ""
