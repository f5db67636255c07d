"""Fixtures for the deployed composer's parts against moto's in-process ``mock_aws`` (no sockets)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws
from PIL import Image

from poster_composer.cloud.results import ResultBucket, s3_client
from poster_composer.cloud.sources import SourcePolicy
from poster_composer.cloud.store import DynamoTaskStore
from poster_composer.cloud.tasks import CloudTasks
from poster_composer.production import RenderedPng
from poster_composer.validation import SynthesisRequest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from poster_composer.input_media import FetchLimits

REGION = "us-east-1"
INPUT = "poster-in-123456789012-us-east-1"
OUTPUT = "poster-out-abc123"
RESULTS = "poster-composer-results-xyz"
TABLE = "composer-tasks"
TIMEOUT = 900.0
RETENTION = 86_400


def synthesis(
    image_url: str = f"https://{INPUT}.s3.{REGION}.amazonaws.com/incoming/a.jpg?X-Amz-Signature=sig",
    *,
    logo: str | None = None,
    n: int = 1,
) -> SynthesisRequest:
    """A validated create request (unicode, every text field)."""
    return SynthesisRequest(
        model="wanx-ast",
        image_url=image_url,
        title=("Spring Sale", "二"),
        subtitle=("sub",),
        text=("Buy now",),
        underlay=1,
        logo=logo,
        n=n,
        temperature=0.5,
    )


class Clock:
    """Epoch seconds that tests move by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def png(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "navy").save(buffer, format="PNG")
    return buffer.getvalue()


class RecordingFetcher:
    """A `MediaFetcher` that records every call and answers with ``body``."""

    def __init__(self, body: bytes | None = None, logo: bytes | None = None) -> None:
        self.calls: list[tuple[str, str]] = []
        self.body = png() if body is None else body
        self.logo = png((32, 32), "RGBA") if logo is None else logo

    def __call__(self, url: str, field: str, limits: FetchLimits) -> bytes:
        self.calls.append((url, field))
        return self.logo if field == "logo" else self.body


class FakeRenderer:
    """Returns one small PNG per variant; records the requests."""

    def __init__(self) -> None:
        self.calls: list[Any] = []
        self.error: Exception | None = None

    def __call__(self, background: bytes, request: Any, logo: bytes | None) -> list[RenderedPng]:
        self.calls.append((request, logo is not None))
        if self.error is not None:
            raise self.error
        return [RenderedPng(png((16 + index, 16))) for index in range(request.n)]


@dataclass
class Cloud:
    """The service's AWS parts in moto, and the objects built on them."""

    clock: Clock
    table: Any
    store: DynamoTaskStore
    results: ResultBucket
    sqs: Any
    queue_url: str
    tasks: CloudTasks
    s3: Any
    sources: SourcePolicy

    def queued(self) -> list[str]:
        messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
        return [str(message["Body"]) for message in messages]


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        table = dynamodb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (INPUT, OUTPUT, RESULTS):
            s3.create_bucket(Bucket=bucket)
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="composer-render")["QueueUrl"]
        clock = Clock()
        store = DynamoTaskStore(table, RETENTION, clock)
        results = ResultBucket(s3_client(REGION, None), RESULTS, 3600)
        tasks = CloudTasks(store, results, sqs, queue_url, TIMEOUT, clock)
        yield Cloud(
            clock, table, store, results, sqs, queue_url, tasks, s3, SourcePolicy(frozenset({INPUT, OUTPUT}), REGION)
        )
