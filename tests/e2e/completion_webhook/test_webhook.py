"""The completion webhook end to end: every finished job reaches the receiver once, with the stack's key and the
documented payload (README "Webhooks"); a receiver that keeps failing gets EventBridge's retries, then the DLQ."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from tests.conftest import fixture_image
from tests.e2e.conftest import request_poster
from tests.e2e.webhook_receiver import KEY_HEADER, Jobs, event_detail, webhook_key

if TYPE_CHECKING:
    from typing import Any

    from local_stack.stack import LocalStack
    from tests.e2e.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

PAYLOAD_FIELDS = {
    "job_id",
    "correlation_id",
    "format",
    "source_bucket",
    "source_key",
    "outcome",
    "output_keys",
    "failure_code",
    "dropped",
}


def test_the_key_is_generated_by_the_stack_and_is_not_the_api_key(stack: LocalStack) -> None:
    key = webhook_key(stack)
    assert key != stack.api_key
    assert key.isalnum() and len(key) >= 32  # header-safe (ExcludePunctuation)


def test_moto_holds_the_destination_and_its_api_key_connection(stack: LocalStack, receiver: WebhookReceiver) -> None:
    events = stack.client("events")
    (destination,) = events.list_api_destinations()["ApiDestinations"]
    assert (destination["InvocationEndpoint"], destination["HttpMethod"]) == (receiver.url, "POST")
    connection = events.describe_connection(Name=destination["ConnectionArn"].split("/")[1])
    assert connection["AuthorizationType"] == "API_KEY"


def test_a_poster_reaches_the_receiver_once_with_the_key_and_the_documented_payload(
    jobs: Jobs, receiver: WebhookReceiver, stack: LocalStack
) -> None:
    outcome = jobs.outcomes["ok"]
    assert outcome.succeeded and outcome.manifest is not None
    # THEN one POST, with the stack's key, answered 2xx
    (request,) = receiver.for_source(jobs.keys["ok"])
    assert (request.method, request.path, request.status) == ("POST", "/hooks/poster", 204)
    assert request.headers[KEY_HEADER] == webhook_key(stack)
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    # AND the payload is the completion event's detail (InputPath $.detail), in its documented shape
    payload: dict[str, Any] = request.payload
    assert payload == event_detail(jobs, jobs.keys["ok"])
    assert payload.keys() >= PAYLOAD_FIELDS
    assert payload["job_id"] == outcome.manifest["job_id"]
    assert (payload["source_bucket"], payload["source_key"]) == (stack.input_bucket, jobs.keys["ok"])
    assert payload["outcome"] == "SUCCEEDED"
    stem = jobs.keys["ok"][len("incoming/") : -len(".jpg")]
    keys = payload["output_keys"]
    assert keys[-1] == outcome.manifest_key and any(key.endswith(".png") for key in keys)
    s3 = stack.client("s3")
    for key in keys:  # every key is the job's and exists
        assert key.startswith(f"posters/{stem}/")
        s3.head_object(Bucket=stack.output_bucket, Key=key)
    assert (payload["failure_code"], payload["dropped"]) == (None, [])
    assert (payload["correlation_id"], payload["format"]) == (None, None)  # an upload, in one format
    assert "links" not in payload  # WebhookIncludeLinks is off


def test_a_failure_record_reaches_the_receiver_with_its_code(jobs: Jobs, receiver: WebhookReceiver) -> None:
    failure = jobs.outcomes["bad"].failure
    assert failure is not None and failure["code"] == "NotAnImage"
    (request,) = receiver.for_source(jobs.keys["bad"])
    assert request.status == 204
    payload = request.payload
    assert payload == event_detail(jobs, jobs.keys["bad"])
    assert (payload["outcome"], payload["failure_code"], payload["output_keys"]) == ("FAILED", "NotAnImage", [])
    assert payload["job_id"] == failure["job_id"]
    assert "links" not in payload


def test_a_receiver_that_keeps_failing_gets_the_retries_then_the_dlq(
    jobs: Jobs, receiver: WebhookReceiver, dead_letters: dict[str, dict[str, Any]], stack: LocalStack
) -> None:
    key = jobs.keys["hook503"]
    assert jobs.outcomes["hook503"].succeeded  # the job itself is fine: only its delivery fails
    # THEN the first try and two retries (the shortened policy), the same body and key each time
    requests = receiver.for_source(key)
    assert [r.status for r in requests] == [503, 503, 503]
    assert len({r.body for r in requests}) == 1
    assert {r.headers[KEY_HEADER] for r in requests} == {webhook_key(stack)}
    # AND the event lands in the webhook DLQ as EventBridge puts it there
    dead = dead_letters[key]
    assert dead["event"]["detail-type"] == "Poster job finished"
    assert dead["event"]["detail"] == requests[0].payload
    attributes = dead["attributes"]
    assert attributes["ERROR_CODE"] == "HTTP_503"
    assert attributes["RETRY_ATTEMPTS"] == "2"
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attributes["RULE_ARN"].endswith(":rule/poster-local-WebhookRule")
    assert ":api-destination/poster-local-WebhookDestination/" in attributes["TARGET_ARN"]


def test_a_client_error_is_not_retried(
    jobs: Jobs, receiver: WebhookReceiver, dead_letters: dict[str, dict[str, Any]]
) -> None:
    key = jobs.keys["hook400"]
    assert [r.status for r in receiver.for_source(key)] == [400]
    attributes = dead_letters[key]["attributes"]
    assert (attributes["ERROR_CODE"], attributes["RETRY_ATTEMPTS"]) == ("HTTP_400", "0")
    assert "EXHAUSTED_RETRY_CONDITION" not in attributes


def test_only_the_undelivered_are_dead_lettered_and_nothing_went_unauthenticated(
    jobs: Jobs, receiver: WebhookReceiver, dead_letters: dict[str, dict[str, Any]]
) -> None:
    assert set(dead_letters) == {jobs.keys["hook503"], jobs.keys["hook400"]}
    by_status = {d.status for d in jobs.deliveries}
    assert by_status == {"DELIVERED", "DEAD_LETTERED"}
    assert all(r.status != 401 for r in receiver.received)  # every request carried the right key


def test_an_event_request_is_answered_per_format_with_its_correlation_id(
    stack: LocalStack, receiver: WebhookReceiver
) -> None:
    # GIVEN an automation's "Poster requested" event for a photo in two formats
    key = "library/webhook-request.jpg"
    stack.upload(fixture_image("rocket.jpg"), key)
    request_poster(
        stack, {"key": key, "correlation_id": "order-77", "spec": {"title": "Hi", "formats": ["square", "story"]}}
    )
    # WHEN both formats have ended
    result = stack.wait_for_outcome("library/webhook-request", timeout=120)
    assert result.status == "SUCCEEDED", result.manifest
    deadline = time.monotonic() + 30
    while len(receiver.for_source(key)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    # THEN the receiver got one delivery per format, each answering the request's correlation id
    payloads = [r.payload for r in receiver.for_source(key)]
    assert sorted(p["format"] for p in payloads) == ["square", "story"]
    assert {(p["correlation_id"], p["outcome"]) for p in payloads} == {("order-77", "SUCCEEDED")}
