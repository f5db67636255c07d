"""Drawing on the full-resolution canvas: panels (blended only inside their own crop), the logo and text.

Text is rasterised once per line into a coverage mask (all runs of the line, each with its own face on
one baseline) and painted through it; the same mask serves the contrast measurement afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw

from poster_composer.renderer.geometry import expand
from poster_composer.renderer.metrics import draw_runs, ring_width

if TYPE_CHECKING:
    from poster_composer.renderer.colour import RGB
    from poster_composer.renderer.layout import PlacedLine
    from poster_composer.renderer.scheme import PanelSpec

IntBox = tuple[int, int, int, int]


def _ramp(length: int, start: float, end: float) -> npt.NDArray[np.float64]:
    """0→1 smoothstep over ``start`` px from one end and 1→0 over ``end`` px to the other (1 if no ramp)."""
    pos = np.arange(length, dtype=np.float64) + 0.5
    up = np.clip(pos / start, 0.0, 1.0) if start > 0 else np.ones(length)
    down = np.clip((length - pos) / end, 0.0, 1.0) if end > 0 else np.ones(length)
    ramp = np.minimum(up, down)
    out: npt.NDArray[np.float64] = ramp * ramp * (3 - 2 * ramp)
    return out


def _panel_mask(spec: PanelSpec) -> Image.Image:
    w, h = spec.box[2] - spec.box[0], spec.box[3] - spec.box[1]
    full = round(spec.alpha * 255)
    if any(f > 0 for f in spec.fades):
        left, top, right, bottom = spec.fades
        # The outer product in float32, rounded half up: a scrim can cover a third of a 12-megapixel canvas.
        ramp = np.multiply.outer(
            (_ramp(h, top, bottom) * full).astype(np.float32), _ramp(w, left, right).astype(np.float32)
        )
        ramp += 0.5
        return Image.fromarray(ramp.astype(np.uint8), "L")
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w - 1, h - 1), radius=round(spec.radius), fill=full)
    return mask


def paint_panel(image: Image.Image, spec: PanelSpec) -> None:
    """Blend a panel into ``image`` inside its own box only."""
    if spec.box[2] <= spec.box[0] or spec.box[3] <= spec.box[1]:
        return
    image.paste(spec.colour, spec.box, _panel_mask(spec))


def paint_logo(image: Image.Image, logo: Image.Image, box: IntBox, colour: RGB | None = None) -> None:
    """Scale the RGBA ``logo`` to ``box`` and composite it with its alpha (in ``colour``, if given:
    a one-colour mark recoloured like the text)."""
    size = (box[2] - box[0], box[3] - box[1])
    if size[0] < 1 or size[1] < 1:
        return
    scaled = logo.resize(size, Image.Resampling.LANCZOS)
    if colour is not None:
        image.paste(colour, box, scaled.getchannel("A"))
        return
    image.paste(scaled.convert("RGB"), box[:2], scaled.getchannel("A"))


@dataclass(frozen=True)
class LineMask:
    """A line's glyph coverage (0–255) in a crop of the canvas, and the crop's box."""

    box: IntBox
    coverage: npt.NDArray[np.uint8]
    ink: IntBox | None


def line_mask(line: PlacedLine, canvas: tuple[int, int]) -> LineMask:
    """Rasterise one placed line's runs into a coverage mask around its box (ring included)."""
    box = expand(line.box, 3 + ring_width(line.set.size), canvas)
    mask = Image.new("L", (max(1, box[2] - box[0]), max(1, box[3] - box[1])), 0)
    runs = [(run.text, run.face, run.x) for run in line.set.runs]
    draw_runs(mask, line.origin, runs, line.set.size, (box[0], box[1]))
    bbox = mask.getbbox()
    ink = None if bbox is None else (box[0] + bbox[0], box[1] + bbox[1], box[0] + bbox[2], box[1] + bbox[3])
    return LineMask(box, np.asarray(mask), ink)


def paint_line(image: Image.Image, mask: LineMask, colour: RGB) -> None:
    """Paint ``colour`` through a line's coverage mask."""
    if mask.ink is None:
        return
    # Only the ink box: the coverage is zero everywhere else in the crop, so the result is the same.
    x0, y0, x1, y1 = mask.ink
    ox, oy = mask.box[0], mask.box[1]
    coverage = np.ascontiguousarray(mask.coverage[y0 - oy : y1 - oy, x0 - ox : x1 - ox])
    image.paste(colour, mask.ink, Image.fromarray(coverage, "L"))
