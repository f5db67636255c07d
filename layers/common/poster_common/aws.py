"""The one place AWS clients are made: timeouts and retries set here, endpoints from the environment."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(
    connect_timeout=5,
    read_timeout=30,
    retries={"max_attempts": 5, "mode": "standard"},
    s3={"addressing_style": "path"},
)


@cache
def client(service: str) -> Any:
    """A cached boto3 client; ``AWS_ENDPOINT_URL`` (set by the local stack) is honoured by boto3 itself."""
    return boto3.session.Session().client(service, config=_CONFIG)  # type: ignore[call-overload]
