"""``poster-local-stack``: run the whole pipeline on this machine (moto + the composer), no cloud account."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from local_stack.stack import DEFAULT_TEMPLATE, LocalStack

if TYPE_CHECKING:
    from types import FrameType

__all__ = ["build_parser", "main"]


def _parameter(text: str) -> tuple[str, str]:
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected Name=Value, got {text!r}")
    return name, value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (``up`` is the only command)."""
    parser = argparse.ArgumentParser(prog="poster-local-stack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start everything and run until Ctrl-C / SIGTERM")
    up.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    up.add_argument(
        "--parameter",
        "-p",
        type=_parameter,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="template parameter override, e.g. -p PollSchedule=1 (repeatable)",
    )
    up.add_argument("--stack-name", default="poster-local")
    up.add_argument("--no-composer", action="store_true", help="do not start the composer")
    up.add_argument(
        "--composer-config",
        type=Path,
        help="JSON file with the quota/fault settings of the DashScope stand-in (with -p Engine=dashscope)",
    )
    up.add_argument(
        "--enforce-iam",
        action="store_true",
        help="each function signs with its own role (the template's expanded policies) and moto enforces them",
    )
    up.add_argument("-v", "--verbose", action="store_true")
    return parser


def _up(args: argparse.Namespace) -> int:
    import json

    composer_config = json.loads(args.composer_config.read_text()) if args.composer_config else None
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stack = LocalStack(
        args.template,
        dict(args.parameter),
        stack_name=args.stack_name,
        composer=not args.no_composer,
        composer_config=composer_config,
        enforce_iam=args.enforce_iam,
    )
    with stack:
        endpoint = stack.moto_endpoint
        print(f"poster-local-stack up: moto at {endpoint}")
        print(f"  input bucket   s3://{stack.input_bucket}/{stack.environment.get('INPUT_PREFIX', '')}")
        print(f"  output bucket  s3://{stack.output_bucket}/")
        print(f"  upload queue   {stack.queue_url}")
        print(f"  DLQ            {stack.dlq_url}")
        print(f"  events queue   {stack.events_queue_url}")
        print(f"  state machine  {stack.state_machine_arn}")
        if stack.composer_origin:
            print(f"  composer       {stack.composer_origin} (CA: {stack.environment.get('REQUESTS_CA_BUNDLE')})")
        if stack.iam is not None and stack.iam.admin is not None:
            print("IAM is enforced: each function signs with its own role. Try, as the stack's admin user:")
            admin = stack.iam.admin
            print(
                f"  export AWS_ACCESS_KEY_ID={admin.access_key} AWS_SECRET_ACCESS_KEY={admin.secret_key} "
                "AWS_DEFAULT_REGION=us-east-1"
            )
        else:
            print("Try (any AWS credentials work):")
            print("  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-1")
        print(f"  aws --endpoint-url {endpoint} s3 ls s3://{stack.output_bucket} --recursive")
        print(
            f"  aws --endpoint-url {endpoint} s3 cp photo.jpg "
            f"s3://{stack.input_bucket}/{stack.environment.get('INPUT_PREFIX', 'incoming/')}photo.jpg"
        )
        print("Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
        print("stopping…", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``poster-local-stack`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    for noisy in ("werkzeug", "botocore", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.command == "up":
        return _up(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
