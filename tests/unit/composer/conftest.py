"""Shared helpers for the renderer tests: fixture photos, canvases, text sets and pixel measurements.

The measurements here are written independently of the renderer's own (``metrics.py``): glyph masks are
rebuilt from the runs in the layout report, and contrast, overlap and occupancy are computed from the
finished pixels and the report alone.  Only the saliency map (the definition of ``Occ``) and the font
files come from the renderer package.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from PIL import Image, ImageDraw, ImageFont

from poster_composer.gallery import ASPECTS, TEXT_SETS, fit_aspect
from poster_composer.renderer import PosterRequest, RenderedPoster, render_posters
from poster_composer.renderer.fonts import font_path, load_font

REPO = Path(__file__).resolve().parents[3]
PHOTOS = ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg", "hubble_deep_field.jpg", "gravel.png")
SIZES = {"small": 64, "medium": 1920}


def fixture_path(name: str) -> Path:
    """A background photo: ``events/samples/backgrounds/`` in the repo first, else ``../shared/fixtures``."""
    local = REPO / "events" / "samples" / "backgrounds" / name
    if local.is_file():
        return local
    shared = REPO.parent / "shared" / "fixtures" / "backgrounds" / name
    if not shared.is_file():
        pytest.skip(f"fixture photo {name} not found")
    return shared


def logo_path() -> Path:
    """The logo fixture (horse silhouette), same lookup order as ``fixture_path``."""
    local = REPO / "events" / "samples" / "logos" / "horse.png"
    return local if local.is_file() else REPO.parent / "shared" / "fixtures" / "logos" / "horse.png"


def open_photo(name: str) -> Image.Image:
    """A fixture photo as a fresh RGB image."""
    with Image.open(fixture_path(name)) as image:
        return image.convert("RGB")


@functools.lru_cache(maxsize=64)
def _photo(name: str) -> Image.Image:
    return open_photo(name)


def canvas(name: str, aspect: str, long_side: int) -> Image.Image:
    """A photo centre-cropped to an aspect ratio (``"9x16"``) and resized to a long side (short side
    for the 64 px case, so that 1:1 is exactly 64×64)."""
    ratio = ASPECTS[aspect]
    if long_side == SIZES["small"]:
        long_side = round(64 * max(ratio) / min(ratio))
    return fit_aspect(_photo(name), ratio, long_side)


def request_for(text_set: str, **extra: Any) -> PosterRequest:
    """A ``PosterRequest`` for one of the gallery's text sets."""
    texts = TEXT_SETS[text_set]
    return PosterRequest(title=texts["title"], subtitle=texts["subtitle"], text=texts["text"], **extra)


@functools.lru_cache(maxsize=16)
def rendered(photo: str, aspect: str, size: str, text_set: str) -> tuple[Image.Image, RenderedPoster]:
    """Render once per case (cached across the tests that check it)."""
    background = canvas(photo, aspect, SIZES[size])
    return background, render_posters(background, request_for(text_set))[0]


def large_canvas(photo: str) -> Image.Image:
    """A 4000×3000 canvas of a photo."""
    return fit_aspect(_photo(photo), (4, 3), 4000)


# --- independent measurements -------------------------------------------------------------------


def luminance(rgb: npt.NDArray[Any]) -> npt.NDArray[np.float64]:
    """WCAG relative luminance of 0–255 sRGB pixels."""
    c = np.asarray(rgb, dtype=np.float64) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    out: npt.NDArray[np.float64] = lin @ np.array([0.2126, 0.7152, 0.0722])
    return out


def _grow(mask: npt.NDArray[np.bool_], radius: int) -> npt.NDArray[np.bool_]:
    """Square dilation by shifting (radius small)."""
    out = mask.copy()
    h, w = mask.shape
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            src = mask[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
            out[max(0, dy) : h - max(0, -dy), max(0, dx) : w - max(0, -dx)] |= src
    return out


def _shrink(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    return ~_grow(~mask, 1)


def line_coverage(line: dict[str, Any], box: tuple[int, int, int, int]) -> npt.NDArray[np.uint8]:
    """Rebuild a line's glyph coverage in ``box`` from the runs in the layout report."""
    mask = Image.new("L", (box[2] - box[0], box[3] - box[1]), 0)
    draw = ImageDraw.Draw(mask)
    ox, oy = line["origin"]
    for run in line["runs"]:
        if run["font"] is None or not run["text"].strip():
            continue
        font: ImageFont.FreeTypeFont = load_font(run["font"], line["size"])
        draw.text((ox + run["x"] - box[0], oy - box[1]), run["text"], fill=255, font=font, anchor="ls")
    return np.asarray(mask)


def text_lines(layout: dict[str, Any]) -> list[dict[str, Any]]:
    """Every line of every text element in a layout report."""
    return [line for e in layout["elements"] if e["role"] in ("title", "subtitle", "text") for line in e["lines"]]


def measured_contrasts(image: Image.Image, layout: dict[str, Any]) -> list[tuple[str, float, float]]:
    """``(text, contrast, required)`` per line, measured on the finished pixels.

    Glyphs: the rebuilt mask (≥ 50 % coverage) eroded by 1 px and kept where fully inked (≥ 90 %), or
    the fully inked pixels where strokes are too thin to erode.  Ring: 1 to ``1 + max(2, size/16)`` px
    outside the glyphs, other lines' glyphs excluded.  Worst ring pixel: the 95th (light text) or 5th
    (dark text) luminance percentile.
    """
    pixels = np.asarray(image)
    lines = text_lines(layout)
    w, h = image.size
    results = []
    for line in lines:
        ring_w = max(2, round(line["size"] / 16))
        pad = ring_w + 4
        x0, y0, x1, y1 = line["box"]
        box = (max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad))
        cov = line_coverage(line, box)
        glyphs = cov >= 128
        others = np.zeros_like(glyphs)
        for other in lines:
            if other is not line:
                others |= line_coverage(other, box) >= 128
        inked = cov >= 230
        core = _shrink(glyphs) & inked
        if core.sum() < max(8, 0.05 * glyphs.sum()):
            core = inked
        ring = _grow(glyphs, 1 + ring_w) & ~_grow(glyphs | others, 1)
        lum = luminance(pixels[box[1] : box[3], box[0] : box[2]])
        text_l = float(np.median(lum[core]))
        ring_l = lum[ring]
        light = text_l >= float(np.median(ring_l))
        worst = float(np.percentile(ring_l, 95 if light else 5))
        hi, lo = max(text_l, worst), min(text_l, worst)
        results.append((line["text"], (hi + 0.05) / (lo + 0.05), line["required"]))
    return results


def boxes_of(layout: dict[str, Any], *, panels: bool = False) -> list[tuple[int, int, int, int]]:
    """Element boxes (without panels unless asked)."""
    return [tuple(e["box"]) for e in layout["elements"] if (e["role"] == "panel") == panels]


def covering(layout: dict[str, Any], *regions: tuple[float, ...]) -> list[tuple[int, ...]]:
    """The element and panel boxes of a layout that touch any of the regions (x0, y0, x1, y1)."""
    boxes = boxes_of(layout) + boxes_of(layout, panels=True)
    return [box for box in boxes if any(_intersects(box, region) for region in regions)]


def _intersects(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


def font_cmap(face: str) -> frozenset[int]:
    """Code points of a face, read here with fontTools (independently of the renderer's cache)."""
    return _cmap(str(font_path(face)))


@functools.lru_cache(maxsize=32)
def _cmap(path: str) -> frozenset[int]:
    from fontTools.ttLib import TTFont

    with TTFont(path, lazy=True) as font:
        return frozenset(font.getBestCmap())
