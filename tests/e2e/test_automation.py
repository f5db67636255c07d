"""Jobs from EventBridge, several formats per request, brand defaults: through the real state machine.

"Poster requested" events are put on moto's default bus; the template's rule (created in moto by the local
stack) routes them into the upload queue, as it does deployed. Every new path has its bad-input cases: each
ends as a failure record with a specific code, never silently.
"""

from __future__ import annotations

import json
from io import BytesIO
from typing import TYPE_CHECKING, Any

import pytest
from PIL import Image

from tests.conftest import fixture_image
from tests.e2e.conftest import outcome, request_poster, submissions_for, upload_job

if TYPE_CHECKING:
    from local_stack.stack import LocalStack

pytestmark = pytest.mark.e2e


def _image_size(stack: LocalStack, key: str) -> tuple[int, int]:
    body = stack.client("s3").get_object(Bucket=stack.output_bucket, Key=key)["Body"].read()
    return Image.open(BytesIO(body)).size


def _library_photo(stack: LocalStack, stem: str, image: str = "rocket.jpg") -> str:
    """A photo outside the input prefix: only an event makes a poster of it."""
    key = f"library/{stem}.jpg"
    stack.upload(fixture_image(image), key)
    return key


def _events_of(stack: LocalStack, key: str) -> list[dict[str, Any]]:
    return [e["detail"] for e in stack.events() if e["detail"]["source_key"] == key]


def test_event_with_formats_makes_one_poster_set_per_format_in_one_manifest(stack: LocalStack, stem: str) -> None:
    # GIVEN a photo outside the input prefix and an automation's request for three formats
    key = _library_photo(stack, stem)
    request_poster(
        stack,
        {
            "key": key,
            "correlation_id": f"order-{stem}",
            "spec": {"title": ["Launch Day"], "subtitle": "Falcon 9", "formats": ["square", "story", "1920*1080"]},
        },
    )
    # WHEN the pipeline runs
    result = outcome(stack, f"library/{stem}", timeout=120)
    # THEN one manifest names every format, each rendered at its size under its own folder
    manifest = result.manifest
    assert manifest is not None and manifest["outcome"] == "SUCCEEDED", manifest
    assert manifest["correlation_id"] == f"order-{stem}"
    assert set(manifest["formats"]) == {"square", "story", "1920x1080"}
    sizes = {"square": (1080, 1080), "story": (1080, 1920), "1920x1080": (1920, 1080)}
    for label, size in sizes.items():
        entry = manifest["formats"][label]
        assert entry["outcome"] == "SUCCEEDED"
        assert entry["output_keys"] == [f"posters/library/{stem}/{label}/0.png"]
        assert _image_size(stack, entry["output_keys"][0]) == size
    # AND each format was one provider task, and each answered the request's correlation id
    assert [s["accepted"] for s in submissions_for(stack, key)] == [3]
    events = _events_of(stack, key)
    assert sorted(e["format"] for e in events) == sorted(sizes)
    assert {e["correlation_id"] for e in events} == {f"order-{stem}"}
    assert {e["outcome"] for e in events} == {"SUCCEEDED"}


def test_a_format_that_fails_does_not_fail_the_others(stack: LocalStack, stem: str) -> None:
    # GIVEN a two-format request whose first submission the provider refuses
    key = upload_job(stack, stem, {"title": ["Only one [reject-first]"], "formats": ["square", "landscape"]})
    # WHEN the pipeline runs
    result = outcome(stack, stem, timeout=120)
    # THEN the manifest says which format failed and why, and the other one is a poster
    manifest = result.manifest
    assert manifest is not None and manifest["outcome"] == "PARTIAL", manifest
    outcomes = {label: entry["outcome"] for label, entry in manifest["formats"].items()}
    assert sorted(outcomes.values()) == ["FAILED", "SUCCEEDED"]
    failed = next(label for label, value in outcomes.items() if value == "FAILED")
    assert manifest["formats"][failed]["failure_code"] == "InvalidParameter"
    assert manifest["formats"][failed]["failure_key"] == f"failed/{stem}/{failed}.json"
    record = json.loads(
        stack.client("s3").get_object(Bucket=stack.output_bucket, Key=f"failed/{stem}/{failed}.json")["Body"].read()
    )
    assert record["format"] == failed and record["stage"] == "submit"
    assert [s["attempts"] for s in submissions_for(stack, key)] == [2]


def test_the_same_object_and_spec_by_upload_and_by_event_submits_once(stack: LocalStack, stem: str) -> None:
    # GIVEN an upload with a sidecar, and then an event asking for the same object version and spec
    key = upload_job(stack, stem, {"title": ["Same Job"], "n": 1})
    version = stack.client("s3").head_object(Bucket=stack.input_bucket, Key=key)["VersionId"]
    first = outcome(stack, stem)
    assert first.status == "SUCCEEDED"
    request_poster(stack, {"key": key, "version_id": version, "spec": {"title": "Same Job"}})
    # WHEN Submit has handled it
    stack.wait_until_queues_drain()
    # THEN the provider saw one submission and there is one execution
    assert [s["accepted"] for s in submissions_for(stack, key)] == [1]
    assert len([e for e in stack.executions() if e.stem == stem]) == 1


