"""The Submit handler with a fake Lambda context, on moto's in-process S3 and DynamoDB: the SQS batch of the
sample event parks its job and counts it, the answer is a partial batch response, and S3's test event is skipped."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from moto import mock_aws

from local_stack.lambda_seam import FakeLambdaContext
from poster_common import aws, observability, services
from tests.conftest import fixture_image, load_event
from tests.unit.domain.conftest import create_pk_sk_table

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import ModuleType

INPUT, OUTPUT = "poster-input", "poster-output"
ENVIRONMENT = {
    "INPUT_BUCKET": INPUT,
    "OUTPUT_BUCKET": OUTPUT,
    "IDEMPOTENCY_TABLE": "idempotency",
    "SLOT_TABLE": "slots",
    "DURATION_TABLE": "durations",
    "MODEL_MAX_IN_PROGRESS": "1",
}


@pytest.fixture
def submit(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The handler module, its environment's buckets and tables in moto, and its caches cold."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    from functions.submit import app

    caches = (aws.client, services.from_environment, app._start_job_once)
    with mock_aws():
        for cache in caches:
            cache.cache_clear()
        _create_resources()
        observability.metrics.clear_metrics()
        yield app
        for cache in caches:
            cache.cache_clear()


def _create_resources() -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    for bucket in (INPUT, OUTPUT):
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=INPUT, VersioningConfiguration={"Status": "Enabled"})
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    for table in ("slots", "durations"):
        create_pk_sk_table(dynamodb, table)
    dynamodb.create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def _upload_event() -> dict[str, Any]:
    """The sample batch, its notification naming the object version and ETag moto gave the upload."""
    s3 = boto3.client("s3", region_name="us-east-1")
    put = s3.put_object(Bucket=INPUT, Key="incoming/rocket.jpg", Body=fixture_image("rocket.jpg").read_bytes())
    event = load_event("submit_sqs_s3_put.json")
    (record,) = event["Records"]
    body = json.loads(record["body"])
    body["Records"][0]["s3"]["object"].update(versionId=put["VersionId"], eTag=put["ETag"].strip('"'))
    record["body"] = json.dumps(body)
    return event


def _context() -> FakeLambdaContext:
    return FakeLambdaContext("poster-submit", "arn:aws:lambda:us-east-1:123456789012:function:poster-submit", 512, 60)


def _metrics(output: str) -> dict[str, float]:
    """The EMF blobs Powertools printed: metric name → value."""
    blobs = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    names = [(blob, m["Name"]) for blob in blobs for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]]
    return {name: blob[name][0] if isinstance(blob[name], list) else blob[name] for blob, name in names}


def test_an_upload_is_parked_counted_and_answered_as_a_partial_batch_response(
    submit: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the provider's only slot is busy (so the dispatch after parking submits nothing)
    event = _upload_event()
    slots = services.from_environment().slots
    assert slots.acquire_slot("another-job", 600) is not None

    # WHEN the sample batch arrives
    response = submit.lambda_handler(event, _context())

    # THEN no record failed, in the shape Lambda's partial batch response takes
    assert response == {"batchItemFailures": []}
    # AND the uploaded object became one parked job, named after the object it came from
    (parked,) = slots.parked()
    assert parked.job["stem"] == "rocket"
    assert parked.job["source"]["key"] == "incoming/rocket.jpg"
    # AND the handler counted it, and reported the dispatch that found no free slot
    metrics = _metrics(capsys.readouterr().out)
    assert metrics["PosterParked"] == 1.0
    assert metrics["ProviderThrottled"] == 0.0
    assert "PosterSubmitted" not in metrics


def test_the_s3_test_event_is_skipped(submit: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN the s3:TestEvent S3 sends when a notification is configured
    event = load_event("submit_sqs_s3_test_event.json")

    # WHEN it arrives
    response = submit.lambda_handler(event, _context())

    # THEN the message succeeds (it is deleted, not retried) and nothing is parked or counted as a job
    assert response == {"batchItemFailures": []}
    assert services.from_environment().slots.parked() == []
    metrics = _metrics(capsys.readouterr().out)
    assert not {"PosterParked", "PosterRejected", "PosterSubmitted"} & set(metrics)


def _eventbridge_batch(name: str, **detail: Any) -> dict[str, Any]:
    """The sample batch ``name`` (an EventBridge event in an SQS record), its detail updated with ``detail``."""
    event = load_event(name)
    (record,) = event["Records"]
    body = json.loads(record["body"])
    body["detail"].update(detail)
    record["body"] = json.dumps(body)
    return event


def test_s3_eventbridge_and_poster_requested_samples_become_parked_jobs(
    submit: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the provider's only slot is busy, one upload (its key percent-encoded as EventBridge sends it) and a
    # photo outside the input prefix that an automation asks for in three formats
    s3 = boto3.client("s3", region_name="us-east-1")
    photo = fixture_image("rocket.jpg").read_bytes()
    put = s3.put_object(Bucket=INPUT, Key="incoming/spring sale.jpg", Body=photo)
    s3.put_object(Bucket=INPUT, Key="library/rocket.jpg", Body=photo)
    slots = services.from_environment().slots
    assert slots.acquire_slot("another-job", 600) is not None
    created = _eventbridge_batch(
        "submit_sqs_eventbridge_object_created.json",
        bucket={"name": INPUT},
        object={"key": "incoming/spring%20sale.jpg", "version-id": put["VersionId"], "etag": put["ETag"].strip('"')},
    )
    requested = _eventbridge_batch("submit_sqs_poster_requested.json", key="library/rocket.jpg")

    # WHEN both batches arrive
    answers = [submit.lambda_handler(event, _context()) for event in (created, requested)]

    # THEN no record failed, the upload is one job and the request one job per format, answering its correlation id
    assert answers == [{"batchItemFailures": []}] * 2
    parked = [p.job for p in slots.parked()]
    assert [j["source"]["key"] for j in parked] == ["incoming/spring sale.jpg"] + ["library/rocket.jpg"] * 3
    assert [j["delivery"]["format"] for j in parked] == [None, "square", "story", "banner-4x1"]
    assert {j["delivery"]["correlation_id"] for j in parked[1:]} == {"order-4711"}
    metrics = _metrics(capsys.readouterr().out)
    assert metrics["PosterParked"] == 1.0  # one per batch, each flushed by its own invocation


def test_a_poster_request_naming_only_an_object_outside_the_prefix_is_still_a_job(
    submit: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN an event with no spec and no correlation id, for a photo outside the input prefix (an upload there
    # would not be ours; a request always is)
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=INPUT, Key="library/rocket_launch.jpg", Body=fixture_image("rocket.jpg").read_bytes()
    )
    slots = services.from_environment().slots
    assert slots.acquire_slot("another-job", 600) is not None
    event = load_event("submit_sqs_poster_requested.json")
    (record,) = event["Records"]
    body = json.loads(record["body"])
    body["detail"] = {"key": "library/rocket_launch.jpg"}
    record["body"] = json.dumps(body)

    # WHEN it arrives
    assert submit.lambda_handler(event, _context()) == {"batchItemFailures": []}

    # THEN it is one parked job, its title made from the file name
    (parked,) = slots.parked()
    assert parked.job["source"]["key"] == "library/rocket_launch.jpg"
    assert parked.job["spec"]["title"] == ["Rocket Launch"]
