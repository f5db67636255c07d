"""Poster formats: the sizes one request is rendered at (``formats`` in a spec), by preset name or ``W*H``.

Each format becomes its own provider task with ``parameters.size`` (the composer reframes the background
around its subject to that size) and its own folder, ``posters/<stem>/<label>/``.

Examples
--------
>>> [f.label for f in parse_formats(["square", "1080*1920", "640x480"])]
['square', '1080x1920', '640x480']
>>> parse_formats(["story"])[0].size
'1080*1920'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from poster_common.errors import InvalidJobSpecError

#: Named sizes (width, height): the common social and web placements.
PRESETS: dict[str, tuple[int, int]] = {
    "square": (1080, 1080),
    "portrait": (1080, 1350),
    "story": (1080, 1920),
    "landscape": (1920, 1080),
    "banner-4x1": (2048, 512),
}
MAX_FORMATS = 6
MIN_SIDE = 64
MAX_SIDE = 4096
_SIZE = re.compile(r"\s*(\d{2,4})\s*[*xX×]\s*(\d{2,4})\s*")
FORMATS_MESSAGE = (
    f"formats must be a list of at most {MAX_FORMATS} sizes: preset names ({', '.join(PRESETS)}) "
    f"or width*height, each side {MIN_SIDE}-{MAX_SIDE}."
)


@dataclass(frozen=True)
class PosterFormat:
    """One output size; ``label`` names its folder (the preset's name, or ``<W>x<H>``)."""

    label: str
    width: int
    height: int

    @property
    def size(self) -> str:
        """The API's ``parameters.size`` (``W*H``)."""
        return f"{self.width}*{self.height}"


def parse_format(value: Any) -> PosterFormat:
    """A preset name or a ``W*H`` / ``WxH`` size; ``InvalidJobSpecError`` otherwise."""
    if not isinstance(value, str):
        raise InvalidJobSpecError(FORMATS_MESSAGE)
    name = value.strip().lower()
    if name in PRESETS:
        width, height = PRESETS[name]
        return PosterFormat(name, width, height)
    match = _SIZE.fullmatch(name)
    if match is None:
        raise InvalidJobSpecError(f"Unknown format {value!r}. {FORMATS_MESSAGE}")
    width, height = int(match.group(1)), int(match.group(2))
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise InvalidJobSpecError(f"Format {value!r} is out of range. {FORMATS_MESSAGE}")
    return PosterFormat(f"{width}x{height}", width, height)


def parse_formats(value: Any) -> tuple[PosterFormat, ...]:
    """The ``formats`` field: a string or a list of them, duplicates refused, order kept."""
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or len(items) > MAX_FORMATS:
        raise InvalidJobSpecError(FORMATS_MESSAGE)
    formats = tuple(parse_format(item) for item in items)
    labels = [f.label for f in formats]
    if len(set(labels)) != len(labels):
        raise InvalidJobSpecError(f"formats lists the same size twice: {', '.join(labels)}.")
    return formats
