"""The poster spec: where it comes from (sidecar, S3 user metadata, file name) and the API's rules.

Validation uses the API's own messages (``Title field missing.`` …) so a user sees the same error
whether our check or the service caught it. What can be normalised is: a string where a list of
strings is expected, numbers given as text, surrounding white space and control characters.
"""

from __future__ import annotations

import json
import posixpath
import re
import unicodedata
from dataclasses import dataclass
from email.header import decode_header
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from poster_common.errors import InvalidBrandFileError, InvalidJobSpecError, InvalidSidecarError
from poster_common.formats import parse_formats
from poster_common.models import JobSpec

if TYPE_CHECKING:
    from collections.abc import Mapping

SIDECAR_SUFFIX = ".poster.json"
METADATA_PREFIX = "poster-"
MAX_ITEMS = 10
MAX_ITEM_CHARS = 300
BRAND_FILE = "brand.json"
#: What a ``brand.json`` may set for every job below its folder (a sidecar or an event overrides it).
BRAND_FIELDS = frozenset({"logo", "underlay", "font_pairing", "accent_color", "formats"})
_FIELDS = frozenset({"title", "subtitle", "text", "underlay", "logo", "n", "temperature"}) | BRAND_FIELDS
_INVALID_SIDECAR = "$invalid_sidecar"
_INVALID_BRAND = "$invalid_brand"
_ACCENT = re.compile(r"#[0-9A-Fa-f]{6}")
_PAIRING = re.compile(r"[a-z0-9][a-z0-9+\-]{0,63}")


@dataclass(frozen=True)
class RawSpec:
    """The spec as found, before validation; ``origin`` is ``sidecar``, ``event``, ``metadata`` or ``filename``."""

    origin: str
    data: dict[str, Any]


def sidecar_key_for(image_key: str) -> str:
    return posixpath.splitext(image_key)[0] + SIDECAR_SUFFIX


def raw_from_sidecar(body: bytes) -> RawSpec:
    """Parse a sidecar; a broken one is kept as a marker so it fails validation with a clear message."""
    data = _json_object(body, "sidecar")
    return RawSpec("sidecar", {_INVALID_SIDECAR: data} if isinstance(data, str) else data)


def _json_object(body: bytes, name: str) -> dict[str, Any] | str:
    """The JSON object ``body`` holds, or why it holds none (a message naming ``name``)."""
    try:
        data = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"{name} is not valid UTF-8 JSON: {exc}"
    return data if isinstance(data, dict) else f"{name} must be a JSON object"


def raw_from_event(spec: Any) -> RawSpec:
    """The inline spec of a "Poster requested" event: the sidecar's rules and messages."""
    if not isinstance(spec, dict):
        return RawSpec("event", {_INVALID_SIDECAR: "the event's spec must be a JSON object"})
    return RawSpec("event", spec)


def brand_folders(image_key: str, input_prefix: str) -> list[str]:
    """The folders whose ``brand.json`` applies to ``image_key``, outermost first (only inside the input prefix).

    >>> brand_folders("incoming/shop/spring/a.jpg", "incoming/")
    ['incoming/', 'incoming/shop/', 'incoming/shop/spring/']
    """
    if not image_key.startswith(input_prefix):
        return []
    folders = [input_prefix]
    for part in image_key[len(input_prefix) :].split("/")[:-1]:
        folders.append(f"{folders[-1]}{part}/")
    return folders


def brand_defaults(body: bytes, key: str) -> dict[str, Any]:
    """A ``brand.json``'s fields; a broken one is kept as a marker so the job fails with ``InvalidBrandFile``."""
    data = _json_object(body, key)
    if isinstance(data, str):
        return {_INVALID_BRAND: data}
    unknown = sorted(set(data) - BRAND_FIELDS)
    if unknown:
        allowed = ", ".join(sorted(BRAND_FIELDS))
        return {_INVALID_BRAND: f"Unknown field(s) in {key}: {', '.join(unknown)} (allowed: {allowed})."}
    return data


def with_defaults(raw: RawSpec, defaults: dict[str, Any]) -> RawSpec:
    """``raw`` over brand ``defaults``: each field the spec sets wins."""
    if not defaults:
        return raw
    return RawSpec(raw.origin, {**defaults, **raw.data})


