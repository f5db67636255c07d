"""What a poster could not place travels with its result through the task table (never silently dropped)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from poster_composer.cloud.worker import RenderWorker
from poster_composer.fault_injector import TaskPlan
from poster_composer.faults import ComposerConfig
from poster_composer.production import RenderedPng
from tests.unit.composer_cloud.conftest import INPUT, REGION, RecordingFetcher, png, synthesis

if TYPE_CHECKING:
    from tests.unit.composer_cloud.conftest import Cloud

BACKGROUND = f"https://{INPUT}.s3.{REGION}.amazonaws.com/incoming/a.jpg?X-Amz-Signature=sig"
DROPPED = {"role": "subtitle", "index": 0, "text": "A subtitle too long for a 64 px canvas"}


class DroppingRenderer:
    def __call__(self, background: bytes, request: Any, logo: bytes | None) -> list[RenderedPng]:
        return [RenderedPng(png(), (DROPPED,)), RenderedPng(png())]


def test_a_dropped_block_is_reported_with_its_result(cloud: Cloud) -> None:
    task = cloud.tasks.submit(synthesis(image_url=BACKGROUND, n=2), TaskPlan())
    worker = RenderWorker(
        cloud.store, cloud.results, cloud.sources, RecordingFetcher(), DroppingRenderer(), ComposerConfig(), 300.0
    )

    worker.run(task.task_id)
    results = cloud.tasks.view(task.task_id, "")["output"]["results"]

    assert results[0]["dropped"] == [DROPPED]
    assert "dropped" not in results[1]
