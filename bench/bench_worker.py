"""The deployed composer's render worker, timed: p50 of one task inside the worker, against Pillow in the same run.

A task is what the worker does for one queue message (`poster_composer.cloud.worker.RenderWorker.run`): claim
the DynamoDB item, download the background (an in-memory fetcher here: the network is not the worker's
work), inspect it, render one poster, write the PNG to the result bucket and finish the item. DynamoDB and
S3 are moto's in-process backends.

Sizes: 1024×1024, and a 4000×3000 upload, which Submit first fits inside the API's 3840×2160 (→ 2880×2160:
the worker never sees the original). Baseline: Pillow's own decode + PNG encode of the same image, same run.

Usage: ``python bench/bench_worker.py [--repeat 15]``
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image

if TYPE_CHECKING:
    from poster_composer.input_media import FetchLimits

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "events" / "samples" / "backgrounds" / "rocket.jpg"
BUCKETS = ("poster-input", "poster-output")


def jpeg(size: tuple[int, int]) -> bytes:
    with Image.open(PHOTO) as image:
        resized = image.convert("RGB").resize(size)
    buffer = io.BytesIO()
    resized.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def pillow_round_trip(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        image.save(io.BytesIO(), "PNG")


def time_worker(data: bytes, repeat: int) -> list[float]:
    import boto3
    from moto import mock_aws

    from poster_composer.cloud.results import ResultBucket
    from poster_composer.cloud.service import cloud_config, source_policy
    from poster_composer.cloud.settings import CloudSettings
    from poster_composer.cloud.store import DynamoTaskStore
    from poster_composer.cloud.worker import RenderWorker
    from poster_composer.production import render_with_composer
    from poster_composer.task_view import TaskStatus
    from poster_composer.validation import SynthesisRequest

    def fetch(url: str, field: str, limits: FetchLimits) -> bytes:
        return data

    settings = CloudSettings("tasks", "", "results", frozenset(BUCKETS), "secret", "us-east-1")
    with mock_aws():
        dynamodb = boto3.resource("dynamodb", region_name="us-east-1")
        table = dynamodb.create_table(
            TableName="tasks",
            KeySchema=[{"AttributeName": "task_id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "task_id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="results")
        store = DynamoTaskStore(table, 86_400, time.time)
        worker = RenderWorker(
            store,
            ResultBucket(s3, "results", 3600),
            source_policy(settings),
            fetch,
            render_with_composer,
            cloud_config(settings),
            stale_after=300,
        )
        request = SynthesisRequest(
            model="wanx-ast",
            image_url="https://poster-input.s3.us-east-1.amazonaws.com/incoming/photo.jpg",
            title=("Launch night",),
            subtitle=("Friday 9 pm at the pad",),
        )
        timings = []
        for _ in range(repeat + 1):
            task = store.create(request)
            started = time.perf_counter()
            status = worker.run(task.task_id)
            timings.append(time.perf_counter() - started)
            if status is not TaskStatus.SUCCEEDED:
                raise RuntimeError(f"the task ended {status}: {store.get(task.task_id)}")
    return timings[1:]  # the first run loads fonts and warms caches: a cold start, not a task


def p50(values: list[float]) -> float:
    return statistics.median(values) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    print("| background | worker task p50 | Pillow decode + PNG encode p50 | ratio |")
    print("|---|---|---|---|")
    for label, size in (("1024×1024", (1024, 1024)), ("4000×3000 upload → 2880×2160", (2880, 2160))):
        data = jpeg(size)
        worker = p50(time_worker(data, args.repeat))
        baseline = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            pillow_round_trip(data)
            baseline.append(time.perf_counter() - started)
        pillow = p50(baseline)
        print(f"| {label} JPEG | {worker:.0f} ms | {pillow:.0f} ms | {worker / pillow:.2f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
