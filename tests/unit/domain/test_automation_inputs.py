"""Jobs from events, formats, brand defaults and multi-format requests: the domain's rules, no sockets."""

from __future__ import annotations

import json
from typing import Any

import pytest

from poster_common import jobspec
from poster_common.errors import InvalidBrandFileError, InvalidJobSpecError, InvalidSidecarError
from poster_common.format_sets import FormatSets
from poster_common.formats import MAX_FORMATS, PosterFormat, parse_formats
from poster_common.models import Delivery, Job, JobSpec, ObjectRef, format_job_id
from poster_common.profiles import profile_for
from poster_common.request_outcome import request_manifest
from poster_common.s3_events import NotAnS3EventError
from poster_common.triggers import requests_in
from tests.unit.domain.conftest import TABLE

SOURCE = "poster-pipeline.requests"


def _requested(detail: Any, source: str = SOURCE) -> str:
    return json.dumps({"id": "ev-1", "detail-type": "Poster requested", "source": source, "detail": detail})


# ---------------------------------------------------------------- formats


def test_formats_accept_presets_and_sizes_in_order() -> None:
    formats = parse_formats(["story", "1920*1080", " 640X480 ", "banner-4x1"])
    assert [(f.label, f.size) for f in formats] == [
        ("story", "1080*1920"),
        ("1920x1080", "1920*1080"),
        ("640x480", "640*480"),
        ("banner-4x1", "2048*512"),
    ]
    assert parse_formats("square") == (PosterFormat("square", 1080, 1080),)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["poster"], "Unknown format 'poster'"),
        (["10*10"], "out of range"),
        (["5000*100"], "out of range"),
        (["square", "1080x1080", "square"], "the same size twice"),
        ([1080], "formats must be a list"),
        (["square"] * (MAX_FORMATS + 1), "formats must be a list"),
    ],
)
def test_bad_formats_are_refused_with_a_message(value: Any, message: str) -> None:
    with pytest.raises(InvalidJobSpecError, match=message.replace("(", r"\(").replace("*", r"\*")):
        parse_formats(value)


def test_a_spec_with_formats_and_brand_choices_round_trips() -> None:
    spec = jobspec.validate(
        jobspec.RawSpec(
            "sidecar", {"title": "T", "formats": ["square"], "font_pairing": "oswald+inter", "accent_color": "#a1b2c3"}
        )
    )
    assert spec.accent_color == "#A1B2C3"
    assert JobSpec.from_dict(spec.to_dict()) == spec
    assert "formats" not in JobSpec(title=("T",)).to_dict()  # older specs keep their shape (and their job ids)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("accent_color", "red", "#RRGGBB"), ("accent_color", "#12345", "#RRGGBB"), ("font_pairing", "A B", "pairing")],
)
def test_bad_brand_choices_are_refused(field: str, value: str, message: str) -> None:
    with pytest.raises(InvalidJobSpecError, match=message):
        jobspec.validate(jobspec.RawSpec("sidecar", {"title": "T", field: value}))


# ---------------------------------------------------------------- brand files


def test_brand_folders_run_from_the_input_prefix_down() -> None:
    assert jobspec.brand_folders("incoming/a/b/x.jpg", "incoming/") == ["incoming/", "incoming/a/", "incoming/a/b/"]
    assert jobspec.brand_folders("library/x.jpg", "incoming/") == []


def test_the_spec_overrides_the_brand_and_unknown_brand_fields_fail() -> None:
    brand = jobspec.brand_defaults(b'{"underlay": 2, "formats": ["square"]}', "incoming/brand.json")
    raw = jobspec.with_defaults(jobspec.RawSpec("sidecar", {"title": "T", "underlay": 0}), brand)
    spec = jobspec.validate(raw)
    assert (spec.underlay, [f.label for f in spec.formats]) == (0, ["square"])
    broken = jobspec.brand_defaults(b'{"title": "not allowed"}', "incoming/shop/brand.json")
    with pytest.raises(InvalidBrandFileError, match=r"incoming/shop/brand.json: title"):
        jobspec.validate(jobspec.with_defaults(jobspec.RawSpec("filename", {"title": "T"}), broken))
    with pytest.raises(InvalidBrandFileError, match="not valid UTF-8 JSON"):
        jobspec.validate(
            jobspec.with_defaults(jobspec.RawSpec("filename", {"title": "T"}), jobspec.brand_defaults(b"{", "k"))
        )


def test_an_event_spec_follows_the_sidecar_rules() -> None:
    with pytest.raises(InvalidSidecarError, match=r"Unknown field\(s\) in event: colour"):
        jobspec.validate(jobspec.raw_from_event({"title": "T", "colour": "red"}))
    with pytest.raises(InvalidSidecarError, match="must be a JSON object"):
        jobspec.validate(jobspec.raw_from_event("T"))


def test_metadata_names_with_dashes_reach_the_underscored_fields() -> None:
    raw = jobspec.raw_from_metadata({"poster-title": "T", "poster-accent-color": "#000000"})
    assert raw is not None and jobspec.validate(raw).accent_color == "#000000"


# ---------------------------------------------------------------- routes


