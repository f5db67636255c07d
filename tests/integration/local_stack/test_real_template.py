"""The local stack on the project's own template.yaml, handlers and composer service (Engine=composer)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from local_stack.stack import DEFAULT_TEMPLATE, LocalStack

if TYPE_CHECKING:
    from collections.abc import Iterator

pytestmark = pytest.mark.integration

ROOT = DEFAULT_TEMPLATE.parent
IMAGE = next(
    (
        p
        for p in (
            ROOT / "events" / "samples" / "backgrounds" / "rocket.jpg",
            ROOT.parent / "shared" / "fixtures" / "backgrounds" / "rocket.jpg",
        )
        if p.exists()
    ),
    None,
)
_MISSING = [
    str(p.relative_to(ROOT))
    for p in (
        DEFAULT_TEMPLATE,
        ROOT / "layers" / "composer" / "poster_composer" / "server.py",
        *(ROOT / "functions" / name / "app.py" for name in ("submit", "poll", "finalize", "record_failure")),
    )
    if not p.exists()
]


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    if _MISSING or IMAGE is None:
        pytest.skip(f"not written yet: {_MISSING or 'a fixture photo'}")
    with LocalStack(parameters={"PollSchedule": "0", "MaxWaitSeconds": "60", "ComposerMaxInProgress": "2"}) as local:
        yield local


def test_an_upload_becomes_a_poster(stack: LocalStack) -> None:
    assert IMAGE is not None
    stack.upload(IMAGE, "incoming/smoke/rocket.jpg", {"poster-title": "Local smoke"})

    outcome = stack.wait_for_outcome("smoke/rocket", timeout=90)

    assert outcome.status == "SUCCEEDED", outcome.failure
    keys = {
        o["Key"]
        for o in stack.client("s3").list_objects_v2(Bucket=stack.output_bucket, Prefix="posters/smoke/rocket/")[
            "Contents"
        ]
    }
    assert {"posters/smoke/rocket/0.png", outcome.manifest_key} <= keys
    counts = stack.seam.counts()
    assert counts["poster-local-composer-api"] >= 2  # create + at least one query, through the HTTP API
    assert counts["poster-local-ComposerWorkerFunction"] >= 1


def test_the_api_key_never_enters_an_execution(stack: LocalStack) -> None:
    executions = stack.executions()
    assert executions

    for execution in executions:
        text = json.dumps([execution.input, execution.output, stack.history(execution.arn)], default=str)
        assert stack.api_key not in text


def test_template_parameters_reach_the_handlers(stack: LocalStack) -> None:
    assert stack.environment["POLL_SCHEDULE"] == "0"
    assert stack.environment["MAX_WAIT_SECONDS"] == "60"
    assert stack.engine == "composer"
    assert stack.environment["DASHSCOPE_BASE_URL"] == f"{stack.composer_origin}/api/v1"
    assert stack.environment["REQUESTS_CA_BUNDLE"].endswith("cert.pem")
    assert Path(stack.environment["REQUESTS_CA_BUNDLE"]).exists()
    assert stack.composer_origin.startswith("https://localhost:")
    # Results are allowed from exactly the HTTPS S3 endpoint, as the result bucket's regional host on AWS.
    assert stack.environment["RESULT_HOST_ALLOWLIST"] == stack.environment["AWS_ENDPOINT_URL_S3"].removeprefix(
        "https://"
    )
