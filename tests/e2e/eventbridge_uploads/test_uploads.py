"""Uploads routed by EventBridge reach the same Submit, with the same idempotency and the same failure records."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from tests.conftest import fixture_image
from tests.e2e.conftest import outcome, request_poster, upload_job

if TYPE_CHECKING:
    from local_stack.stack import LocalStack

pytestmark = pytest.mark.e2e


def test_the_bucket_does_not_notify_the_queue_itself(stack: LocalStack) -> None:
    # (moto 5.2.5 does not echo EventBridgeConfiguration back; the uploads below show it is on)
    configuration = stack.client("s3").get_bucket_notification_configuration(Bucket=stack.input_bucket)
    assert not configuration.get("QueueConfigurations")


def test_upload_becomes_a_poster_through_eventbridge(stack: LocalStack, stem: str) -> None:
    # GIVEN an upload with a sidecar, under a key with a space and a plus (EventBridge encodes keys its own way)
    key = upload_job(stack, f"{stem} a+b", {"title": ["Via EventBridge"], "formats": ["square"]})
    # WHEN the pipeline runs
    result = outcome(stack, f"{stem} a+b", timeout=120)
    # THEN the poster and the manifest are where an S3-notified upload's would be
    assert result.manifest is not None and result.manifest["outcome"] == "SUCCEEDED", result.manifest
    assert result.manifest["source"]["key"] == key
    assert result.manifest["output_keys"] == [f"posters/{stem} a+b/square/0.png"]


def test_an_upload_outside_the_prefix_is_not_routed(stack: LocalStack, stem: str) -> None:
    stack.upload(fixture_image("rocket.jpg"), f"library/{stem}.jpg")
    stack.wait_until_queues_drain()
    assert stack.outcomes({f"library/{stem}"}) == {}


def test_the_same_upload_by_event_and_by_request_submits_once(stack: LocalStack, stem: str) -> None:
    # GIVEN an upload (routed by EventBridge) and a "Poster requested" event for the same version and spec
    key = upload_job(stack, stem, {"title": ["One Job"]})
    version = stack.client("s3").head_object(Bucket=stack.input_bucket, Key=key)["VersionId"]
    request_poster(stack, {"key": key, "version_id": version, "spec": {"title": ["One Job"]}})
    # WHEN both have been handled
    result = outcome(stack, stem, timeout=120)
    stack.wait_until_queues_drain()
    # THEN one execution made the poster
    assert result.status == "SUCCEEDED"
    assert len([e for e in stack.executions() if e.stem == stem]) == 1


def test_a_bad_sidecar_still_ends_as_a_failure_record(stack: LocalStack, stem: str) -> None:
    stack.upload(json.dumps({"title": ["x"], "n": 7}).encode(), f"incoming/{stem}.poster.json")
    stack.upload(fixture_image("rocket.jpg"), f"incoming/{stem}.jpg")
    result = outcome(stack, stem, timeout=60)
    assert result.failure is not None and result.failure["code"] == "InvalidParameter"
