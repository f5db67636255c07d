"""``poster-pipeline``: argument parsing, output (text or ``--json``) and exit codes.

The work is in `poster_pipeline_cli.jobs` (S3) and `poster_pipeline_cli.target` (the stack's outputs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from poster_pipeline_cli import __version__
from poster_pipeline_cli.jobs import (
    DONE,
    FAILED,
    PARTIAL,
    PENDING,
    UNKNOWN,
    Clock,
    JobState,
    PosterRequest,
    Submission,
    UsageError,
    download_outputs,
    job_status,
    list_failures,
    list_posters,
    submit_job,
    wait_for_job,
)
from poster_pipeline_cli.progress import Progress
from poster_pipeline_cli.target import StackError, Target, resolve_target

if TYPE_CHECKING:
    from collections.abc import Sequence

    from mypy_boto3_s3 import S3Client

__all__ = [
    "EXIT_AWS",
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_PENDING",
    "EXIT_USAGE",
    "build_parser",
    "main",
]

EXIT_OK = 0  # done: the posters are there (submit --wait, status); a listing was printed; submitted (no --wait)
EXIT_FAILED = 1  # the job failed (a failure record) or was partial (some results missing)
EXIT_USAGE = 2  # bad arguments, no such image file, not a .png/.jpg/.jpeg name
EXIT_PENDING = 3  # not finished: --timeout reached while waiting, or status is pending
EXIT_AWS = 4  # the stack or AWS: no such stack, missing outputs, credentials, access denied, network
EXIT_NOT_FOUND = 5  # status: no image, manifest or failure record for that stem

DEFAULT_STACK = "poster-pipeline"
STACK_ENV = "POSTER_PIPELINE_STACK"
DEFAULT_TIMEOUT = 900.0
DEFAULT_LIMIT = 20
LOCAL_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # any key works on moto

EPILOG = f"""\
exit codes:
  {EXIT_OK}  success: done (submit --wait, status), submitted (submit), listed (ls, failures)
  {EXIT_FAILED}  the job failed (a failure record: its code is printed) or was partial
  {EXIT_USAGE}  usage error: bad arguments, no such image file, not a .png/.jpg/.jpeg name
  {EXIT_PENDING}  not finished: --timeout reached while waiting, or status is pending
  {EXIT_AWS}  stack or AWS error: no such stack, missing outputs, credentials, access denied, network
  {EXIT_NOT_FOUND}  status: nothing known about that stem (no image, manifest or failure record)

The stack is found by name (--stack, else ${STACK_ENV}, else {DEFAULT_STACK}) through its CloudFormation
outputs InputBucketName, OutputBucketName, InputPrefix, OutputPrefix and FailurePrefix. For the local stack
(make local-stack) pass its moto endpoint: --endpoint-url http://127.0.0.1:PORT (or AWS_ENDPOINT_URL); any
credentials work there (dummy ones are used when none are configured).

examples:
  poster-pipeline submit photo.jpg --title "Summer Sale" --subtitle "Everything 20% off" --wait -o out
  poster-pipeline submit photo.jpg --title Hi --format square --format story --json
  poster-pipeline status photo --json
  poster-pipeline ls --limit 5
  poster-pipeline --endpoint-url http://127.0.0.1:5000 failures
