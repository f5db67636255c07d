"""The type scale and its bounds: sizes per role from a title size, minimum sizes, margins and padding.

Minimum sizes are 14/12/11 px (title/subtitle/text, ``MIN_SIZE``) from a short side of ``SMALL_CANVAS``
(256 px) up.  Below, they scale with the short side down to the legibility floor of the role's script
(``LEGIBLE_SIZE``: 12/10/9 px for Latin, 12 px for CJK, a paragraph with any CJK character counting as
CJK; never above ``MIN_SIZE``), raised where needed to stay strictly decreasing over the roles kept.
The floors are the smallest sizes at which the pairings' faces still draw distinct characters as
distinct rasters with their strokes apart (measured in ``tests/unit/composer/test_legibility.py``; see
``FONTS.md``).  On such canvases the panel reserve around the block shrinks in the same proportion (not
under 3 px, which still hold the contrast ring), the line limits grow in inverse proportion (the block
must still fit), and the lines are measured at their own size rather than scaled, as hinting makes small
type a few pixels wider or taller.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from poster_composer.renderer.wrap import is_cjk

if TYPE_CHECKING:
    from collections.abc import Collection

    from poster_composer.renderer.layout import Paragraph

Script = Literal["latin", "cjk"]
MIN_SIZE = {"title": 14, "subtitle": 12, "text": 11}
# Legibility floors in px per script and role, measured on the pairings' faces (see FONTS.md and
# tests/unit/composer/test_legibility.py); the minimums above scale down to them on small canvases.
LEGIBLE_SIZE: dict[Script, dict[str, int]] = {
    "latin": {"title": 12, "subtitle": 10, "text": 9},
    "cjk": {"title": 12, "subtitle": 12, "text": 12},
}
SMALL_CANVAS = 256  # short side (px) below which the minimum sizes scale down
PREFERRED_MIN_SCALE = 0.35
RATIO = {"title": 1.0, "subtitle": 0.5, "text": 0.36}
SCALES = tuple(round(0.88**k, 4) for k in range(22))
TITLE_SHARE = 0.14  # the largest title tried, as a share of the canvas's geometric mean side
BANNER_BOOST = 0.25  # extra title size per doubling of a landscape canvas's aspect ratio


def shrink_for(canvas: tuple[int, int]) -> float:
    """1 from a short side of ``SMALL_CANVAS`` up, else the short side's fraction of it."""
    return min(1.0, min(canvas) / SMALL_CANVAS)


def script_of(text: str) -> Script:
    """``"cjk"`` if any character of ``text`` is CJK (its floor is the larger), else ``"latin"``."""
    return "cjk" if any(is_cjk(ch) for ch in text) else "latin"


def min_sizes(canvas: tuple[int, int], paragraphs: Collection[Paragraph]) -> dict[str, int]:
    """Minimum size per role for the kept paragraphs on ``canvas``, strictly decreasing over the roles kept.

    ``MIN_SIZE`` from a short side of ``SMALL_CANVAS`` up; below, it scales with the short side, but not
    under the legibility floor of the role's script (``LEGIBLE_SIZE``) nor over ``MIN_SIZE``.
    """
    shrink = shrink_for(canvas)
    minimum: dict[str, int] = {}
    below = 0  # the minimum of the next lower-priority role kept
    for role in ("text", "subtitle", "title"):
        texts = [p.text for p in paragraphs if p.role == role]
        floor = max((LEGIBLE_SIZE[script_of(t)][role] for t in texts), default=LEGIBLE_SIZE["latin"][role])
        size = min(MIN_SIZE[role], max(floor, round(MIN_SIZE[role] * shrink)))
        minimum[role] = max(size, below + 1)
        if texts:
            below = minimum[role]
    return minimum


def sizes_for(title: float, roles: Collection[str], minimum: dict[str, int] = MIN_SIZE) -> dict[str, int] | None:
    """Return strictly decreasing sizes from a title size, or ``None`` if below the minimums."""
    sizes: dict[str, int] = {}
    previous = math.inf
    for role in ("title", "subtitle", "text"):
        size = max(round(title * RATIO[role]), minimum[role])
        if role in roles:
            size = min(size, int(previous) - 1 if previous != math.inf else size)
            if size < minimum[role]:
                return None
            previous = size
        sizes[role] = size
    return sizes


def panel_pad(smallest: float, title: float, shrink: float) -> float:
    """Panel reserve around the block: room for a panel's padding or a scrim's feather.

    Scaled down with the minimum sizes on small canvases (``shrink`` < 1); 3 px still hold the contrast
    ring around the glyphs.
    """
    return max(3.0, (0.9 * smallest + 0.1 * title) * shrink)


def gap(previous: int, following: int) -> float:
    return max(2.0, 0.3 * previous + 0.35 * following)


def margin_for(canvas: tuple[int, int]) -> float:
    """Outer margin in px: about 5 % of the short side (at least 2 px)."""
    return max(2.0, round(0.05 * min(canvas)))


def title_base(canvas: tuple[int, int]) -> float:
    """The largest title size tried: about a seventh of the canvas's geometric mean side, capped by the short side."""
    w, h = canvas
    # Banners get a larger share: their height, not their area, bounds a headline.
    wide = 1.0 + BANNER_BOOST * math.log2(w / h) if w > h else 1.0
    return min(TITLE_SHARE * math.sqrt(w * h) * wide, 0.22 * min(w, h) if w < h else 0.42 * h)
