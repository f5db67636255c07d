"""The API's own request rules and messages (protocol notes §1, §2 and §7), one validator per model profile.

Pure functions: each takes what it needs from the request and returns the parsed value or raises an
``ApiError`` subclass carrying the wire code and message. ``validate_synthesis`` is ``wanx-ast``'s
text2image request; ``validate_image_edit`` is ``wan2.5-i2i-preview``'s image2image request (its limits are
documented; its messages are ours, in the service's style: docs/design.md, "Engines and model profiles").

Example
-------
>>> request = validate_synthesis({"model": "wanx-ast", "input": {
...     "image_url": "https://example.com/a.png", "title": ["Spring Sale"]}}, models=("wanx-ast",))
>>> request.title, request.n
(('Spring Sale',), 1)
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from poster_composer.errors import AccessDeniedError, InvalidApiKeyError, InvalidParameterError

if TYPE_CHECKING:
    from collections.abc import Mapping

MISSING_KEY_MESSAGE = "No API-key provided."
INVALID_KEY_MESSAGE = "Invalid API-key provided."
SYNC_CALL_MESSAGE = "current user api does not support synchronous calls"
BAD_BODY_MESSAGE = "Required body invalid, please check the request body format."
MODEL_MESSAGE = "Model not exist."
N_RANGE_MESSAGE = "Range of n should be [1, 4]"
UNDERLAY_RANGE_MESSAGE = "Range of underlay should be [0, 2]"
SIZE_MESSAGE = "Size should be width*height, e.g. 1280*1280."
ACCENT_COLOR_MESSAGE = "Accent_color should be #RRGGBB, e.g. #1a73e8."
MIN_POSTER_SIDE = 64
MAX_POSTER_SIDE = 4096
IMAGE_EDIT_MODELS = ("wan2.5-i2i-preview",)
PROMPT_MAX_CHARS = 2000
MAX_EDIT_IMAGES = 3
SEED_MAX = 2147483647

__all__ = [
    "IMAGE_EDIT_MODELS",
    "ImageEditRequest",
    "SynthesisRequest",
    "check_api_key",
    "check_async_header",
    "check_url",
    "parse_json_object",
    "redact_url",
    "validate_image_edit",
    "validate_synthesis",
]


@dataclass(frozen=True)
class SynthesisRequest:
    """A validated create-task request (``input`` + ``parameters`` of ``wanx-ast``)."""

    model: str
    image_url: str
    title: tuple[str, ...]
    subtitle: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    underlay: int = 0
    logo: str | None = None
    n: int = 1
    temperature: float = 0.7
    top_p: float | None = None
    #: ``parameters.size`` (``"W*H"``, our extension of wanx-ast): the poster's size, reframed around the subject.
    size: tuple[int, int] | None = None
    #: ``parameters.font_pairing`` (our extension): one of the renderer's pairings by name, for every variant.
    font_pairing: str | None = None
    #: ``parameters.accent_color`` (our extension): ``"#rrggbb"`` (lower case), the title's accent colour.
    accent_color: str | None = None


def check_api_key(authorization: str | None, expected: str | None) -> str:
    """The Bearer key from an ``Authorization`` header.

    Raises
    ------
    InvalidApiKeyError
        No header, not ``Bearer <key>``, or (when ``expected`` is set) a different key.
    """
    if not authorization or not authorization.strip():
        raise InvalidApiKeyError(MISSING_KEY_MESSAGE)
    scheme, _, key = authorization.strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise InvalidApiKeyError(INVALID_KEY_MESSAGE)
    if expected is not None and not hmac.compare_digest(key.encode(), expected.encode()):
        raise InvalidApiKeyError(INVALID_KEY_MESSAGE)
    return key


def check_async_header(value: str | None) -> None:
    """``X-DashScope-Async`` must be ``enable`` for this model.

    Raises
    ------
    AccessDeniedError
        Header missing or with another value.
    """
    if (value or "").strip().lower() != "enable":
        raise AccessDeniedError(SYNC_CALL_MESSAGE)


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """Decode a JSON object body.

    Raises
    ------
    InvalidParameterError
        Not UTF-8 JSON, or not an object.
    """
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise InvalidParameterError(BAD_BODY_MESSAGE) from error
    if not isinstance(body, dict):
        raise InvalidParameterError(BAD_BODY_MESSAGE)
    return body


def redact_url(url: str) -> str:
    """``url`` without its query string and fragment (which may hold a signature)."""
    return url.split("?", 1)[0].split("#", 1)[0]


def check_url(url: str) -> str:
    """Apply the URL rules of the service's downloader (they read like ``requests``' own).

    Raises
    ------
    InvalidParameterError
        No scheme, no host, or a scheme other than http(s). The message names the URL without its
        query string.
    """
    url = url.strip()
    shown = redact_url(url)
    if ":" in url and not url.lower().startswith("http"):
        raise InvalidParameterError(f"No connection adapters were found for '{shown}'")
    parts = urlsplit(url)
    if not parts.scheme:
        raise InvalidParameterError(f"Invalid URL '{shown}': No scheme supplied. Perhaps you meant https://{shown}?")
    if parts.scheme.lower() not in ("http", "https"):
        raise InvalidParameterError(f"No connection adapters were found for '{shown}'")
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as error:
        raise InvalidParameterError(f"Invalid URL '{shown}': Invalid port") from error
    if not host:
        raise InvalidParameterError(f"Invalid URL '{shown}': No host supplied")
    return url


def _string_list(data: Mapping[str, Any], key: str, label: str, *, required: bool) -> tuple[str, ...]:
    if key not in data or data[key] is None:
        if required:
            raise InvalidParameterError(f"{label} field missing.")
        return ()
    value = data[key]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidParameterError(f"{label} is not [str].")
    if required and not value:
        raise InvalidParameterError(f"{label} list is empty.")
    return tuple(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _unit_interval(parameters: Mapping[str, Any], key: str) -> float | None:
    value = parameters.get(key)
    if value is None:
        return None
    if not _is_number(value) or not 0.0 <= float(value) <= 1.0:
        raise InvalidParameterError(f"Range of {key} should be [0.0, 1.0]")
    return float(value)


def _validate_input(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidParameterError("Input field missing." if data is None else "Input is not a dict.")
    image_url = data.get("image_url")
    if image_url is None:
        raise InvalidParameterError("Image_url field missing.")
    if not isinstance(image_url, str):
        raise InvalidParameterError("Image_url is not str.")
    fields: dict[str, Any] = {
        "title": _string_list(data, "title", "Title", required=True),
        "subtitle": _string_list(data, "subtitle", "Subtitle", required=False),
        "text": _string_list(data, "text", "Text", required=False),
    }
    underlay = data.get("underlay", 0)
    if underlay is None:
        underlay = 0
    if not _is_int(underlay) or not 0 <= underlay <= 2:
        raise InvalidParameterError(UNDERLAY_RANGE_MESSAGE)
    logo = data.get("logo")
    if logo is not None and not isinstance(logo, str):
        raise InvalidParameterError("Logo is not str.")
    fields["image_url"] = check_url(image_url)
    fields["logo"] = check_url(logo) if logo else None
    fields["underlay"] = underlay
    return fields


def validate_synthesis(body: Mapping[str, Any], models: tuple[str, ...]) -> SynthesisRequest:
    """Validate a create-task body.

    Parameters
    ----------
    body
        The decoded JSON body: ``{"model", "input", "parameters"}``.
    models
        Model names this server accepts.

    Returns
    -------
    SynthesisRequest

    Raises
    ------
    InvalidParameterError
        The first broken rule, with the service's message (e.g. "Title field missing.").
    """
    model = body.get("model")
    if not isinstance(model, str) or model not in models:
        raise InvalidParameterError(MODEL_MESSAGE)
    fields = _validate_input(body.get("input"))
    parameters, n = _parameters_and_n(body.get("parameters"))
    temperature = _unit_interval(parameters, "temperature")
    top_p = _unit_interval(parameters, "top_p")
    size = _size(parameters)
    return SynthesisRequest(
        model=model,
        n=n,
        temperature=0.7 if temperature is None else temperature,
        top_p=top_p,
        size=None if size is None else _poster_size(size),
        font_pairing=_font_pairing(parameters),
        accent_color=_accent_color(parameters),
        **fields,
    )


def _font_pairing(parameters: Mapping[str, Any]) -> str | None:
    """``parameters.font_pairing`` (absent: ``None``): the name of one of the renderer's pairings."""
    name: str | None = _optional(parameters, "font_pairing", str, "Font_pairing")
    if name is None:
        return None
    from poster_composer.renderer.fonts import PAIRING_NAMES  # the renderer's own list, loaded only when asked

    if name not in PAIRING_NAMES:
        raise InvalidParameterError(f"Font_pairing should be one of {', '.join(PAIRING_NAMES)}.")
    return name