def test_s3_eventbridge_keys_are_percent_decoded_only() -> None:
    body = json.dumps(
        {
            "detail-type": "Object Created",
            "source": "aws.s3",
            "detail": {
                "bucket": {"name": "in"},
                "object": {"key": "incoming/a+b%20c.jpg", "version-id": "v1", "etag": "e"},
            },
        }
    )
    [request] = requests_in(body, request_source=SOURCE, input_bucket="in")
    assert request.ref == ObjectRef("in", "incoming/a+b c.jpg", "v1", "e")


def test_s3_notifications_still_decode_plus_as_space() -> None:
    body = json.dumps(
        {
            "Records": [
                {
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": "in"}, "object": {"key": "incoming/a+b.jpg"}},
                }
            ]
        }
    )
    assert requests_in(body, request_source=SOURCE, input_bucket="in")[0].ref.key == "incoming/a b.jpg"


def test_a_poster_request_carries_its_spec_and_correlation_id() -> None:
    [request] = requests_in(
        _requested({"key": "/library/a.jpg", "version_id": "v", "spec": {"title": "T"}, "correlation_id": "c"}),
        request_source=SOURCE,
        input_bucket="in",
    )
    assert (request.ref, request.spec, request.correlation_id, request.problem, request.by_event) == (
        ObjectRef("in", "library/a.jpg", "v"),
        {"title": "T"},
        "c",
        None,
        True,
    )


@pytest.mark.parametrize(
    ("detail", "code"),
    [
        ("a string", "InvalidPosterRequest"),
        ({"spec": {"title": "T"}}, "InvalidPosterRequest"),
        ({"key": "folder/"}, "InvalidPosterRequest"),
        ({"key": "a.jpg", "correlation_id": 42}, "InvalidPosterRequest"),
        ({"key": "a.jpg", "version_id": 1}, "InvalidPosterRequest"),
        ({"key": "a.jpg", "bucket": "other"}, "ForeignBucket"),
    ],
)
def test_a_broken_poster_request_is_answered_with_a_problem(detail: Any, code: str) -> None:
    [request] = requests_in(_requested(detail), request_source=SOURCE, input_bucket="in")
    assert request.problem is not None and request.problem[0] == code
    assert request.by_event


def test_events_from_other_sources_or_types_are_not_ours() -> None:
    with pytest.raises(NotAnS3EventError):
        requests_in(_requested({"key": "a.jpg"}, source="someone.else"), request_source=SOURCE, input_bucket="in")


# ---------------------------------------------------------------- multi-format requests


def test_format_jobs_have_their_own_ids_folders_and_failure_keys() -> None:
    square = PosterFormat("square", 1080, 1080)
    assert format_job_id("set", square) != format_job_id("set", PosterFormat("story", 1080, 1920))
    delivery = Delivery("c", square, "set", ("square", "story"))
    assert delivery.folder("posters/", "a/b") == "posters/a/b/square/"
    assert delivery.failure_key("failed/", "a/b") == "failed/a/b/square.json"
    assert Delivery().folder("posters/", "a") == "posters/a/"
    assert Delivery.from_dict(delivery.to_dict()) == delivery


def test_a_format_set_ends_once_every_format_has_settled_and_settling_again_is_harmless(dynamodb: Any) -> None:
    sets = FormatSets(dynamodb, TABLE)
    sets.open("s1", ("square", "story"))
    sets.open("s1", ("square", "story"))  # a retried Submit changes nothing
    assert sets.settle("s1", "square", {"outcome": "SUCCEEDED"}) is None
    ended = sets.settle("s1", "story", {"outcome": "FAILED", "failure_code": "X"})
    assert ended == {"square": {"outcome": "SUCCEEDED"}, "story": {"outcome": "FAILED", "failure_code": "X"}}
    assert sets.settle("s1", "story", {"outcome": "FAILED", "failure_code": "X"}) == ended  # a retried last step


def test_the_request_manifest_sums_up_its_formats() -> None:
    delivery = Delivery("c", PosterFormat("square", 1080, 1080), "s1", ("square", "story"))
    job = Job("j", "a", "wanx-ast", ObjectRef("in", "incoming/a.jpg", "v"), JobSpec(title=("T",)), delivery=delivery)
    ended: dict[str, dict[str, Any]] = {
        "story": {"outcome": "FAILED", "failure_code": "X"},
        "square": {"outcome": "SUCCEEDED", "output_keys": ["posters/a/square/0.png"]},
    }
    manifest = request_manifest(job, ended)
    assert (manifest["outcome"], manifest["correlation_id"], manifest["output_keys"]) == (
        "PARTIAL",
        "c",
        ["posters/a/square/0.png"],
    )


def test_a_live_model_that_cannot_render_sizes_says_so() -> None:
    profile = profile_for("wan2.5-i2i-preview")
    assert "formats" in profile.ignored_fields
    request = profile.build_request(JobSpec(title=("T",)), "https://b/bg.png", None, "1080*1080")
    assert "size" not in request.parameters
    composer = profile_for("wanx-ast").build_request(
        JobSpec(title=("T",), font_pairing="oswald+inter", accent_color="#FF0000"),
        "https://b/bg.png",
        None,
        "1080*1920",
    )
    assert composer.parameters == {
        "n": 1,
        "temperature": 0.7,
        "size": "1080*1920",
        "font_pairing": "oswald+inter",
        "accent_color": "#FF0000",
    }