def raw_from_metadata(metadata: Mapping[str, str]) -> RawSpec | None:
    """``x-amz-meta-poster-*`` values (JSON, RFC 2047 or percent-encoded UTF-8 accepted), or None."""
    found = {
        key[len(METADATA_PREFIX) :].lower().replace("-", "_"): _decode_metadata_value(value)
        for key, value in metadata.items()
        if key.lower().startswith(METADATA_PREFIX)
    }
    if "title" not in found:
        return None
    data: dict[str, Any] = {}
    for name, value in found.items():
        try:
            data[name] = json.loads(value) if value[:1] in '[{"' else value
        except ValueError:
            data[name] = value
    return RawSpec("metadata", data)


def raw_from_filename(image_key: str) -> RawSpec:
    """A title made from the file name: ``summer_sale-2026.jpg`` → ``Summer Sale 2026``."""
    stem = posixpath.splitext(posixpath.basename(image_key))[0]
    title = re.sub(r"[\s_\-.]+", " ", stem).strip() or "Poster"
    if title.isascii() and title.islower():
        title = title.title()
    return RawSpec("filename", {"title": [title]})


def _decode_metadata_value(value: str) -> str:
    if "=?" in value:
        return "".join(
            part.decode(charset or "utf-8", "replace") if isinstance(part, bytes) else part
            for part, charset in decode_header(value)
        )
    if re.search(r"%[0-9A-Fa-f]{2}", value):
        return unquote(value, errors="strict")
    return value


def validate(raw: RawSpec) -> JobSpec:
    """Apply the API's rules; raise ``InvalidJobSpecError`` / ``InvalidSidecarError`` with its message."""
    data = raw.data
    if _INVALID_BRAND in data:
        raise InvalidBrandFileError(str(data[_INVALID_BRAND]))
    if _INVALID_SIDECAR in data:
        raise InvalidSidecarError(str(data[_INVALID_SIDECAR]))
    unknown = sorted(set(data) - _FIELDS)
    if unknown and raw.origin in ("sidecar", "event"):
        raise InvalidSidecarError(f"Unknown field(s) in {raw.origin}: {', '.join(unknown)}.")
    if "title" not in data:
        raise InvalidJobSpecError("Title field missing.")
    title = _strings(data["title"], "Title")
    if not title:
        raise InvalidJobSpecError("Title list is empty.")
    return JobSpec(
        title=title,
        subtitle=_strings(data.get("subtitle", []), "Subtitle"),
        text=_strings(data.get("text", []), "Text"),
        underlay=_integer(data.get("underlay", 0), "underlay", 0, 2),
        logo_key=_logo(data.get("logo")),
        n=_integer(data.get("n", 1), "n", 1, 4),
        temperature=_number(data.get("temperature", 0.7), "temperature", 0.0, 1.0),
        formats=parse_formats(data.get("formats", [])),
        font_pairing=_optional(data.get("font_pairing"), _PAIRING, "font_pairing must be a font pairing's name."),
        accent_color=_accent(data.get("accent_color")),
    )


def _optional(value: Any, pattern: re.Pattern[str], message: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not pattern.fullmatch(value.strip()):
        raise InvalidJobSpecError(message)
    return value.strip()


def _accent(value: Any) -> str | None:
    colour = _optional(value, _ACCENT, "accent_color must be a colour as #RRGGBB.")
    return colour.upper() if colour else None


def _clean(text: str) -> str:
    kept = "".join(" " if unicodedata.category(ch) in {"Cc", "Zl", "Zp"} else ch for ch in text)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", kept)).strip()


def _strings(value: Any, label: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise InvalidJobSpecError(f"{label} is not [str].")
    cleaned = tuple(text for text in (_clean(item) for item in items) if text)
    if len(cleaned) > MAX_ITEMS:
        raise InvalidJobSpecError(f"{label} has more than {MAX_ITEMS} items.")
    if any(len(text) > MAX_ITEM_CHARS for text in cleaned):
        raise InvalidJobSpecError(f"{label} item is longer than {MAX_ITEM_CHARS} characters.")
    return cleaned


def _integer(value: Any, name: str, low: int, high: int) -> int:
    number = _number(value, name, low, high)
    if number != int(number):
        raise InvalidJobSpecError(f"{name} must be an integer.")
    return int(number)


def _number(value: Any, name: str, low: float, high: float) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise InvalidJobSpecError(f"{name} must be a number.") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidJobSpecError(f"{name} must be a number.")
    if not low <= value <= high:
        raise InvalidJobSpecError(f"Range of {name} should be [{low}, {high}]")
    return float(value)


def _logo(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidJobSpecError("logo must be the key of a PNG in the input bucket.")
    return value.strip().lstrip("/")