def _accent_color(parameters: Mapping[str, Any]) -> str | None:
    """``parameters.accent_color`` (absent: ``None``): ``"#RRGGBB"``, returned in lower case."""
    colour: str | None = _optional(parameters, "accent_color", str, "Accent_color")
    if colour is None:
        return None
    if not re.fullmatch(r"#[0-9A-Fa-f]{6}", colour):
        raise InvalidParameterError(ACCENT_COLOR_MESSAGE)
    return colour.lower()


def _parameters_and_n(parameters: Any) -> tuple[dict[str, Any], int]:
    """``parameters`` (absent: ``{}``) and its ``n`` (absent: 1), by the API's rules."""
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, dict):
        raise InvalidParameterError("Parameters is not a dict.")
    n = parameters.get("n", 1)
    if n is None:
        n = 1
    if not _is_int(n) or not 1 <= n <= 4:
        raise InvalidParameterError(N_RANGE_MESSAGE)
    return parameters, n


def _size(parameters: Mapping[str, Any]) -> str | None:
    """``parameters.size``, DashScope's ``"W*H"`` (absent: ``None``)."""
    size: str | None = _optional(parameters, "size", str, "Size")
    if size is not None and not re.fullmatch(r"[1-9][0-9]*\*[1-9][0-9]*", size):
        raise InvalidParameterError(SIZE_MESSAGE)
    return size


