"""Placeholder renderer: draws the text on the image. Replaced by the real layout engine."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw, ImageFont, ImageOps


@dataclass(frozen=True)
class PosterRequest:
    title: tuple[str, ...]
    subtitle: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    underlay: int = 0
    n: int = 1
    temperature: float = 0.7


@dataclass(frozen=True)
class RenderedPoster:
    image: Image.Image
    layout: dict[str, Any] = field(default_factory=dict)


def _open(data: bytes | Image.Image) -> Image.Image:
    image = data if isinstance(data, Image.Image) else Image.open(io.BytesIO(data))
    return ImageOps.exif_transpose(image).convert("RGB")


def render_posters(
    background: bytes | Image.Image,
    request: PosterRequest,
    logo: bytes | Image.Image | None = None,
) -> list[RenderedPoster]:
    base = _open(background)
    posters = []
    for variant in range(request.n):
        image = base.copy()
        draw = ImageDraw.Draw(image)
        size = max(12, image.height // 12)
        y = image.height // 10 + variant * size // 4
        for role, lines, scale in (("title", request.title, 1.0), ("subtitle", request.subtitle, 0.6),
                                   ("text", request.text, 0.45)):
            font = ImageFont.load_default(size=max(8, int(size * scale)))
            for line in lines:
                draw.text((image.width // 12, y), line, font=font, fill="white", stroke_width=2,
                          stroke_fill="black")
                y += int(size * scale * 1.3)
        posters.append(RenderedPoster(image=image, layout={"canvas": list(image.size), "elements": []}))
    return posters


def encode_png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
