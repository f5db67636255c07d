"""End-to-end: upload → poster through the real state machine, on one shared local stack.

One stack serves the whole package (and is stopped before other folders run: one stack per process).
It reads ``template.yaml`` (with a short poll schedule and maximum wait), runs the real handlers
behind moto's server and the composer over HTTPS, with moto's IAM enforcement on: each handler signs
with a session of exactly its own role (``LocalStack(enforce_iam=True)``, ``local_stack/iam/roles.py``).
Scenarios are steered per upload with composer rules that match a marker in the title; every test
uses its own stem.
"""

from __future__ import annotations

import json
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import pytest

from local_stack.stack import LocalStack, Outcome
from tests.conftest import fixture_image
from tests.e2e.capture import LogCapture

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

MAX_WAIT_SECONDS = 12
RULES: list[dict[str, Any]] = [
    {
        "match": "[reject-400]",
        "submit_error": {
            "status": 400,
            "code": "InvalidParameter",
            "message": "Invalid URL 'https:xxx.png': No host supplied",
        },
    },
    {
        "match": "[throttle-twice]",
        "submit_error": {
            "status": 429,
            "code": "Throttling.RateQuota",
            "message": "Requests rate limit exceeded, please try again later.",
            "times": 2,
        },
    },
    {
        # one format of a multi-format request refused (the first submitted), the others rendered
        "match": "[reject-first]",
        "submit_error": {"status": 400, "code": "InvalidParameter", "message": "Size not accepted.", "times": 1},
    },
    {"match": "[task-failed]", "task_status": "FAILED", "code": "InternalError", "message": "Inference error"},
    {"match": "[task-unknown]", "task_status": "UNKNOWN"},
    {"match": "[partial]", "partial": [1]},
    {
        "match": "[off-list]",
        "result_urls": [
            "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com.evil.test/1.png"
            "?Expires=1&OSSAccessKeyId=k&Signature=leak"
        ],
    },
    {"match": "[redirect-off-list]", "result_redirect": "https://evil.test/stolen.png"},
    {"match": "[slow]", "task_seconds": MAX_WAIT_SECONDS * 3},
]


# A recognisable session token in the handlers' environment (they sign with their roles' sessions instead):
# the leak scan looks for it, and for every role session's secret key and token (tests/e2e/test_security.py).
SESSION_TOKEN = f"local-session-token-{uuid.uuid4().hex}"


@pytest.fixture(scope="session")
def captured_logs() -> Iterator[LogCapture]:
    """Every log record of the whole e2e session (started before the stack, so nothing is missed)."""
    with LogCapture() as capture:
        yield capture


@pytest.fixture(scope="package")
def stack(captured_logs: LogCapture) -> Iterator[LocalStack]:
    composer = {"max_in_progress": 4, "submissions_per_second": 20, "rules": RULES}
    with LocalStack(
        # The composer's local server stands in for DashScope: its rules inject the faults these tests need.
        # tests/e2e/composer_service/ runs the deployed-shape composer service (Engine=composer).
        parameters={
            "Engine": "dashscope",
            "ModelName": "wanx-ast",
            "PollSchedule": "1",
            "MaxWaitSeconds": str(MAX_WAIT_SECONDS),
        },
        composer_config=composer,
        enforce_iam=True,
        environment={
            "POWERTOOLS_METRICS_DISABLED": "true",
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "AWS_SECURITY_TOKEN": SESSION_TOKEN,
            # A stalled result download ends at the read timeout: keep that short for tests/e2e/test_security.py.
            "HTTP_READ_TIMEOUT": "10",
        },
    ) as running:
        yield running


@pytest.fixture
def stem() -> str:
    return f"e2e-{uuid.uuid4().hex[:10]}"


def upload_job(
    stack: LocalStack, stem: str, sidecar: dict[str, Any] | None = None, image: str = "rocket.jpg", **upload: Any
) -> str:
    """Upload the sidecar (if any) and then the image as ``incoming/<stem>.<ext>``; return the image key."""
    path: Path = fixture_image(image)
    if sidecar is not None:
        stack.upload(json.dumps(sidecar, ensure_ascii=False).encode(), f"incoming/{stem}.poster.json")
    key = f"incoming/{stem}{path.suffix}"
    stack.upload(path, key, **upload)
    return key


def request_poster(stack: LocalStack, detail: dict[str, Any], source: str = "poster-pipeline.requests") -> str:
    """Put a "Poster requested" event on the default bus (as an automation would); return its event id."""
    answer = stack.client("events").put_events(
        Entries=[{"Source": source, "DetailType": "Poster requested", "Detail": json.dumps(detail, ensure_ascii=False)}]
    )
    assert answer["FailedEntryCount"] == 0, answer
    return str(answer["Entries"][0]["EventId"])


def outcome(stack: LocalStack, stem: str, timeout: float = 90) -> Outcome:
    return stack.wait_for_outcome(stem, timeout=timeout)


def submissions_for(stack: LocalStack, key: str) -> list[dict[str, Any]]:
    """The composer's record of submissions whose image URL points at ``key`` (query stripped)."""
    stats = stack.composer_stats()
    return [s for s in stats["submissions_by_input"] if unquote(urlsplit(s["image_url"]).path).endswith("/" + key)]
