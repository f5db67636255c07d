"""``WebhookIncludeLinks=true``: the payload carries a presigned GET of every output key, which downloads the object
(signed by Finalize's role, under moto's IAM enforcement); a failed job carries an empty list; and Finalize's role may
read the posters it links, nothing more."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
import requests
from botocore.exceptions import ClientError

from tests.e2e.completion_webhook_links.conftest import LINK_SECONDS
from tests.e2e.webhook_receiver import Jobs, event_detail

if TYPE_CHECKING:
    from local_stack.stack import LocalStack
    from tests.e2e.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.e2e


def test_every_output_key_has_a_link_that_downloads_it(
    jobs: Jobs, receiver: WebhookReceiver, stack: LocalStack
) -> None:
    (request,) = receiver.for_source(jobs.keys["ok"])
    payload = request.payload
    assert payload == event_detail(jobs, jobs.keys["ok"])
    assert payload["outcome"] == "SUCCEEDED"
    links = payload["links"]
    assert [link["key"] for link in links] == payload["output_keys"]
    s3 = stack.client("s3")
    for link in links:
        # WHEN the receiver downloads the link, with no AWS credentials of its own
        answer = requests.get(link["url"], verify=os.environ.get("AWS_CA_BUNDLE", True), timeout=(3.05, 30))
        # THEN it gets the object
        assert answer.status_code == 200, (link["key"], answer.text[:200])
        stored = s3.get_object(Bucket=stack.output_bucket, Key=link["key"])["Body"].read()
        assert answer.content == stored
        expires_at = datetime.fromisoformat(link["expires_at"].replace("Z", "+00:00"))
        assert timedelta(seconds=LINK_SECONDS - 300) < expires_at - datetime.now(UTC) <= timedelta(seconds=LINK_SECONDS)


def test_a_tampered_link_is_refused(jobs: Jobs, receiver: WebhookReceiver) -> None:
    (request,) = receiver.for_source(jobs.keys["ok"])
    link = request.payload["links"][0]["url"]
    other = link.replace("/0.png?", "/manifest.json?")
    answer = requests.get(other, verify=os.environ.get("AWS_CA_BUNDLE", True), timeout=(3.05, 30))
    assert answer.status_code == 403


def test_a_failed_job_has_an_empty_links_list(jobs: Jobs, receiver: WebhookReceiver) -> None:
    (request,) = receiver.for_source(jobs.keys["bad"])
    payload = request.payload
    assert (payload["outcome"], payload["failure_code"], payload["links"]) == ("FAILED", "NotAnImage", [])


def test_finalize_may_read_the_posters_it_links_and_nothing_else(jobs: Jobs, stack: LocalStack) -> None:
    s3 = stack.role_client("FinalizeFunction", "s3")
    poster = jobs.outcomes["ok"].manifest_key.replace("manifest.json", "0.png")
    assert s3.get_object(Bucket=stack.output_bucket, Key=poster)["Body"].read().startswith(b"\x89PNG")
    for bucket, key in (
        (stack.output_bucket, jobs.outcomes["bad"].failure_key),
        (stack.input_bucket, jobs.keys["ok"]),
    ):
        with pytest.raises(ClientError) as refused:
            s3.get_object(Bucket=bucket, Key=key)
        assert refused.value.response["Error"]["Code"] == "AccessDenied", key
