"""The API's own validation rules and messages."""

from __future__ import annotations

from typing import Any

import pytest

from poster_composer.errors import AccessDeniedError, InvalidApiKeyError, InvalidParameterError
from poster_composer.validation import (
    check_api_key,
    check_async_header,
    check_url,
    parse_json_object,
    redact_url,
    validate_synthesis,
)

MODELS = ("wanx-ast",)


def _body(**input_changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"image_url": "https://img.example/bg.png?sig=1", "title": ["Spring"]}
    data.update(input_changes)
    return {"model": "wanx-ast", "input": data, "parameters": {}}


def test_a_full_request_is_parsed() -> None:
    body = _body(subtitle=["Sub"], text=["Go"], underlay=2, logo="http://img.example/logo.png")
    body["parameters"] = {"n": 4, "temperature": 0, "top_p": 1}
    request = validate_synthesis(body, MODELS)
    assert request.title == ("Spring",) and request.subtitle == ("Sub",) and request.text == ("Go",)
    assert (request.underlay, request.n, request.temperature, request.top_p) == (2, 4, 0.0, 1.0)
    assert request.logo == "http://img.example/logo.png"


def test_defaults() -> None:
    body = _body()
    del body["parameters"]
    request = validate_synthesis(body, MODELS)
    assert (request.n, request.temperature, request.underlay, request.logo) == (1, 0.7, 0, None)
    assert request.subtitle == () and request.text == ()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"model": "wanx-ast", "input": {"image_url": "https://h/x.png"}}, "Title field missing."),
        (_body(title=None), "Title field missing."),
        (_body(title=["a", 2]), "Title is not [str]."),
        (_body(title="a"), "Title is not [str]."),
        (_body(title=[]), "Title list is empty."),
        (_body(subtitle=[["a"]]), "Subtitle is not [str]."),
        (_body(subtitle="a"), "Subtitle is not [str]."),
        (_body(text=[1.5]), "Text is not [str]."),
        (_body(image_url="https:xxx.png"), "Invalid URL 'https:xxx.png': No host supplied"),
        (_body(image_url="https:xxx.png?X-Amz-Signature=s"), "Invalid URL 'https:xxx.png': No host supplied"),
        (_body(image_url="xxx.png"), "Invalid URL 'xxx.png': No scheme supplied. Perhaps you meant https://xxx.png?"),
        (_body(image_url="ftp://h/x.png"), "No connection adapters were found for 'ftp://h/x.png'"),
        (_body(logo="https:logo.png"), "Invalid URL 'https:logo.png': No host supplied"),
        (_body(underlay=3), "Range of underlay should be [0, 2]"),
        (_body(underlay=True), "Range of underlay should be [0, 2]"),
        ({**_body(), "parameters": {"n": 5}}, "Range of n should be [1, 4]"),
        ({**_body(), "parameters": {"n": 0}}, "Range of n should be [1, 4]"),
        ({**_body(), "parameters": {"n": "2"}}, "Range of n should be [1, 4]"),
        ({**_body(), "parameters": {"temperature": -0.1}}, "Range of temperature should be [0.0, 1.0]"),
        ({**_body(), "parameters": {"top_p": 2}}, "Range of top_p should be [0.0, 1.0]"),
        ({**_body(), "model": "wanx-v1"}, "Model not exist."),
        ({"input": _body()["input"]}, "Model not exist."),
        ({"model": "wanx-ast"}, "Input field missing."),
    ],
)
def test_each_rule_has_its_message(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        validate_synthesis(body, MODELS)
    assert (caught.value.status, caught.value.code, caught.value.message) == (400, "InvalidParameter", message)


def test_api_keys() -> None:
    assert check_api_key("Bearer abc", None) == "abc"
    assert check_api_key("bearer  abc ", "abc") == "abc"
    for header in (None, "", "Basic abc", "Bearer", "Bearer  "):
        with pytest.raises(InvalidApiKeyError) as caught:
            check_api_key(header, None)
        assert caught.value.status == 401
    with pytest.raises(InvalidApiKeyError, match=r"Invalid API-key provided\."):
        check_api_key("Bearer wrong", "right")


def test_async_header() -> None:
    check_async_header("enable")
    for value in (None, "", "disable"):
        with pytest.raises(AccessDeniedError) as caught:
            check_async_header(value)
        assert (caught.value.status, caught.value.code) == (403, "AccessDenied")


def test_json_bodies() -> None:
    assert parse_json_object(b'{"a": 1}') == {"a": 1}
    for raw in (b"", b"[]", b"{", b"\xff"):
        with pytest.raises(InvalidParameterError):
            parse_json_object(raw)


def test_urls() -> None:
    assert check_url(" https://h.example:8443/a.png?x=1 ") == "https://h.example:8443/a.png?x=1"
    with pytest.raises(InvalidParameterError, match="Invalid port"):
        check_url("https://h.example:99999/a.png")
    assert redact_url("https://h/a.png?X-Amz-Signature=s#f") == "https://h/a.png"


@pytest.mark.parametrize(
    ("size", "expected"),
    [("1080*1920", (1080, 1920)), ("64*64", (64, 64)), (None, None)],
)
def test_parameters_size_is_the_posters_width_and_height(size: str | None, expected: tuple[int, int] | None) -> None:
    parameters: dict[str, Any] = {} if size is None else {"size": size}
    body = {
        "model": "wanx-ast",
        "input": {"image_url": "https://a.example/b.png", "title": ["T"]},
        "parameters": parameters,
    }

    assert validate_synthesis(body, ("wanx-ast",)).size == expected


@pytest.mark.parametrize("size", ["1080x1920", "0*100", "1080*", 1080, "63*64", "4097*100"])
def test_a_malformed_or_out_of_range_size_is_refused(size: object) -> None:
    body = {
        "model": "wanx-ast",
        "input": {"image_url": "https://a.example/b.png", "title": ["T"]},
        "parameters": {"size": size},
    }

    with pytest.raises(InvalidParameterError):
        validate_synthesis(body, ("wanx-ast",))


def _with_parameters(**parameters: Any) -> dict[str, Any]:
    body = _body()
    body["parameters"] = parameters
    return body


def test_font_pairing_and_accent_color_are_optional_extensions() -> None:
    # GIVEN a request naming a pairing and an accent colour, and one naming neither
    named = validate_synthesis(_with_parameters(font_pairing="oswald+lora", accent_color="#1A73E8"), MODELS)
    plain = validate_synthesis(_with_parameters(), MODELS)

    # THEN both are parsed (the colour in lower case), and absent they are None
    assert (named.font_pairing, named.accent_color) == ("oswald+lora", "#1a73e8")
    assert (plain.font_pairing, plain.accent_color) == (None, None)


def test_every_pairing_the_renderer_names_is_accepted() -> None:
    from poster_composer.renderer.fonts import PAIRING_NAMES, PAIRINGS

    assert tuple(p.name for p in PAIRINGS) == PAIRING_NAMES
    for name in PAIRING_NAMES:
        assert validate_synthesis(_with_parameters(font_pairing=name), MODELS).font_pairing == name


def test_an_unknown_font_pairing_is_refused_with_the_valid_names() -> None:
    from poster_composer.renderer.fonts import PAIRING_NAMES

    with pytest.raises(InvalidParameterError) as raised:
        validate_synthesis(_with_parameters(font_pairing="comic+papyrus"), MODELS)

    assert (raised.value.code, raised.value.status) == ("InvalidParameter", 400)
    assert raised.value.message == f"Font_pairing should be one of {', '.join(PAIRING_NAMES)}."
    assert "playfair+source-sans" in raised.value.message


def test_a_font_pairing_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidParameterError, match=r"^Font_pairing is not str\.$"):
        validate_synthesis(_with_parameters(font_pairing=3), MODELS)


@pytest.mark.parametrize("colour", ["1a73e8", "#1a73e", "#1a73e8f", "#gg0000", "red", "#FFF", 0x1A73E8, ["#1a73e8"]])
def test_a_malformed_accent_color_is_refused(colour: object) -> None:
    expected = r"^Accent_color is not str\.$" if not isinstance(colour, str) else r"^Accent_color should be #RRGGBB"
    with pytest.raises(InvalidParameterError, match=expected) as raised:
        validate_synthesis(_with_parameters(accent_color=colour), MODELS)

    assert (raised.value.code, raised.value.status) == ("InvalidParameter", 400)
