"""The wan2.5-i2i-preview request rules (image2image), as the composer server emulates them."""

from __future__ import annotations

from typing import Any

import pytest

from poster_common.models import JobSpec
from poster_common.profiles import profile_for
from poster_composer import validation
from poster_composer.errors import InvalidParameterError
from poster_composer.validation import ImageEditRequest, validate_image_edit

BG = "https://img.example/bg.png?sig=1"


def _body(**input_changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"prompt": "Typeset “Spring Sale” on image 1.", "images": [BG]}
    data.update(input_changes)
    return {"model": "wan2.5-i2i-preview", "input": data, "parameters": {"n": 1}}


def test_a_full_request_is_parsed() -> None:
    body = _body(images=[BG, "http://img.example/logo.png", BG], negative_prompt="blurry")
    body["parameters"] = {"n": 4, "size": "1280*1280", "seed": 0, "prompt_extend": False, "watermark": True}
    assert validate_image_edit(body) == ImageEditRequest(
        model="wan2.5-i2i-preview",
        prompt="Typeset “Spring Sale” on image 1.",
        images=(BG, "http://img.example/logo.png", BG),
        n=4,
        negative_prompt="blurry",
        size="1280*1280",
        seed=0,
        prompt_extend=False,
        watermark=True,
    )


def test_defaults_without_parameters() -> None:
    body = _body()
    del body["parameters"]
    request = validate_image_edit(body)
    assert (request.n, request.negative_prompt, request.size, request.seed) == (1, None, None, None)
    assert validate_image_edit({**_body(), "parameters": {"n": None}}).n == 1


def test_the_prompt_may_be_exactly_the_documented_length() -> None:
    assert len(validate_image_edit(_body(prompt="x" * 2000)).prompt) == 2000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({**_body(), "model": "wanx-ast"}, "Model not exist."),
        ({**_body(), "model": "wan2.5-t2i-preview"}, "Model not exist."),
        ({"input": _body()["input"]}, "Model not exist."),
        ({"model": "wan2.5-i2i-preview"}, "Input field missing."),
        ({"model": "wan2.5-i2i-preview", "input": ["x"]}, "Input is not a dict."),
        (_body(prompt=None), "Prompt field missing."),
        (_body(prompt=["a"]), "Prompt is not str."),
        (_body(prompt=""), "Prompt is empty."),
        (_body(prompt=" \n\t"), "Prompt is empty."),
        (_body(prompt="x" * 2001), "Prompt is longer than 2000 characters."),
        (_body(images=None), "Images field missing."),
        (_body(images=BG), "Images is not [str]."),
        (_body(images=[BG, 1]), "Images is not [str]."),
        (_body(images=[]), "Images list is empty."),
        (_body(images=[BG] * 4), "Range of images length should be [1, 3]"),
        (_body(images=["https:xxx.png"]), "Invalid URL 'https:xxx.png': No host supplied"),
        (_body(images=[BG, "bg.png"]), "Invalid URL 'bg.png': No scheme supplied. Perhaps you meant https://bg.png?"),
        (_body(images=["ftp://h/x.png?sig=s"]), "No connection adapters were found for 'ftp://h/x.png'"),
        (_body(negative_prompt=3), "Negative_prompt is not str."),
        ({**_body(), "parameters": []}, "Parameters is not a dict."),
        ({**_body(), "parameters": {"n": 0}}, "Range of n should be [1, 4]"),
        ({**_body(), "parameters": {"n": 5}}, "Range of n should be [1, 4]"),
        ({**_body(), "parameters": {"n": "2"}}, "Range of n should be [1, 4]"),
        ({**_body(), "parameters": {"n": True}}, "Range of n should be [1, 4]"),
        ({**_body(), "parameters": {"seed": -1}}, "Range of seed should be [0, 2147483647]"),
        ({**_body(), "parameters": {"seed": True}}, "Seed is not int."),
        ({**_body(), "parameters": {"size": "1280x1280"}}, "Size should be width*height, e.g. 1280*1280."),
        ({**_body(), "parameters": {"prompt_extend": "yes"}}, "Prompt_extend is not bool."),
        ({**_body(), "parameters": {"watermark": 1}}, "Watermark is not bool."),
    ],
)
def test_each_rule_has_its_message(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        validate_image_edit(body)
    assert (caught.value.status, caught.value.code, caught.value.message) == (400, "InvalidParameter", message)


def test_the_signature_of_a_refused_url_is_not_echoed() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        validate_image_edit(_body(images=["https:xxx.png?X-Amz-Signature=secret"]))
    assert "secret" not in caught.value.message


def test_the_route_accepts_the_models_it_is_given() -> None:
    assert validate_image_edit({**_body(), "model": "custom"}, models=("custom",)).model == "custom"


def test_what_the_pipelines_profile_sends_is_valid() -> None:
    # The request the pipeline builds for wan2.5-i2i-preview passes the emulated rules (no composer import
    # in poster_common: this test only puts the two side by side).
    spec = JobSpec(title=("Spring Sale",), subtitle=("Up to 50% off",), text=("Shop now",), n=2)
    request = profile_for("wan2.5-i2i-preview").build_request(spec, BG, "https://img.example/logo.png")
    body = {"model": "wan2.5-i2i-preview", "input": request.input, "parameters": request.parameters}
    parsed = validate_image_edit(body)
    assert parsed.images == (BG, "https://img.example/logo.png")
    assert parsed.n == 2 and "“Spring Sale”" in parsed.prompt


def test_the_validator_is_exported() -> None:
    assert {"validate_image_edit", "ImageEditRequest", "IMAGE_EDIT_MODELS"} <= set(validation.__all__)
    assert validation.IMAGE_EDIT_MODELS == ("wan2.5-i2i-preview",)
