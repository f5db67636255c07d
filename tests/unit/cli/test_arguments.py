"""Argument parsing, help and usage errors of ``poster-pipeline`` (no AWS call is made)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from poster_pipeline_cli.cli import EXIT_AWS, EXIT_USAGE, build_parser, main

if TYPE_CHECKING:
    from pathlib import Path


def test_help_documents_every_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    # WHEN asking for help
    code = main(["--help"])
    # THEN it succeeds and lists the exit codes a script can use
    out = capsys.readouterr().out
    assert code == 0
    for line in ("0  success", "1  the job failed", "2  usage error", "3  not finished", "4  stack or AWS error"):
        assert line in out
    assert "--endpoint-url" in out
    assert "exit codes:" in main_help(["submit", "--help"], capsys)


def main_help(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        [],  # no command
        ["submit", "photo.jpg"],  # no --title
        ["submit", "photo.jpg", "--title", "Hi", "--format", " "],  # an empty format
        ["submit", "photo.jpg", "--title", "Hi", "--n", "two"],  # not a number
        ["submit", "photo.jpg", "--title", "Hi", "--timeout", "0"],
        ["ls", "--limit", "0"],
        ["status"],  # no stem
        ["frobnicate"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    assert "usage:" in capsys.readouterr().err


def test_common_options_are_accepted_before_and_after_the_command() -> None:
    parser = build_parser()
    before = parser.parse_args(["--json", "--stack", "a", "--region", "eu-west-1", "ls"])
    after = parser.parse_args(["ls", "--json", "--stack", "a", "--region", "eu-west-1"])
    for args in (before, after):
        assert (args.json, args.stack, args.region, args.limit) == (True, "a", "eu-west-1", 20)
    # the command's copy wins over the global one
    assert parser.parse_args(["--stack", "a", "status", "x", "--stack", "b"]).stack == "b"


def test_submit_collects_repeatable_fields_and_passes_formats_through() -> None:
    args = build_parser().parse_args(
        ["submit", "p.jpg", "--title", "A", "--title", "B", "--format", "square", "--format", "1080x1920", "-o", "d"]
    )
    assert args.title == ["A", "B"]
    assert args.formats == ["square", "1080x1920"]
    assert str(args.output) == "d"
    assert args.wait is False  # -o implies waiting when the command runs


def test_a_missing_image_is_a_usage_error_before_any_upload(
    s3: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["submit", str(tmp_path / "nope.jpg"), "--title", "Hi", "--json"])
    assert code == EXIT_USAGE
    assert "no such file" in capsys.readouterr().err


def test_an_image_name_the_pipeline_ignores_is_a_usage_error(
    s3: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = tmp_path / "photo.webp"
    image.write_bytes(b"RIFF")
    assert main(["submit", str(image), "--title", "Hi"]) == EXIT_USAGE
    assert ".png, .jpg or .jpeg" in capsys.readouterr().err


def test_no_region_and_no_endpoint_is_an_aws_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert main(["ls", "--json"]) == EXIT_AWS
    assert "no AWS region" in capsys.readouterr().out
