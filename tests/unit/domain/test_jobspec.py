from __future__ import annotations

import json
from typing import Any

import pytest

from poster_common import jobspec
from poster_common.errors import InvalidJobSpecError, InvalidSidecarError
from poster_common.jobspec import RawSpec, raw_from_filename, raw_from_metadata, raw_from_sidecar, validate


def sidecar(data: Any) -> RawSpec:
    return raw_from_sidecar(json.dumps(data, ensure_ascii=False).encode())


def test_full_sidecar_is_validated_and_normalised() -> None:
    spec = validate(
        sidecar(
            {
                "title": " 春季 大促 ",
                "subtitle": ["全场\u00078折"],
                "text": [],
                "underlay": "1",
                "n": 2,
                "temperature": 0.2,
                "logo": "/incoming/logo.png",
            }
        )
    )
    assert spec.title == ("春季 大促",)
    assert spec.subtitle == ("全场 8折",)
    assert (spec.underlay, spec.n, spec.temperature, spec.logo_key) == (1, 2, 0.2, "incoming/logo.png")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Title field missing."),
        ({"title": [1]}, "Title is not [str]."),
        ({"title": 7}, "Title is not [str]."),
        ({"title": []}, "Title list is empty."),
        ({"title": ["  "]}, "Title list is empty."),
        ({"title": ["a"], "subtitle": [None]}, "Subtitle is not [str]."),
        ({"title": ["a"], "text": {"x": 1}}, "Text is not [str]."),
        ({"title": ["a"], "n": 5}, "Range of n should be [1, 4]"),
        ({"title": ["a"], "n": 0}, "Range of n should be [1, 4]"),
        ({"title": ["a"], "n": 1.5}, "n must be an integer."),
        ({"title": ["a"], "n": True}, "n must be a number."),
        ({"title": ["a"], "underlay": 3}, "Range of underlay should be [0, 2]"),
        ({"title": ["a"], "temperature": 1.5}, "Range of temperature should be [0.0, 1.0]"),
        ({"title": ["a"], "temperature": "hot"}, "temperature must be a number."),
        ({"title": ["x" * 10_000]}, "Title item is longer than 300 characters."),
    ],
)
def test_api_rules_with_the_api_messages(data: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidJobSpecError) as info:
        validate(sidecar(data))
    assert info.value.message == message
    assert info.value.code == "InvalidParameter"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [(b"{nope", "not valid UTF-8 JSON"), (b"[1]", "JSON object"), (b"\xff\xfe", "not valid UTF-8 JSON")],
)
def test_broken_sidecar_is_a_clear_error(body: bytes, fragment: str) -> None:
    with pytest.raises(InvalidSidecarError) as info:
        validate(raw_from_sidecar(body))
    assert fragment in info.value.message


def test_unknown_sidecar_fields_are_named() -> None:
    with pytest.raises(InvalidSidecarError, match="subtitel"):
        validate(sidecar({"title": ["a"], "subtitel": ["b"]}))


def test_metadata_survives_utf8_in_every_encoding() -> None:
    raw = raw_from_metadata(
        {
            "poster-title": "=?UTF-8?B?5pil5a2j5aSn5L+D?=",  # RFC 2047, as S3 returns non-ASCII metadata
            "poster-subtitle": "%E5%85%A8%E5%9C%BA",  # percent-encoded UTF-8
            "poster-text": '["SHOP NOW"]',
            "poster-n": "2",
            "unrelated": "x",
        }
    )
    assert raw is not None
    spec = validate(raw)
    assert spec.title == ("春季大促",)
    assert spec.subtitle == ("全场",)
    assert spec.text == ("SHOP NOW",)
    assert spec.n == 2


def test_no_title_metadata_means_no_metadata_spec() -> None:
    assert raw_from_metadata({"poster-subtitle": "x"}) is None


@pytest.mark.parametrize(
    ("key", "title"),
    [
        ("incoming/summer_sale-2026.jpg", "Summer Sale 2026"),
        ("incoming/a/猫 咪.png", "猫 咪"),
        ("incoming/Big Day.JPG", "Big Day"),
    ],
)
def test_title_from_the_file_name(key: str, title: str) -> None:
    assert validate(raw_from_filename(key)).title == (title,)


def test_sidecar_key_sits_beside_the_image() -> None:
    assert jobspec.sidecar_key_for("incoming/a/b c.jpeg") == "incoming/a/b c.poster.json"