def test_brand_file_supplies_defaults_and_the_sidecar_overrides_them(stack: LocalStack, stem: str) -> None:
    # GIVEN a folder whose brand.json asks for two formats and an accent colour, and a sidecar overriding the formats
    folder = f"incoming/{stem}-brand/"
    brand = {"formats": ["square", "story"], "accent_color": "#e4002b", "underlay": 1}
    stack.upload(json.dumps(brand).encode(), folder + "brand.json")
    stack.upload(json.dumps({"title": ["Brand Day"], "formats": ["landscape"]}).encode(), folder + "a.poster.json")
    stack.upload(fixture_image("rocket.jpg"), folder + "a.jpg")
    # WHEN the pipeline runs
    result = outcome(stack, f"{stem}-brand/a", timeout=120)
    # THEN the sidecar's formats won and the brand's other defaults were applied
    manifest = result.manifest
    assert manifest is not None and manifest["outcome"] == "SUCCEEDED", manifest
    assert list(manifest["formats"]) == ["landscape"]
    assert manifest["spec"]["accent_color"] == "#E4002B"
    assert manifest["spec"]["underlay"] == 1
    assert _image_size(stack, manifest["output_keys"][0]) == (1920, 1080)


@pytest.mark.parametrize(
    ("detail", "code", "message_part"),
    [
        ({"key": "library/no-such-photo.jpg", "spec": {"title": "x"}}, "SourceMissing", ""),
        ({"key": "library/x.jpg", "bucket": "someone-elses-bucket", "spec": {"title": "x"}}, "ForeignBucket", ""),
        ({"key": "{photo}", "spec": {"title": "x", "n": 9}}, "InvalidParameter", "Range of n should be [1, 4]"),
        ({"key": "{photo}", "spec": {"title": "x", "colour": "red"}}, "InvalidSidecar", "Unknown field(s) in event"),
        ({"key": "{photo}", "spec": ["not", "an", "object"]}, "InvalidSidecar", "must be a JSON object"),
        ({"key": "{photo}", "spec": {"title": "x", "formats": ["huge"]}}, "InvalidParameter", "Unknown format"),
        ({"key": "library/notes.txt", "spec": {"title": "x"}}, "UnsupportedImageFormat", ""),
    ],
    ids=["no-such-object", "another-bucket", "bad-n", "unknown-field", "spec-not-object", "bad-format", "not-image"],
)
def test_bad_poster_requests_end_as_failure_records(
    stack: LocalStack, stem: str, detail: dict[str, Any], code: str, message_part: str
) -> None:
    # GIVEN a request that can never be a poster (its object, its bucket or its spec is wrong)
    photo = _library_photo(stack, stem)
    detail = {k: (photo if v == "{photo}" else v) for k, v in detail.items()} | {"correlation_id": f"bad-{stem}"}
    request_poster(stack, detail)
    # WHEN Submit handles it
    stem_of_request = detail["key"].rsplit(".", 1)[0]
    result = outcome(stack, stem_of_request, timeout=60)
    # THEN a failure record names the code and answers the request's correlation id, as does the FAILED event
    assert result.status == "FAILED"
    assert result.failure is not None
    assert result.failure["code"] == code
    assert message_part in result.failure["message"]
    assert result.failure["correlation_id"] == f"bad-{stem}"
    events = [e for e in _events_of(stack, detail["key"]) if e["correlation_id"] == f"bad-{stem}"]
    assert [(e["outcome"], e["failure_code"]) for e in events] == [("FAILED", code)]


def test_a_request_without_an_object_is_recorded_under_its_event_id(stack: LocalStack, stem: str) -> None:
    # GIVEN an event whose detail names no object
    event_id = request_poster(stack, {"spec": {"title": "x"}, "correlation_id": f"nokey-{stem}"})
    # WHEN Submit handles it
    result = outcome(stack, f"_requests/{event_id}", timeout=60)
    # THEN its failure record sits under the event's id, with the correlation id to match it
    assert result.failure is not None
    assert result.failure["code"] == "InvalidPosterRequest"
    assert result.failure["correlation_id"] == f"nokey-{stem}"


def test_broken_brand_file_fails_the_jobs_below_it(stack: LocalStack, stem: str) -> None:
    # GIVEN a brand.json that sets a field a brand may not
    folder = f"incoming/{stem}-badbrand/"
    stack.upload(json.dumps({"title": ["Not a brand field"]}).encode(), folder + "brand.json")
    stack.upload(fixture_image("rocket.jpg"), folder + "b.jpg")
    # WHEN the pipeline runs
    result = outcome(stack, f"{stem}-badbrand/b", timeout=60)
    # THEN the job fails with the brand file's code and a message naming the file and the field
    assert result.failure is not None
    assert result.failure["code"] == "InvalidBrandFile"
    assert f"{folder}brand.json" in result.failure["message"] and "title" in result.failure["message"]


def test_events_from_another_source_are_not_routed(stack: LocalStack, stem: str) -> None:
    # GIVEN a "Poster requested" event from a source the stack does not listen to
    key = _library_photo(stack, stem)
    request_poster(stack, {"key": key, "spec": {"title": "x"}}, source="someone.else")
    # WHEN the queues drain
    stack.wait_until_queues_drain()
    # THEN nothing was submitted and nothing recorded
    assert submissions_for(stack, key) == []
    assert stack.outcomes({f"library/{stem}"}) == {}
