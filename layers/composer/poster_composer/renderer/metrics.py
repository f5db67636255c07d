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

from poster_composer.renderer.colour import _LUT, _LUT_B, contrast, luminance_array
from poster_composer.renderer.fonts import load_font

if TYPE_CHECKING:
    from collections.abc import Iterable

    from poster_composer.renderer.analysis import Analysis

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


def _spread(mask: BoolArray, length: int, axis: int, forward: bool) -> BoolArray:
    """OR of ``mask`` shifted by 0..length-1 px along ``axis`` (by doubling: O(log length) passes)."""
    out = mask.copy()
    covered = 1
    n = mask.shape[axis]
    while covered < length:
        step = min(covered, length - covered)
        if step >= n:
            break
        src = [slice(None), slice(None)]
        dst = [slice(None), slice(None)]
        if forward:
            src[axis], dst[axis] = slice(0, n - step), slice(step, n)
        else:
            src[axis], dst[axis] = slice(step, n), slice(0, n - step)
        out[tuple(dst)] |= out[tuple(src)]
        covered += step
    return out


def dilate(mask: BoolArray, radius: int) -> BoolArray:
    """Binary dilation by a square of side ``2 * radius + 1``."""
    if radius <= 0:
        return mask
    out = mask
    for axis in (0, 1):
        out = _spread(_spread(out, radius + 1, axis, True), radius + 1, axis, False)
    return out


def erode(mask: BoolArray, radius: int) -> BoolArray:
    """Binary erosion by a square of side ``2 * radius + 1`` (pixels outside the array do not erode)."""
    if radius == 1:  # the common case: a 3 × 3 square, as two in-place passes of neighbour ANDs
        out = mask.copy()
        out[1:] &= mask[:-1]
        out[:-1] &= mask[1:]
        rows = out.copy()
        out[:, 1:] &= rows[:, :-1]
        out[:, :-1] &= rows[:, 1:]
        return out
    result: BoolArray = ~dilate(~mask, radius)
    return result


def expand(box: Box, by: float, canvas: tuple[int, int]) -> IntBox:
    """Integer box grown by ``by`` px on every side and clipped to the canvas."""
    return (
        max(0, int(np.floor(box[0] - by))),
        max(0, int(np.floor(box[1] - by))),
        min(canvas[0], int(np.ceil(box[2] + by))),
        min(canvas[1], int(np.ceil(box[3] + by))),
    )


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


# ``luminance_array`` split as (red + green) + blue: the same sums, from two gathers per pixel.
_LUT_RG = (_LUT[:, 0][:, None] + _LUT[:, 1][None, :]).ravel()


def _luminance_at(pixels: npt.NDArray[np.uint8], where: BoolArray) -> npt.NDArray[np.float64]:
    """``luminance_array(pixels[where])`` for an ``(h, w, 3)`` uint8 crop, without copying whole pixels.

    The red and green bytes of each pixel are read as one big-endian 16-bit index into a table of their
    summed contributions, the blue byte into its own table; the result is bit-identical.
    """
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[-1] != 3:
        return luminance_array(pixels[where])
    buf = np.ascontiguousarray(pixels).reshape(-1)
    idx = np.flatnonzero(where)
    red_green = np.ndarray((buf.size // 3,), dtype=">u2", buffer=buf, strides=(3,))
    out: npt.NDArray[np.float64] = _LUT_RG.take(red_green.take(idx)) + _LUT_B.take(buf[2::3].take(idx))
    return out


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
    text_l = float(np.median(_luminance_at(pixels, core), overwrite_input=True))
    ring_l = _luminance_at(pixels, ring)
    light = text_l >= float(np.median(ring_l, overwrite_input=True))
    worst = float(np.percentile(ring_l, 95 if light else 5, overwrite_input=True))
    return contrast(text_l, worst)


def occupancy(analysis: Analysis, boxes: list[Box]) -> float:
    """PosterLayout ``Occ``: mean saliency under the boxes (0 when there are none)."""
    if not boxes:
        return 0.0
    return sum(analysis.mean_saliency(b) for b in boxes) / len(boxes)


def centred(boxes: list[Box], canvas: tuple[int, int]) -> list[Box]:
    """The same boxes translated so that their union is centred on the canvas."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[2] for b in boxes)
    y1 = max(b[3] for b in boxes)
    dx = (canvas[0] - (x1 - x0)) / 2 - x0
    dy = (canvas[1] - (y1 - y0)) / 2 - y0
    return [(b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy) for b in boxes]


def overlap(boxes: list[Box]) -> float:
    """PosterLayout ``Ove``: mean pairwise IoU of the boxes."""
    pairs = [(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :]]
    if not pairs:
        return 0.0
    total = 0.0
    for a, b in pairs:
        ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
        iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
        union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
        total += ix * iy / union if union > 0 else 0.0
    return total / len(pairs)
