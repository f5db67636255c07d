"""A fixture photo becomes a poster through the deployed-shape composer service (n=1, n=2, a sidecar with a logo)."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from tests.conftest import fixture_image
from tests.e2e.composer_service.conftest import composer_names

if TYPE_CHECKING:
    from local_stack.stack import LocalStack
    from tests.e2e.composer_service.conftest import Posters

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize(("name", "count"), [("plain", 1), ("n2", 2), ("logo", 1)])
def test_an_upload_becomes_posters_through_the_composer_service(
    stack: LocalStack, posters: Posters, name: str, count: int
) -> None:
    # GIVEN the fixture photo uploaded (with a sidecar asking for n=2, or naming a logo in the input bucket)
    result = posters.outcomes[name]
    # THEN the job succeeded with one copied PNG per variant, each the size of the photo
    assert result.status == "SUCCEEDED", result.failure
    assert result.manifest is not None
    assert [entry["status"] for entry in result.manifest["results"]] == ["COPIED"] * count
    assert result.manifest["model"] == "wanx-ast"
    with Image.open(fixture_image("rocket.jpg")) as photo:
        size = photo.size
    s3 = stack.client("s3")
    for entry in result.manifest["results"]:
        body = s3.get_object(Bucket=stack.output_bucket, Key=entry["key"])["Body"].read()
        with Image.open(io.BytesIO(body)) as poster:
            assert (poster.format, poster.size) == ("PNG", size)
    # ... rendered by the service: its task is SUCCEEDED in ComposerTaskTable, its results in ComposerResultBucket
    names = composer_names(stack)
    task_id = result.manifest["task_id"]
    item = stack.client("dynamodb").get_item(TableName=names["task_table"], Key={"task_id": {"S": task_id}})["Item"]
    assert item["status"]["S"] == "SUCCEEDED"
    assert int(item["expires_at"]["N"]) - float(item["submit_time"]["N"]) == pytest.approx(86_400, abs=1)
    request = json.loads(item["request"]["S"])
    assert (request["n"], request["logo"] is not None) == (count, name == "logo")
    stored = s3.list_objects_v2(Bucket=names["result_bucket"], Prefix=f"results/{task_id}/")
    assert sorted(o["Key"] for o in stored.get("Contents", [])) == [
        f"results/{task_id}/{index}.png" for index in range(count)
    ]


def test_the_logo_was_fetched_from_the_input_bucket_and_composited(stack: LocalStack, posters: Posters) -> None:
    # GIVEN the same photo rendered with and without the logo (one title each: the layouts differ anyway),
    # THEN the logo job's task carried a presigned URL of the logo's key in the input bucket
    result = posters.outcomes["logo"]
    assert result.manifest is not None and result.manifest["spec"]["logo_key"] == "assets/composer-e2e-logo.png"
    names = composer_names(stack)
    item = stack.client("dynamodb").get_item(
        TableName=names["task_table"], Key={"task_id": {"S": result.manifest["task_id"]}}
    )["Item"]
    logo_url = json.loads(item["request"]["S"])["logo"]
    assert f"/{stack.input_bucket}/assets/composer-e2e-logo.png?" in logo_url


def test_the_service_ran_as_deployed_api_and_worker_functions(stack: LocalStack, posters: Posters) -> None:
    # GIVEN the jobs above: every create and query went through the HTTP API's function, every render through
    # the worker function fed by the render queue (nothing else answers the pipeline)
    counts = stack.seam.counts()
    assert counts[f"{stack.stack_name}-composer-api"] >= 2 * len(posters.jobs)
    assert counts[f"{stack.stack_name}-ComposerWorkerFunction"] >= len(posters.jobs)
    assert stack.composer is None  # no stand-in server
    names = composer_names(stack)
    assert stack.queue_depth(names["render_dlq"]) == 0