"""


class CliError(Exception):
    """An error that ends the command with ``exit_code``."""

    def __init__(self, exit_code: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code
        self.kind = kind
        self.message = message


def _non_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _limit(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return value


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """Target and output options, accepted before and after the command (the command's copy wins)."""
    default: Any = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("stack")
    group.add_argument(
        "--stack", default=default, metavar="NAME", help=f"stack name (default: ${STACK_ENV} or {DEFAULT_STACK})"
    )
    group.add_argument("--region", default=default, help="AWS region (default: the profile's / AWS_REGION)")
    group.add_argument("--profile", default=default, help="AWS CLI profile")
    group.add_argument(
        "--endpoint-url", default=default, metavar="URL", help="e.g. the local stack's moto endpoint (AWS_ENDPOINT_URL)"
    )
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="print one JSON document on stdout (progress stays on stderr)",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``poster-pipeline`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="poster-pipeline",
        description="Submit background images to a poster-pipeline stack and fetch the posters.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_common(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_submit(commands)
    _add_queries(commands)
    return parser


def _add_submit(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    submit = commands.add_parser(
        "submit",
        help="upload an image with its sidecar; optionally wait and download the posters",
        description="Upload incoming/<stem>.poster.json and then the image as incoming/<stem>.<ext>.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    submit.add_argument("image", type=Path, metavar="IMAGE", help="a .png, .jpg or .jpeg file")
    spec = submit.add_argument_group("poster (the sidecar; the pipeline validates the values)")
    spec.add_argument("--title", action="append", required=True, help="title line (repeatable)")
    spec.add_argument("--subtitle", action="append", default=[], help="subtitle line (repeatable)")
    spec.add_argument("--text", action="append", default=[], help="other text block (repeatable)")
    spec.add_argument("--logo", metavar="KEY", help="key of a PNG in the input bucket, outside the input prefix")
    spec.add_argument("--underlay", type=int, metavar="N", help="text underlay 0-2")
    spec.add_argument("--n", type=int, metavar="N", help="posters to make, 1-4")
    spec.add_argument("--temperature", type=float, metavar="T", help="0-1")
    spec.add_argument(
        "--format",
        dest="formats",
        action="append",
        default=[],
        type=_non_empty,
        metavar="F",
        help="output format, W*H / WxH or square, story, landscape, banner-4x1 (repeatable)",
    )
    submit.add_argument("--name", metavar="STEM", help="the job's stem (default: the file name without extension)")
    waiting = submit.add_argument_group("waiting")
    waiting.add_argument("--wait", action="store_true", help="wait for the manifest or the failure record")
    waiting.add_argument(
        "-o", "--output", type=Path, metavar="DIR", help="download the posters to DIR/<stem>/ (implies --wait)"
    )
    waiting.add_argument(
        "--timeout",
        type=_positive,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help="give up waiting after S seconds (default %(default).0f)",
    )
    waiting.add_argument(
        "--interval", type=_positive, default=2.0, metavar="S", help="seconds between polls (default %(default)s)"
    )
    waiting.add_argument("-q", "--quiet", action="store_true", help="no progress display on stderr")
    _add_common(submit, top=False)


def _add_queries(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    status = commands.add_parser(
        "status", help="done / partial / failed / pending, with the manifest or failure record", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    status.add_argument("stem", metavar="STEM")
    status.add_argument("-o", "--output", type=Path, metavar="DIR", help="when done, download the posters to DIR")
    _add_common(status, top=False)

    listing = commands.add_parser("ls", help="stems with posters, newest first")
    listing.add_argument("--limit", type=_limit, default=DEFAULT_LIMIT, metavar="N")
    _add_common(listing, top=False)

    failures = commands.add_parser("failures", help="the failure records, newest first")
    failures.add_argument("--limit", type=_limit, default=DEFAULT_LIMIT, metavar="N")
    _add_common(failures, top=False)


# ---------------------------------------------------------------------------------------------- AWS


def _clients(args: argparse.Namespace, session: Any) -> tuple[Any, S3Client]:
    """CloudFormation and S3 clients for the target the options name."""
    import boto3

    endpoint = args.endpoint_url or os.environ.get("AWS_ENDPOINT_URL") or None
    if session is None:
        session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    region = args.region or session.region_name or ("us-east-1" if endpoint else None)
    if region is None:
        raise CliError(EXIT_AWS, "aws", "no AWS region: pass --region, or set AWS_REGION or a profile's region")
    options: dict[str, Any] = {"region_name": region}
    if args.endpoint_url:
        options["endpoint_url"] = args.endpoint_url
    if endpoint and session.get_credentials() is None:
        options |= LOCAL_CREDENTIALS
    return session.client("cloudformation", **options), session.client("s3", **options)


def _target(args: argparse.Namespace, session: Any) -> tuple[Target, S3Client]:
    cloudformation, s3 = _clients(args, session)
    return resolve_target(cloudformation, args.stack), s3


# ---------------------------------------------------------------------------------------------- commands


class Output:
    """Writes the result: text lines, or one JSON document with ``--json``."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def emit(self, document: dict[str, Any], lines: list[str]) -> None:
        if self.as_json:
            print(json.dumps(document, ensure_ascii=False, indent=2, default=str))
        else:
            for line in lines:
                print(line)


_STATUS_EXIT = {
    DONE: EXIT_OK,
    PARTIAL: EXIT_FAILED,
    FAILED: EXIT_FAILED,
    PENDING: EXIT_PENDING,
    UNKNOWN: EXIT_NOT_FOUND,
}


def _state_lines(state: JobState, target: Target, downloaded: list[Path]) -> list[str]:
    if state.status in (DONE, PARTIAL):
        missing = f", {state.failed_results} result(s) missing" if state.failed_results else ""
        head = f"{state.stem}: {state.status}: {len(state.output_keys)} poster(s){missing}"
        places = [str(path) for path in downloaded] or [f"s3://{target.output_bucket}/{k}" for k in state.output_keys]
        return [head, *(f"  {place}" for place in places)]
    if state.status == FAILED:
        record = state.failure or {}
        stage = f" at {record['stage']}" if record.get("stage") else ""
        message = record.get("message") or "no poster could be copied (see the manifest)"
        return [f"{state.stem}: failed{stage}: {state.code}: {message}"]
    if state.status == PENDING:
        since = f" (image uploaded {state.uploaded_at.isoformat()})" if state.uploaded_at else ""
        return [f"{state.stem}: pending: no manifest or failure record yet{since}"]
    return [f"{state.stem}: unknown: no image, manifest or failure record for this stem"]


def _download(s3: S3Client, target: Target, state: JobState, directory: Path | None) -> list[Path]:
    if directory is None or state.status not in (DONE, PARTIAL):
        return []
    return download_outputs(s3, target, state, directory)


def _request(args: argparse.Namespace) -> PosterRequest:
    return PosterRequest(
        title=list(args.title),
        subtitle=list(args.subtitle),
        text=list(args.text),
        underlay=args.underlay,
        logo=args.logo,
        n=args.n,
        temperature=args.temperature,
        formats=list(args.formats),
    )


def _submit(args: argparse.Namespace, session: Any, clock: Clock | None, out: Output) -> int:
    target, s3 = _target(args, session)
    submission = submit_job(s3, target, args.image, _request(args), stem=args.name)
    document: dict[str, Any] = {"stack": target.stack_name, "input_bucket": target.input_bucket}
    document |= {"stem": submission.stem, "submission": submission.to_dict()}
    if not (args.wait or args.output):
        out.emit(
            {**document, "status": "submitted", "job": None, "downloaded": []},
            [
                f"{submission.stem}: submitted s3://{target.input_bucket}/{submission.image_key}"
                f" (version {submission.version_id}) with {submission.sidecar_key}",
                f"  poster-pipeline --stack {target.stack_name} status {submission.stem}",
            ],
        )
        return EXIT_OK
    state = _wait(args, s3, target, submission, clock)
    downloaded = _download(s3, target, state, args.output)
    out.emit(
        {**document, "status": state.status, "job": state.to_dict(), "downloaded": [str(p) for p in downloaded]},
        _state_lines(state, target, downloaded),
    )
    return _STATUS_EXIT[state.status]


def _wait(
    args: argparse.Namespace, s3: S3Client, target: Target, submission: Submission, clock: Clock | None
) -> JobState:
    progress = Progress(sys.stderr, submission.stem, quiet=args.quiet)
    replaced = f" (replaced {', '.join(submission.replaced)})" if submission.replaced else ""
    progress.start(f"uploaded {submission.image_key}{replaced}; waiting for {target.poster_folder(submission.stem)}")
    state = wait_for_job(
        s3, target, submission, timeout=args.timeout, interval=args.interval, clock=clock, on_progress=progress.update
    )
    progress.finish(state.status if state.status != PENDING else f"still pending after {args.timeout:.0f}s")
    return state


def _status(args: argparse.Namespace, session: Any, out: Output) -> int:
    target, s3 = _target(args, session)
    state = job_status(s3, target, args.stem)
    downloaded = _download(s3, target, state, args.output)
    out.emit(
        {"stack": target.stack_name, **state.to_dict(), "downloaded": [str(p) for p in downloaded]},
        _state_lines(state, target, downloaded),
    )
    return _STATUS_EXIT[state.status]


def _ls(args: argparse.Namespace, session: Any, out: Output) -> int:
    target, s3 = _target(args, session)
    sets = list_posters(s3, target, args.limit)
    lines = [f"{entry.last_modified:%Y-%m-%d %H:%M:%S%z}  {entry.posters:>3}  {entry.stem}" for entry in sets]
    out.emit({"stack": target.stack_name, "posters": [entry.to_dict() for entry in sets]}, lines)
    return EXIT_OK


def _failures(args: argparse.Namespace, session: Any, out: Output) -> int:
    target, s3 = _target(args, session)
    entries = list_failures(s3, target, args.limit)
    lines = [
        f"{entry.last_modified:%Y-%m-%d %H:%M:%S%z}  {entry.record.get('code')}  {entry.record.get('stage')}  "
        f"{entry.stem}: {entry.record.get('message')}"
        for entry in entries
    ]
    out.emit({"stack": target.stack_name, "failures": [entry.to_dict() for entry in entries]}, lines)
    return EXIT_OK


# ---------------------------------------------------------------------------------------------- main


def main(argv: Sequence[str] | None = None, *, session: Any = None, clock: Clock | None = None) -> int:
    """Entry point of the ``poster-pipeline`` console script; returns the exit code.

    ``session`` (a boto3 session) and ``clock`` replace the defaults in tests.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version, a usage error (argparse printed it)
        return int(exit_.code or 0) if isinstance(exit_.code, int | None) else EXIT_USAGE
    args.stack = args.stack or os.environ.get(STACK_ENV) or DEFAULT_STACK
    out = Output(args.json)
    try:
        return _run(args, session, clock, out)
    except KeyboardInterrupt:
        print("poster-pipeline: interrupted", file=sys.stderr)
        return 130
    except CliError as error:
        return _fail(out, error)


def _run(args: argparse.Namespace, session: Any, clock: Clock | None, out: Output) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        if args.command == "submit":
            return _submit(args, session, clock, out)
        if args.command == "status":
            return _status(args, session, out)
        if args.command == "ls":
            return _ls(args, session, out)
        return _failures(args, session, out)
    except UsageError as error:
        raise CliError(EXIT_USAGE, "usage", str(error)) from None
    except StackError as error:
        raise CliError(EXIT_AWS, "stack", str(error)) from None
    except (BotoCoreError, ClientError) as error:
        raise CliError(EXIT_AWS, "aws", str(error)) from None
    except (OSError, ValueError) as error:  # a download that cannot be written, an unreadable record
        raise CliError(EXIT_AWS, "io", str(error)) from None


def _fail(out: Output, error: CliError) -> int:
    print(f"poster-pipeline: error: {error.message}", file=sys.stderr)
    if out.as_json:
        print(json.dumps({"error": {"kind": error.kind, "message": error.message}, "exit_code": error.exit_code}))
    return error.exit_code


if __name__ == "__main__":
    sys.exit(main())
