"""Measurements on finished pixels: glyph masks, text contrast and layout metrics.

Contrast of a line (as in the composer notes): the glyph pixels are the line's rendered mask (coverage
≥ 50 %) eroded by one pixel and limited to fully inked pixels (see ``glyph_core``); the *ring* is the pixels between 1
and ``1 + ring_width(size)`` px outside the glyphs (other lines' glyphs excluded).  The line's contrast is
that of the glyph core's median luminance against the worst ring pixel, the 95th luminance percentile
for light text or the 5th for dark text.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from poster_composer.renderer.colour import contrast, luminance_at
from poster_composer.renderer.fonts import load_font
from poster_composer.renderer.morphology import dilate, erode

if TYPE_CHECKING:
    from collections.abc import Iterable

BoolArray = npt.NDArray[np.bool_]
Box = tuple[float, float, float, float]
IntBox = tuple[int, int, int, int]

LARGE_SIZE = 24.0
LARGE_BOLD_SIZE = 18.7
AA_NORMAL = 4.5
AA_LARGE = 3.0


def required_contrast(size: float, bold: bool) -> float:
    """WCAG AA threshold for text of ``size`` px (3:1 for large text, else 4.5:1)."""
    large = size >= LARGE_SIZE or (bold and size >= LARGE_BOLD_SIZE)
    return AA_LARGE if large else AA_NORMAL


def ring_width(size: float) -> int:
    """Width of the ring sampled around glyphs, in px."""
    return max(2, round(size / 16))


def draw_runs(
    mask: Image.Image,
    origin: tuple[float, float],
    runs: Iterable[tuple[str, str | None, float]],
    size: int,
    offset: tuple[int, int],
) -> None:
    """Draw ``(text, face, x)`` runs of a line into an ``L`` mask whose top-left is at canvas ``offset``."""
    draw = ImageDraw.Draw(mask)
    for text, face, x in runs:
        if face is None or not text.strip():
            continue
        draw.text(
            (origin[0] + x - offset[0], origin[1] - offset[1]),
            text,
            fill=255,
            font=load_font(face, size),
            anchor="ls",
        )


def glyph_core(mask: BoolArray, coverage: npt.NDArray[np.uint8]) -> BoolArray:
    """Glyph pixels safe to sample for the text colour.

    The mask eroded by 1 px, keeping fully inked pixels (coverage ≥ 90 %); where strokes are too thin
    for that to leave a few pixels, the fully inked pixels alone, or failing that the most inked ones.
    """
    inked = coverage >= 230
    core = erode(mask, 1) & inked
    if np.count_nonzero(core) < max(8, 0.05 * np.count_nonzero(mask)):
        core = inked
    if not core.any():
        core = coverage >= coverage.max()
    return core


def line_contrast(
    pixels: npt.NDArray[np.uint8], coverage: npt.NDArray[np.uint8], others: BoolArray, size: float
) -> float:
    """Contrast of one line on finished pixels.

    Parameters
    ----------
    pixels:
        ``(h, w, 3)`` crop of the finished poster around the line (grown by the ring width + 2).
    coverage:
        ``(h, w)`` glyph coverage (0–255) of this line in the same crop.
    others:
        ``(h, w)`` glyph pixels of every other line in the crop (excluded from the ring).
    size:
        Font size in px (sets the ring width).

    Returns
    -------
    float
        The WCAG contrast ratio of the glyphs against the worst ring pixel.
    """
    glyphs = coverage >= 128
    if not glyphs.any():
        return 21.0
    core = glyph_core(glyphs, coverage)
    ring = dilate(glyphs, 1 + ring_width(size)) & ~dilate(glyphs | others, 1)
    if not ring.any():
        return 21.0
    # The luminance arrays are temporaries: let median and percentile partition them in place (their
    # results do not depend on the order of the values).
    text_l = float(np.median(luminance_at(pixels, core), overwrite_input=True))
    ring_l = luminance_at(pixels, ring)
    light = text_l >= float(np.median(ring_l, overwrite_input=True))
    worst = float(np.percentile(ring_l, 95 if light else 5, overwrite_input=True))
    return contrast(text_l, worst)