def _poster_size(size: str) -> tuple[int, int]:
    """A poster's ``"W*H"`` as (width, height), each side in [MIN_POSTER_SIDE, MAX_POSTER_SIDE] (our extension)."""
    width, height = (int(side) for side in size.split("*"))
    if not (MIN_POSTER_SIDE <= width <= MAX_POSTER_SIDE and MIN_POSTER_SIDE <= height <= MAX_POSTER_SIDE):
        raise InvalidParameterError(f"Range of size's sides should be [{MIN_POSTER_SIDE}, {MAX_POSTER_SIDE}]")
    return width, height


@dataclass(frozen=True)
class ImageEditRequest:
    """A validated ``wan2.5-i2i-preview`` create-task request (``POST …/image2image/image-synthesis``)."""

    model: str
    prompt: str
    images: tuple[str, ...]
    n: int = 1
    negative_prompt: str | None = None
    size: str | None = None
    seed: int | None = None
    prompt_extend: bool | None = None
    watermark: bool | None = None


def _prompt(data: Mapping[str, Any]) -> str:
    prompt = data.get("prompt")
    if prompt is None:
        raise InvalidParameterError("Prompt field missing.")
    if not isinstance(prompt, str):
        raise InvalidParameterError("Prompt is not str.")
    if not prompt.strip():
        raise InvalidParameterError("Prompt is empty.")
    if len(prompt) > PROMPT_MAX_CHARS:
        raise InvalidParameterError(f"Prompt is longer than {PROMPT_MAX_CHARS} characters.")
    return prompt


def _images(data: Mapping[str, Any]) -> tuple[str, ...]:
    images = data.get("images")
    if images is None:
        raise InvalidParameterError("Images field missing.")
    if not isinstance(images, list) or not all(isinstance(item, str) for item in images):
        raise InvalidParameterError("Images is not [str].")
    if not images:
        raise InvalidParameterError("Images list is empty.")
    if len(images) > MAX_EDIT_IMAGES:
        raise InvalidParameterError(f"Range of images length should be [1, {MAX_EDIT_IMAGES}]")
    return tuple(check_url(item) for item in images)


def _optional(parameters: Mapping[str, Any], key: str, kind: type, label: str) -> Any:
    value = parameters.get(key)
    if value is not None and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
        raise InvalidParameterError(f"{label} is not {kind.__name__}.")
    return value


def _edit_parameters(raw: Any) -> dict[str, Any]:
    parameters, n = _parameters_and_n(raw)
    seed = _optional(parameters, "seed", int, "Seed")
    if seed is not None and not 0 <= seed <= SEED_MAX:
        raise InvalidParameterError(f"Range of seed should be [0, {SEED_MAX}]")
    return {
        "n": n,
        "seed": seed,
        "size": _size(parameters),
        "prompt_extend": _optional(parameters, "prompt_extend", bool, "Prompt_extend"),
        "watermark": _optional(parameters, "watermark", bool, "Watermark"),
    }


def validate_image_edit(body: Mapping[str, Any], models: tuple[str, ...] = IMAGE_EDIT_MODELS) -> ImageEditRequest:
    """Validate a ``wan2.5-i2i-preview`` create-task body.

    Parameters
    ----------
    body
        The decoded JSON body: ``{"model", "input": {"prompt", "images", "negative_prompt"?}, "parameters"?}``.
    models
        Model names this route accepts.

    Returns
    -------
    ImageEditRequest

    Raises
    ------
    InvalidParameterError
        The first broken rule: the model, a non-empty ``input.prompt`` of at most 2000 characters, 1 to 3
        ``input.images`` URLs (http or https), ``parameters.n`` in [1, 4], and the types of the optional fields.

    Example
    -------
    >>> validate_image_edit({"model": "wan2.5-i2i-preview",
    ...     "input": {"prompt": "Add the title", "images": ["https://example.com/a.png"]}}).images
    ('https://example.com/a.png',)
    """
    model = body.get("model")
    if not isinstance(model, str) or model not in models:
        raise InvalidParameterError(MODEL_MESSAGE)
    data = body.get("input")
    if not isinstance(data, dict):
        raise InvalidParameterError("Input field missing." if data is None else "Input is not a dict.")
    prompt = _prompt(data)
    images = _images(data)
    negative_prompt = _optional(data, "negative_prompt", str, "Negative_prompt")
    return ImageEditRequest(
        model=model,
        prompt=prompt,
        images=images,
        negative_prompt=negative_prompt,
        **_edit_parameters(body.get("parameters")),
    )
