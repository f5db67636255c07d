"""Upload → poster (or failure record) through the real state machine, one scenario per test."""

from __future__ import annotations

import json
import time
from email.header import Header
from io import BytesIO
from typing import TYPE_CHECKING

import pytest
from PIL import Image

from poster_common import services
from poster_common.finalize import finalize_job
from poster_common.payloads import ExecutionState
from tests.e2e.conftest import outcome, submissions_for, upload_job

if TYPE_CHECKING:
    from local_stack.stack import LocalStack

pytestmark = pytest.mark.e2e


def poster_bytes(stack: LocalStack, key: str) -> bytes:
    return bytes(stack.client("s3").get_object(Bucket=stack.output_bucket, Key=key)["Body"].read())


def test_upload_becomes_a_poster_with_manifest_and_event(stack: LocalStack, stem: str) -> None:
    # GIVEN a photo with a sidecar (subtitle, text, underlay, two variants)
    sidecar = {"title": ["Launch Day"], "subtitle": ["Falcon 9"], "text": ["WATCH LIVE"], "underlay": 1, "n": 2}
    key = upload_job(stack, stem, sidecar)
    # WHEN the pipeline runs
    result = outcome(stack, stem)
    # THEN two real posters of the photo's size land under deterministic keys, with provenance
    assert result.status == "SUCCEEDED", result.failure
    manifest = result.manifest
    assert manifest is not None
    assert [r["key"] for r in manifest["results"]] == [f"posters/{stem}/0.png", f"posters/{stem}/1.png"]
    for entry in manifest["results"]:
        image = Image.open(BytesIO(poster_bytes(stack, entry["key"])))
        assert image.size == (640, 427)
    assert manifest["source"]["key"] == key
    assert manifest["source"]["version_id"]
    assert manifest["model"] == "wanx-ast"
    assert manifest["task_id"] and manifest["request_id"]
    assert manifest["spec"]["title"] == ["Launch Day"]
    assert manifest["timings"]["task_end_time"]
    # AND one execution, one submission, one event
    assert [e.status for e in result.executions] == ["SUCCEEDED"]
    assert [s["accepted"] for s in submissions_for(stack, key)] == [1]
    events = [e["detail"] for e in stack.events() if e["detail"]["source_key"] == key]
    assert len(events) == 1
    assert events[0]["outcome"] == "SUCCEEDED"
    assert f"posters/{stem}/manifest.json" in events[0]["output_keys"]


def test_duplicate_events_submit_once(stack: LocalStack, stem: str) -> None:
    # GIVEN an upload whose S3 notification is delivered three times
    key = upload_job(stack, stem, {"title": ["Once Only"]})
    head = stack.client("s3").head_object(Bucket=stack.input_bucket, Key=key)
    body = json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {
                        "bucket": {"name": stack.input_bucket},
                        "object": {
                            "key": key,
                            "eTag": head["ETag"].strip('"'),
                            "versionId": head.get("VersionId"),
                            "size": 1,
                        },
                    },
                }
            ]
        }
    )
    for _ in range(2):
        stack.client("sqs").send_message(QueueUrl=stack.queue_url, MessageBody=body)
    # WHEN the pipeline runs
    result = outcome(stack, stem)
    # THEN the API saw exactly one submission and there is one execution
    assert result.status == "SUCCEEDED"
    assert [s["accepted"] for s in submissions_for(stack, key)] == [1]
    assert len([e for e in stack.executions() if e.stem == stem]) == 1


def test_api_validation_error_is_recorded_and_not_retried(stack: LocalStack, stem: str) -> None:
    key = upload_job(stack, stem, {"title": ["[reject-400] Broken"]})
    result = outcome(stack, stem)
    assert result.status == "FAILED"
    failure = result.failure
    assert failure is not None
    assert (failure["stage"], failure["code"]) == ("submit", "InvalidParameter")
    assert failure["message"] == "Invalid URL 'https:xxx.png': No host supplied"
    assert failure["request_id"]
    assert failure["source"]["key"] == key
    (record,) = submissions_for(stack, key)
    assert (record["attempts"], record["accepted"]) == (1, 0)
    assert result.executions == []


def test_our_own_validation_uses_the_api_message(stack: LocalStack, stem: str) -> None:
    key = upload_job(stack, stem, {"title": []})
    result = outcome(stack, stem)
    assert result.failure is not None
    assert (result.failure["code"], result.failure["message"]) == ("InvalidParameter", "Title list is empty.")
    assert submissions_for(stack, key) == []


def test_throttled_submission_is_retried_to_success(stack: LocalStack, stem: str) -> None:
    key = upload_job(stack, stem, {"title": ["[throttle-twice] Busy"]})
    result = outcome(stack, stem)
    assert result.status == "SUCCEEDED"
    (record,) = submissions_for(stack, key)
    assert (record["attempts"], record["accepted"]) == (3, 1)


@pytest.mark.parametrize(
    ("marker", "code", "message"),
    [("[task-failed]", "InternalError", "Inference error"), ("[task-unknown]", "TaskUnknown", None)],
)
def test_task_that_does_not_succeed_is_recorded(
    stack: LocalStack, stem: str, marker: str, code: str, message: str | None
) -> None:
    upload_job(stack, stem, {"title": [f"{marker} Doomed"]})
    result = outcome(stack, stem)
    assert result.failure is not None
    assert (result.failure["stage"], result.failure["code"]) == ("task", code)
    assert result.failure["task_id"]
    if message:
        assert result.failure["message"] == message
    assert [e.status for e in result.executions] == ["FAILED"]


