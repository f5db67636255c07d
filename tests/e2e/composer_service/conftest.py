"""End-to-end: the deployed-shape composer service (``Engine=composer``, the template's default) on its own local stack.

The package's stack runs the composer exactly as the template defines it: an HTTPS front standing in for
``ComposerHttpApi`` invokes ``ComposerApiFunction`` through moto's Lambda API, tasks live in
``ComposerTaskTable``, ``ComposerWorkerFunction`` renders from ``ComposerRenderQueue`` and results are
presigned GETs on ``ComposerResultBucket`` (moto's S3 over HTTPS). IAM is enforced: every handler signs
with a session of exactly its own role. Nothing here is mocked.

One stack per process: this package sorts before the other e2e modules, so its stack is stopped before
theirs starts (``tests/e2e/conftest.py``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from local_stack.stack import LocalStack, Outcome
from tests.conftest import fixture_image
from tests.e2e.conftest import SESSION_TOKEN

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.e2e.capture import LogCapture

LOGO_KEY = "assets/composer-e2e-logo.png"
#: Above the composer's own 50 MB cap on a background, so Submit lets a 51 MB upload through to it.
MAX_INPUT_BYTES = 64 * 1024 * 1024


@pytest.fixture(scope="package")
def stack(captured_logs: LogCapture) -> Iterator[LocalStack]:
    with LocalStack(
        parameters={
            "PollSchedule": "1",
            "ComposerMaxInProgress": "2",
            "MaxWaitSeconds": "120",
            "MaxInputBytes": str(MAX_INPUT_BYTES),
        },
        enforce_iam=True,
        environment={
            "POWERTOOLS_METRICS_DISABLED": "true",
            # a recognisable token in the handlers' environment: they sign with their roles' sessions instead
            "AWS_SESSION_TOKEN": SESSION_TOKEN,
            "AWS_SECURITY_TOKEN": SESSION_TOKEN,
        },
    ) as running:
        assert running.engine == "composer"
        running.upload(fixture_image("horse.png"), LOGO_KEY)
        yield running


@dataclass(frozen=True)
class Job:
    stem: str
    sidecar: dict[str, Any] | None


@dataclass
class Posters:
    """The package's good jobs, uploaded together and awaited once."""

    outcomes: dict[str, Outcome]
    jobs: dict[str, Job]


@pytest.fixture(scope="package")
def posters(stack: LocalStack) -> Posters:
    tag = uuid.uuid4().hex[:8]
    jobs = {
        "plain": Job(f"cs-plain-{tag}", None),
        "n2": Job(f"cs-n2-{tag}", {"title": ["Two Posters"], "subtitle": ["n = 2"], "n": 2}),
        "logo": Job(f"cs-logo-{tag}", {"title": ["海报 with a logo"], "text": ["Buy now"], "logo": LOGO_KEY}),
    }
    photo = fixture_image("rocket.jpg").read_bytes()
    for job in jobs.values():
        if job.sidecar is not None:
            stack.upload(json.dumps(job.sidecar, ensure_ascii=False).encode(), f"incoming/{job.stem}.poster.json")
        stack.upload(photo, f"incoming/{job.stem}.jpg", {"poster-title": "Composer service"})
    return Posters({name: stack.wait_for_outcome(job.stem, timeout=90) for name, job in jobs.items()}, jobs)


def composer_names(stack: LocalStack) -> dict[str, str]:
    """Physical names of the composer service's resources."""
    resources = stack.resources
    return {
        "task_table": resources.tables["ComposerTaskTable"],
        "slot_table": resources.tables["SlotTable"],
        "result_bucket": resources.buckets["ComposerResultBucket"],
        "render_queue": resources.queue_urls["ComposerRenderQueue"],
        "render_dlq": resources.queue_urls["ComposerRenderDLQ"],
    }
