"""``poster-pipeline submit``: the uploads, waiting for the manifest or failure record, downloads, exit codes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3

from poster_pipeline_cli.cli import EXIT_FAILED, EXIT_OK, EXIT_PENDING, main
from tests.unit.cli.conftest import INPUT_BUCKET, PNG, json_out

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

    from tests.unit.cli.conftest import FakeClock, FakePipeline


def test_submit_uploads_the_sidecar_then_the_image(s3: Any, photo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN a session that records the order of the uploads
    session = boto3.session.Session(region_name="us-east-1")
    puts: list[str] = []
    session.events.register("before-parameter-build.s3.PutObject", lambda params, **_: puts.append(params["Key"]))
    # WHEN submitting with every field, formats among them
    code = main(
        [
            "submit", str(photo), "--title", "Summer Sale", "--title", "夏季", "--subtitle", "20% off",
            "--text", "SHOP NOW", "--underlay", "1", "--n", "2", "--temperature", "0.5", "--logo", "assets/b.png",
            "--format", "square", "--format", "1080*1920", "--json",
        ],
        session=session,
    )  # fmt: skip
    # THEN the sidecar went first (the image's upload starts the job with it), then the image
    assert code == EXIT_OK
    assert puts == ["incoming/photo.poster.json", "incoming/photo.jpg"]
    sidecar = json.loads(s3.get_object(Bucket=INPUT_BUCKET, Key="incoming/photo.poster.json")["Body"].read())
    assert sidecar == {
        "title": ["Summer Sale", "夏季"],
        "subtitle": ["20% off"],
        "text": ["SHOP NOW"],
        "underlay": 1,
        "logo": "assets/b.png",
        "n": 2,
        "temperature": 0.5,
        "formats": ["square", "1080*1920"],
    }
    assert s3.get_object(Bucket=INPUT_BUCKET, Key="incoming/photo.jpg")["ContentType"] == "image/jpeg"
    # AND the JSON names what was uploaded, without waiting
    document = json_out(capsys)
    assert document["status"] == "submitted"
    assert document["submission"]["image_key"] == "incoming/photo.jpg"
    assert document["submission"]["version_id"]


def test_fields_left_out_are_not_in_the_sidecar(s3: Any, photo: Path) -> None:
    assert main(["submit", str(photo), "--title", "Hi", "--name", "campaign/one"]) == EXIT_OK
    sidecar = json.loads(s3.get_object(Bucket=INPUT_BUCKET, Key="incoming/campaign/one.poster.json")["Body"].read())
    assert sidecar == {"title": ["Hi"]}
    assert s3.head_object(Bucket=INPUT_BUCKET, Key="incoming/campaign/one.jpg")


def test_wait_returns_when_the_manifest_appears_and_downloads_the_posters(
    s3: Any,
    pipeline: FakePipeline,
    clock: FakeClock,
    photo: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN a pipeline that writes the posters and the manifest 7 s after the upload
    clock.at(7, lambda: pipeline.finish("photo", posters=2))
    out = tmp_path / "out"
    # WHEN submitting and waiting
    code = main(["submit", str(photo), "--title", "Hi", "--wait", "-o", str(out), "--json"], clock=clock.clock())
    # THEN it waited until then, and downloaded every poster and the manifest under DIR/<stem>/
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    assert code == EXIT_OK
    assert 7 <= clock.now < 10
    assert document["status"] == "done"
    assert document["job"]["output_keys"] == ["posters/photo/0.png", "posters/photo/1.png"]
    assert sorted(document["downloaded"]) == sorted(str(out / "photo" / n) for n in ("0.png", "1.png", "manifest.json"))
    assert (out / "photo" / "0.png").read_bytes() == PNG
    assert json.loads((out / "photo" / "manifest.json").read_text())["results"][0]["key"] == "posters/photo/0.png"
    assert not list(out.rglob("*.part"))
    # AND the progress went to stderr as plain lines (not a terminal)
    assert "photo: uploaded incoming/photo.jpg" in captured.err
    assert "photo: done" in captured.err


def test_every_format_folder_of_the_manifest_is_downloaded(
    s3: Any, pipeline: FakePipeline, clock: FakeClock, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a manifest with one poster set per format (posters/<stem>/<format>/<i>.png)
    clock.at(3, lambda: pipeline.finish("photo", posters=1, formats=("square", "1080x1920")))
    code = main(
        ["submit", str(photo), "--title", "Hi", "--format", "square", "--format", "1080x1920", "-o", str(tmp_path)],
        clock=clock.clock(),
    )
    assert code == EXIT_OK
    assert (tmp_path / "photo" / "square" / "0.png").read_bytes() == PNG
    assert (tmp_path / "photo" / "1080x1920" / "0.png").read_bytes() == PNG
    out = capsys.readouterr().out
    assert "photo: done: 2 poster(s)" in out


def test_a_request_whose_every_format_failed_ends_the_wait_at_once(
    s3: Any, pipeline: FakePipeline, clock: FakeClock, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a two-format request whose formats both failed: its manifest says so, and no failed/<stem>.json follows
    clock.at(3, lambda: pipeline.finish("photo", formats=("square", "story"), failed_formats=("square", "story")))
    code = main(["submit", str(photo), "--title", "Hi", "--format", "square", "--format", "story", "--wait", "--json"],
                clock=clock.clock())  # fmt: skip
    # THEN the wait ends when the manifest appears (no grace for a record that will not come), with exit 1
    assert code == EXIT_FAILED
    assert json_out(capsys)["status"] == "failed"
    assert clock.now < 10


def test_a_failure_record_ends_the_wait_with_exit_1_and_its_code(
    s3: Any, pipeline: FakePipeline, clock: FakeClock, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.at(2, lambda: pipeline.fail("photo", code="InvalidParameter"))
    code = main(["submit", str(photo), "--title", "Hi", "--underlay", "7", "--wait", "--json"], clock=clock.clock())
    document = json_out(capsys)
    assert code == EXIT_FAILED
    assert document["status"] == "failed"
    assert document["job"]["code"] == "InvalidParameter"
    assert document["job"]["failure"]["stage"] == "submit"
    assert document["downloaded"] == []


def test_a_partial_job_downloads_what_was_copied_and_exits_1(
    s3: Any, pipeline: FakePipeline, clock: FakeClock, photo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.at(1, lambda: pipeline.finish("photo", posters=2, failed=(1,)))
    code = main(["submit", str(photo), "--title", "Hi", "-o", str(tmp_path)], clock=clock.clock())
    assert code == EXIT_FAILED
    assert (tmp_path / "photo" / "0.png").exists()
    assert not (tmp_path / "photo" / "1.png").exists()
    assert "photo: partial: 1 poster(s), 1 result(s) missing" in capsys.readouterr().out


def test_timeout_exits_3_with_the_job_pending(
    s3: Any, clock: FakeClock, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["submit", str(photo), "--title", "Hi", "--wait", "--timeout", "20", "--json"], clock=clock.clock())
    captured = capsys.readouterr()
    assert code == EXIT_PENDING
    assert json.loads(captured.out)["status"] == "pending"
    assert 20 <= clock.now < 21
    assert "still pending after 20s" in captured.err


def test_records_of_an_earlier_image_version_are_not_this_jobs(
    s3: Any, pipeline: FakePipeline, clock: FakeClock, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an earlier run of the same stem that failed, and a manifest written for another version meanwhile
    assert main(["submit", str(photo), "--title", "Old"]) == EXIT_OK
    old_version = pipeline.image_version("photo")
    pipeline.fail("photo", version_id=old_version)
    capsys.readouterr()
    clock.at(2, lambda: pipeline.finish("photo", version_id=old_version))
    clock.at(6, lambda: pipeline.finish("photo"))  # ours (the current version)
    # WHEN submitting again and waiting
    code = main(["submit", str(photo), "--title", "New", "--wait", "--json"], clock=clock.clock())
    # THEN only the record of the new upload ends the wait; the earlier image was replaced first
    document = json_out(capsys)
    assert code == EXIT_OK
    assert clock.now >= 6
    assert document["job"]["manifest"]["source"]["version_id"] == document["submission"]["version_id"]
    assert document["submission"]["replaced"] == ["incoming/photo.jpg"]


def test_a_manifest_without_posters_waits_for_the_failure_record(
    s3: Any, pipeline: FakePipeline, clock: FakeClock, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN Finalize copied nothing (manifest first), then RecordFailure wrote the record
    clock.at(1, lambda: pipeline.finish("photo", posters=1, failed=(0,)))
    clock.at(5, lambda: pipeline.fail("photo", code="NoResultCopied"))
    code = main(["submit", str(photo), "--title", "Hi", "--wait", "--json"], clock=clock.clock())
    document = json_out(capsys)
    assert code == EXIT_FAILED
    assert document["job"]["failure"]["code"] == "NoResultCopied"
    assert clock.now >= 5


def test_a_manifest_without_posters_and_no_record_fails_after_the_grace(
    s3: Any, pipeline: FakePipeline, clock: FakeClock, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.at(1, lambda: pipeline.finish("photo", posters=1, failed=(0,)))
    code = main(["submit", str(photo), "--title", "Hi", "--wait", "--json"], clock=clock.clock())
    document = json_out(capsys)
    assert code == EXIT_FAILED
    assert document["job"]["code"] == "NoResultCopied"
    assert 30 <= clock.now < 40


def test_text_output_without_json(
    s3: Any, pipeline: FakePipeline, clock: FakeClock, photo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock.at(1, lambda: pipeline.finish("photo", posters=1))
    assert main(["submit", str(photo), "--title", "Hi", "--wait", "-q"], clock=clock.clock()) == EXIT_OK
    captured = capsys.readouterr()
    assert captured.out.splitlines() == ["photo: done: 1 poster(s)", "  s3://pp-output/posters/photo/0.png"]
    assert captured.err == ""  # --quiet