def test_partial_success_copies_what_succeeded(stack: LocalStack, stem: str) -> None:
    upload_job(stack, stem, {"title": ["[partial] Half"], "n": 2})
    result = outcome(stack, stem)
    assert result.status == "PARTIAL"
    manifest = result.manifest
    assert manifest is not None
    assert [(r["index"], r["status"]) for r in manifest["results"]] == [(0, "COPIED"), (1, "FAILED")]
    assert manifest["results"][1]["code"] == "DataInspectionFailed"
    assert poster_bytes(stack, f"posters/{stem}/0.png").startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("marker", "code"), [("[off-list]", "ResultHostNotAllowed"), ("[redirect-off-list]", "ResultHostNotAllowed")]
)
def test_results_off_the_allow_list_are_refused_and_recorded(
    stack: LocalStack, stem: str, marker: str, code: str
) -> None:
    upload_job(stack, stem, {"title": [f"{marker} Hostile"]})
    result = outcome(stack, stem)
    assert result.failure is not None
    assert (result.failure["stage"], result.failure["code"]) == ("finalize", "NoResultCopied")
    assert code in result.failure["message"]
    assert "Signature" not in json.dumps(result.failure)
    assert result.manifest is not None
    assert result.manifest["results"][0]["code"] == code
    listed = stack.client("s3").list_objects_v2(Bucket=stack.output_bucket, Prefix=f"posters/{stem}/")
    assert [o["Key"] for o in listed.get("Contents", [])] == [f"posters/{stem}/manifest.json"]


def test_maximum_wait_exceeded_is_recorded(stack: LocalStack, stem: str) -> None:
    upload_job(stack, stem, {"title": ["[slow] Forever"]})
    result = outcome(stack, stem, timeout=120)
    assert result.failure is not None
    assert (result.failure["stage"], result.failure["code"]) == ("timeout", "TimedOut")


def test_non_ascii_key_and_cjk_sidecar(stack: LocalStack, stem: str) -> None:
    cjk_stem = f"海报 测试+{stem}"
    upload_job(stack, cjk_stem, {"title": ["春季大促"], "subtitle": ["全场八折"], "text": ["立即选购 SHOP NOW"]})
    result = outcome(stack, cjk_stem)
    assert result.status == "SUCCEEDED", result.failure
    assert result.manifest is not None
    assert result.manifest["source"]["key"] == f"incoming/{cjk_stem}.jpg"
    assert result.manifest["spec"]["title"] == ["春季大促"]
    assert poster_bytes(stack, f"posters/{cjk_stem}/0.png").startswith(b"\x89PNG")


def test_cjk_title_in_s3_metadata(stack: LocalStack, stem: str) -> None:
    title = Header("领养日", "utf-8").encode()  # RFC 2047, the form S3 gives non-ASCII metadata
    upload_job(stack, stem, metadata={"poster-title": title, "poster-subtitle": "%E6%B8%A9%E6%9A%96"})
    result = outcome(stack, stem)
    assert result.manifest is not None
    assert result.manifest["spec"]["title"] == ["领养日"]
    assert result.manifest["spec"]["subtitle"] == ["温暖"]


def test_title_from_the_file_name(stack: LocalStack, stem: str) -> None:
    upload_job(stack, stem)
    result = outcome(stack, stem)
    assert result.manifest is not None
    assert result.manifest["spec"]["title"] == [stem.replace("-", " ").title()]


def test_sidecar_upload_reruns_its_image(stack: LocalStack, stem: str) -> None:
    upload_job(stack, stem, {"title": ["First"]})
    assert outcome(stack, stem).status == "SUCCEEDED"
    stack.upload(json.dumps({"title": ["Second"]}).encode(), f"incoming/{stem}.poster.json")
    for _ in range(60):
        runs = [e for e in stack.executions() if e.stem == stem]
        if len(runs) == 2 and all(e.status != "RUNNING" for e in runs):
            break
        time.sleep(0.5)
    titles = sorted(e.input["job"]["spec"]["title"][0] for e in stack.executions() if e.stem == stem)
    assert titles == ["First", "Second"]


def test_unparseable_message_goes_to_the_dlq(stack: LocalStack) -> None:
    stack.client("sqs").send_message(QueueUrl=stack.queue_url, MessageBody="this is not an S3 event")
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and "this is not an S3 event" not in stack.dlq_messages():
        time.sleep(1)
    assert "this is not an S3 event" in stack.dlq_messages()


def test_finalize_rerun_writes_the_same_objects(stack: LocalStack, stem: str) -> None:
    # GIVEN a finished job
    upload_job(stack, stem, {"title": ["Twice"], "n": 2})
    result = outcome(stack, stem)
    assert result.status == "SUCCEEDED"
    s3 = stack.client("s3")

    def snapshot() -> dict[str, str]:
        listed = s3.list_objects_v2(Bucket=stack.output_bucket, Prefix=f"posters/{stem}/")["Contents"]
        return {o["Key"]: o["ETag"] for o in listed}

    before = snapshot()
    # WHEN Finalize runs again on the same execution state (as a retry would), with Finalize's own role
    (execution,) = result.executions
    state_at_finalize = {k: v for k, v in execution.output.items() if k != "finalize"}
    with stack.as_function("FinalizeFunction"):
        again = finalize_job(ExecutionState.from_dict(state_at_finalize), services.from_environment(), lambda: 600_000)
    # THEN it writes byte-identical objects under the same keys
    assert again["output_keys"] == [f"posters/{stem}/0.png", f"posters/{stem}/1.png"]
    assert snapshot() == before
