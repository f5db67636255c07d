"""Placement: sizes, wrapping and position of the text block (and logo), by composition archetype.

The block is a vertical stack — logo, title, subtitle, text — aligned on one axis (left edges or centres
of the ink boxes coincide; never right-aligned).  The search tries, for the kept paragraphs, each
composition archetype the canvas offers (``archetypes``: a full-width band, a large centred stack, a side
column, text over an edge scrim, a framed card) with its wrap widths, and for each:

- a type scale from the largest title (``TITLE_SHARE`` of the canvas's geometric mean side) down by
  steps of 12 %: the title first, then subtitle ≈ ``T/2`` and text ≈ ``T/3`` on one measure, strictly
  decreasing, with minimums;
- the archetype's positions (a band at the top or bottom, a column at either side, …),

and scores each by the mean saliency under the element boxes (``Occ``), the edge energy under the block
(its backing's span for bands and scrims), a penalty for smaller type (``SIZE_WEIGHT``: a poster's title
carries the image), a large one for a Latin word broken across lines, and a large one when the footprint
(panel included, with a little air around) touches a face or the subject (``Analysis.protected``).
Geometry in the search is scaled from measurements at a reference size (fast); ``realise`` then sets the
chosen lines for real, and rejects a line with no fully inked pixel (thin small type that never shows its
colour).  Later variants take another archetype or alignment and a title box overlapping no earlier
variant's (``Taken``).

If nothing fits even at the minimum sizes, the lowest-priority paragraph is dropped (text, then
subtitle, then the logo, then title lines) and the search runs again; the dropped items are reported.
The same happens when no candidate keeps ``Occ`` under ``OCC_LIMIT`` and below the ``Occ`` of the same
boxes centred on the canvas: on a small canvas crowded by its subject, less text is better than text
over the subject.

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

The first title is never dropped.  When it alone cannot be placed that way, a relaxed search
(``_fallback``) tries, in order: every title size down to its minimum, more column widths (a third and a
fifth of the usable width too), and free positions (a finer grid of horizontal and vertical positions,
not only pinned to the margins or the centre line).  The best-scored relaxed candidate that meets the
preferred ``Occ`` bounds wins; failing that, the one with the least saliency under the title, preferring
one off faces, among those still below the centred position and under ``FALLBACK_OCC_LIMIT``.  Margins,
overlap and contrast (``scheme``) are enforced as always.  Only if the title cannot fit inside the
margins at its minimum size, or every fitting placement breaks those ``Occ`` bounds (tiny canvases
crowded by their subject), is it dropped too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from poster_composer.renderer.archetypes import FREE, Archetype, archetypes_for, positions
from poster_composer.renderer.typeset import (
    REF_SIZE,
    SetLine,
    line_metrics_at,
    line_metrics_ref,
    reaches_full_ink,
    set_line,
)
from poster_composer.renderer.wrap import Line, is_cjk, wrap

if TYPE_CHECKING:
    import random
    from collections.abc import Collection

    from poster_composer.renderer.analysis import Analysis
    from poster_composer.renderer.fonts import Pairing, Role

Align = Literal["left", "centre", "right"]
Script = Literal["latin", "cjk"]
Box = tuple[float, float, float, float]

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
LEADING = {"title": 1.12, "subtitle": 1.22, "text": 1.38}
MAX_LINES = {"title": 4, "subtitle": 3, "text": 8}
MEASURE_EM = {"title": 1e9, "subtitle": 22.0, "text": 26.0}
SCALES = tuple(round(0.88**k, 4) for k in range(22))
TITLE_SHARE = 0.14  # the largest title tried, as a share of the canvas's geometric mean side
BANNER_BOOST = 0.25  # extra title size per doubling of a landscape canvas's aspect ratio
SIZE_WEIGHT = 0.8  # penalty per unit of type-scale reduction: a poster's title carries the image
ALIGNS: tuple[Align, ...] = ("left", "centre")
OCC_LIMIT = 0.33
ATTEMPTS = 12
MAX_VARIANT_IOU = 0.5
SPLIT_GUTTER = 0.8  # the gutter between a split's two columns, in title sizes
BUSY_SPREAD = 0.2  # saliency p90 − p10 below which an image without a subject counts as busy all over
FALLBACK_X_SLOTS = 17
FALLBACK_Y_SLOTS = 21
FALLBACK_ATTEMPTS = 48
FALLBACK_OCC_LIMIT = 0.345  # hard bound of the fallback (the preferred bound is ``OCC_LIMIT``)
FALLBACK_OCC_SLACK = 0.02  # how far a candidate's estimated Occ may exceed it and still be set
FACE_PENALTY = 2.0
OVERLAP_WEIGHT = 3.0
SKIN_WEIGHT = 30.0  # a face weighs far more than the rest of the subject
PROTECT_GUARD = 0.04  # air kept around faces and the subject, as a share of the short side
ROOM_GROW = 0.7  # how far a backing may reach past the block, as a share of the block's height
BROKEN_WORD_PENALTY = 0.6


@dataclass(frozen=True)
class Paragraph:
    """One input string (normalised) with its role and index in the request's list for that role."""

    role: Role
    index: int
    text: str


@dataclass(frozen=True)
class PlacedLine:
    """A wrapped line placed on the canvas: pen origin on the baseline and absolute ink box."""

    paragraph: Paragraph
    line: Line
    set: SetLine
    origin: tuple[float, float]
    box: Box


@dataclass(frozen=True)
class PlacedElement:
    """A title/subtitle/text element (its lines) or the logo, with its absolute ink box."""

    role: str
    box: Box
    size: int
    lines: tuple[PlacedLine, ...] = ()


@dataclass(frozen=True)
class Layout:
    """The chosen arrangement: elements, the block footprint (panel reserve included) and bookkeeping."""

    elements: tuple[PlacedElement, ...]
    footprint: Box
    pad: float
    align: Align
    dropped: tuple[Paragraph, ...]
    logo_dropped: bool
    score: float
    occ: float
    sizes: dict[str, int] = field(default_factory=dict)
    archetype: str = "free"
    backed: bool = False  # busy ground: the block always gets a backing (a band), whatever the underlay
    room: Box | None = None  # how far a backing may grow past the footprint (clear of faces and the subject)


@dataclass(frozen=True)
class _Stacked:
    """An element's lines at one size, relative to the element's top-left (ink-based)."""

    role: str
    size: int
    width: float
    height: float
    lines: tuple[tuple[Paragraph, Line, float, Box], ...]  # paragraph, line, baseline y, ink at origin
    broken_words: int = 0  # Latin words broken across lines (only when a word is wider than the measure)


@dataclass(frozen=True)
class _Block:
    elements: tuple[_Stacked, ...]
    offsets: tuple[float, ...]  # top of each element inside the block
    width: float
    height: float
    pad: float
    x_offsets: tuple[float, ...] = ()  # left of each element inside the block (a split's second column)
    gutter: float | None = None  # a split's gutter between its columns
    tall: float | None = None  # a tall split's height (title at the top, the rest at the bottom)


def _stretch(
    items: list[tuple[str, int, float, float]],
    arranged: tuple[tuple[float, ...], tuple[float, ...], float, float],
    tall: float,
) -> tuple[tuple[float, ...], tuple[float, ...], float, float]:
    """A one-column arrangement stretched to ``tall``: the body moves down to the bottom."""
    tops, lefts, width, height = arranged
    body = [i for i, item in enumerate(items) if item[0] not in ("logo", "title")]
    if not body or tall <= height:
        return arranged
    moved = tuple(top + (tall - height if i in body else 0.0) for i, top in enumerate(tops))
    return moved, lefts, width, tall


def _arrange(
    items: list[tuple[str, int, float, float]], title_size: int, gutter: float | None, tall: float | None = None
) -> tuple[tuple[float, ...], tuple[float, ...], float, float]:
    """Offsets of stacked elements ``(role, size, width, height)``: one column, or with a ``gutter`` two (logo
    and title left, the rest right, the two groups centred on each other), or with a ``tall`` height one
    column that spans it (logo and title at the top, the rest at the bottom).  Returns (tops, lefts, width,
    height).
    """
    if tall is not None:
        return _stretch(items, _arrange(items, title_size, None), tall)
    groups = [list(range(len(items)))]
    if gutter is not None:
        first = [i for i, item in enumerate(items) if item[0] in ("logo", "title")]
        groups = [first, [i for i in range(len(items)) if i not in first]]
    tops, lefts = [0.0] * len(items), [0.0] * len(items)
    heights, x, widths = [], 0.0, []
    for group in groups:
        y = 0.0
        for k, i in enumerate(group):
            if k:
                prev = items[group[k - 1]]
                y += _gap(prev[1] if prev[0] != "logo" else title_size, items[i][1])
            tops[i], lefts[i] = y, x
            y += items[i][3]
        width = max(items[i][2] for i in group)
        heights.append(y)
        widths.append(width)
        x += width + (gutter or 0.0)
    height = max(heights)
    for group, group_height in zip(groups, heights, strict=True):
        for i in group:
            tops[i] += (height - group_height) / 2
    return tuple(tops), tuple(lefts), sum(widths) + (gutter or 0.0) * (len(groups) - 1), height


@dataclass(frozen=True)
class _Candidate:
    score: float
    occ: float
    block: _Block
    kept: tuple[Paragraph, ...]
    align: Align
    x: float
    y: float
    scale: float
    wrap_width: float
    face: bool = False  # the footprint touches a protected area (a face or the subject)
    free: bool = False  # x is a free position (fallback search), not pinned to a margin or the centre
    archetype: Archetype = FREE


def _shrink(canvas: tuple[int, int]) -> float:
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
    shrink = _shrink(canvas)
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


def _pad(smallest: float, title: float, shrink: float) -> float:
    """Panel reserve around the block: room for a panel's padding or a scrim's feather.

    Scaled down with the minimum sizes on small canvases (``shrink`` < 1); 3 px still hold the contrast
    ring around the glyphs.
    """
    return max(3.0, (0.9 * smallest + 0.1 * title) * shrink)


def _gap(previous: int, following: int) -> float:
    return max(2.0, 0.3 * previous + 0.35 * following)


def _stack_role(
    role: Role,
    paragraphs: list[Paragraph],
    chain: tuple[str, ...],
    size: int,
    wrap_width: float,
    max_lines: int,
    exact: bool = False,
) -> _Stacked | None:
    """Wrap and stack one role's paragraphs; ``None`` if too many lines.

    Metrics are scaled from the reference size, or measured at ``size`` itself when ``exact`` (small
    canvases, where hinting makes small type a few pixels wider or taller than scaled).
    """
    k = 1.0 if exact else size / REF_SIZE

    def metrics(text: str) -> tuple[float, Box]:
        return line_metrics_at(text, chain, size) if exact else line_metrics_ref(text, chain)

    pitch = LEADING[role] * size
    lines: list[tuple[Paragraph, Line, float, Box]] = []
    count = 0
    baseline = 0.0
    for p_index, paragraph in enumerate(paragraphs):
        wrapped = wrap(paragraph.text, wrap_width / k, lambda s: metrics(s)[0], balance=role != "text")
        count += len(wrapped)
        if count > max_lines * (1 if role == "text" else len(paragraphs)):
            return None
        for line in wrapped:
            _, ink = metrics(line.text)
            if not lines:
                baseline = -ink[1] * k
            elif p_index and line is wrapped[0]:
                baseline += pitch * 1.35 if role == "text" else pitch
            else:
                baseline += pitch
            lines.append((paragraph, line, baseline, (ink[0] * k, ink[1] * k, ink[2] * k, ink[3] * k)))
    if not lines:
        return None
    width = max(ink[2] - ink[0] for *_, ink in lines)
    height = max(base + ink[3] for _, _, base, ink in lines)
    broken = sum(
        1
        for paragraph, line, _, _ in lines
        if not line.joiner
        and line.end < len(paragraph.text)
        and paragraph.text[line.end - 1].isalnum()
        and paragraph.text[line.end].isalnum()
        and not is_cjk(paragraph.text[line.end - 1])
        and not is_cjk(paragraph.text[line.end])
    )
    return _Stacked(role, size, width, height, tuple(lines), broken)


def _block(
    kept: tuple[Paragraph, ...],
    pairing: Pairing,
    sizes: dict[str, int],
    wrap_width: float,
    logo_aspect: float | None,
    shrink: float = 1.0,
    split: bool = False,
    tall: float | None = None,
) -> _Block | None:
    """Wrap and stack the kept paragraphs at ``sizes``; ``split``: title and body side by side in two columns;
    ``tall``: the stack spans that height (title at the top, the rest at the bottom)."""
    elements: list[_Stacked] = []
    split = split and tall is None and any(p.role != "title" for p in kept)
    roles = {p.role for p in kept}
    pad = _pad(min(sizes[r] for r in roles | {"title"}), sizes["title"], shrink)
    gutter = max(SPLIT_GUTTER * sizes["title"], 2.5 * pad) if split else None
    columns = {"logo": wrap_width, "title": wrap_width, "subtitle": wrap_width, "text": wrap_width}
    if gutter is not None:
        columns = {role: (wrap_width - gutter) / 2 for role in columns}
    if logo_aspect is not None:
        height = max(8.0, sizes["title"] * 1.15)
        width = min(height * logo_aspect, columns["logo"])
        elements.append(_Stacked("logo", round(width / logo_aspect), width, width / logo_aspect, ()))
    for role in ("title", "subtitle", "text"):
        paragraphs = [p for p in kept if p.role == role]
        if paragraphs:
            limit = min(columns[role], MEASURE_EM[role] * sizes[role])
            # Smaller type on a small canvas may take more lines (the footprint must still fit).
            max_lines = math.ceil(MAX_LINES[role] / shrink)
            chain = pairing.chain(role, sizes[role])
            stacked = _stack_role(role, paragraphs, chain, sizes[role], limit, max_lines, exact=shrink < 1)
            if stacked is None:
                return None
            elements.append(stacked)
    if not elements:
        return None
    items = [(e.role, e.size, e.width, e.height) for e in elements]
    smallest = min(e.size for e in elements if e.role != "logo") if len(elements) > 1 else sizes["title"]
    pad = _pad(smallest, sizes["title"], shrink)
    span = tall - 2 * pad if tall is not None else None
    tops, lefts, width, height = _arrange(items, sizes["title"], gutter, span)
    return _Block(tuple(elements), tops, width, height, pad, lefts if gutter is not None else (), gutter, span)


def _element_boxes(block: _Block, align: Align, x: float, y: float) -> list[Box]:
    """Absolute element boxes for a block whose footprint's top-left is ``(x, y)``."""
    left, top = x + block.pad, y + block.pad
    boxes: list[Box] = []
    lefts = block.x_offsets or (0.0,) * len(block.elements)
    for element, offset, shift in zip(block.elements, block.offsets, lefts, strict=True):
        if block.x_offsets:
            ex = left + shift
        elif align == "left":
            ex = left
        elif align == "right":
            ex = left + block.width - element.width
        else:
            ex = left + (block.width - element.width) / 2
        boxes.append((ex, top + offset, ex + element.width, top + offset + element.height))
    return boxes


def _occ(analysis: Analysis, boxes: list[Box]) -> float:
    return sum(analysis.mean_saliency(b) for b in boxes) / len(boxes)


def _free_positions(canvas: tuple[int, int], margin: float, fw: float, fh: float) -> list[tuple[Align, float, float]]:
    """A finer grid of footprint positions for the fallback search (x not pinned)."""
    w, h = canvas
    x_span, y_span = w - 2 * margin - fw, h - 2 * margin - fh
    xs = [margin + x_span * i / (FALLBACK_X_SLOTS - 1) for i in range(FALLBACK_X_SLOTS)]
    ys = [margin + y_span * i / (FALLBACK_Y_SLOTS - 1) for i in range(FALLBACK_Y_SLOTS)]
    return [(align, x, y) for align in ALIGNS for x in xs for y in ys]


def margin_for(canvas: tuple[int, int]) -> float:
    """Outer margin in px: about 5 % of the short side (at least 2 px)."""
    return max(2.0, round(0.05 * min(canvas)))


def _block_penalty(block: _Block, scale: float, canvas: tuple[int, int]) -> float:
    """Penalty of a block whatever its position: smaller type, a crowded canvas, extra title lines, broken words."""
    w, h = canvas
    fw, fh = block.width + 2 * block.pad, block.height + 2 * block.pad
    area = fw * fh / (w * h)
    title_lines = sum(len(e.lines) for e in block.elements if e.role == "title")
    titles = len({p.index for e in block.elements if e.role == "title" for p, *_ in e.lines})
    penalty = SIZE_WEIGHT * (1 - scale) + 0.15 * max(0.0, area - 0.4) + 0.035 * (title_lines - titles)
    return penalty + BROKEN_WORD_PENALTY * sum(e.broken_words for e in block.elements)


def _score_block(
    analysis: Analysis, canvas: tuple[int, int], block: _Block, scale: float, archetype: Archetype = FREE
) -> list[tuple[float, float, Align, float, float, bool]]:
    w, h = canvas
    margin = margin_for(canvas)
    fw, fh = block.width + 2 * block.pad, block.height + 2 * block.pad
    if fw > w - 2 * margin or fh > h - 2 * margin:
        return []
    base_penalty = _block_penalty(block, scale, canvas)
    scored = []
    occ_centred = {a: _occ(analysis, _element_boxes(block, a, (w - fw) / 2, (h - fh) / 2)) for a in ALIGNS}
    if archetype is FREE:
        places = _free_positions(canvas, margin, fw, fh)
    else:
        places = positions(archetype, canvas, margin, fw, fh)
    # All SAT look-ups of this block at once: element boxes, then each footprint (its backing's span).
    boxes = np.array([_element_boxes(block, align, x, y) for align, x, y in places]) * analysis.scale
    saliency = analysis.saliency_sat.means(boxes).tolist()
    spans = [(margin, w - margin) if archetype.full_width else (x, x + fw) for _, x, _ in places]
    footprints = np.array([(x0, y, x1, y + fh) for (x0, x1), (_, _, y) in zip(spans, places, strict=True)])
    if block.tall is None:
        edges_all = analysis.edges_sat.means(footprints * analysis.scale).tolist()
    else:  # a tall split leaves the image between its groups: only the ground under its text counts
        edges_all = analysis.edges_sat.means(boxes).mean(axis=1).tolist()
    guard = PROTECT_GUARD * min(w, h)  # keep a little air between a backing and a face or the subject
    guarded = footprints + np.array([-guard, -guard, guard, guard])
    faces = analysis.protected_sat.means(guarded * analysis.scale).tolist()
    skin = analysis.faces_sat.means(guarded * analysis.scale).tolist() if analysis.faces_sat else [0.0] * len(places)
    for (align, x, y), per_element, edges, face, on_skin in zip(places, saliency, edges_all, faces, skin, strict=True):
        occ = sum(per_element) / len(per_element)
        # No better than dead centre: only as a last resort.
        worse_than_centre = 1.0 if occ >= occ_centred[align] - 0.002 else 0.0
        centre_y = (y + fh / 2) / h
        score = occ + 0.5 * max(per_element) + 0.5 * edges + base_penalty + worse_than_centre
        # Touching a face or the subject at all costs much; among such placements, the least overlap wins.
        score += FACE_PENALTY + OVERLAP_WEIGHT * face + SKIN_WEIGHT * on_skin if face > 0.0 else 0.0
        score += 0.03 * (1 - abs(2 * centre_y - 1))
        scored.append((score, occ, align, x, y, face > 0.0))
    return scored


def _candidates(
    analysis: Analysis,
    canvas: tuple[int, int],
    kept: tuple[Paragraph, ...],
    pairing: Pairing,
    logo_aspect: float | None,
    *,
    relaxed: bool = False,
    underlay: int = 0,
    deep: bool = False,
) -> list[_Candidate]:
    """Scored candidates for the kept paragraphs; ``relaxed`` is the fallback search (see the module doc)."""
    w, h = canvas
    found: list[_Candidate] = []
    offered = (FREE,) if relaxed else archetypes_for(canvas, underlay, analysis.protected((0, 0, w, h)) > 0)
    for archetype in offered:
        for fraction in archetype.widths:
            found.extend(
                _sized_candidates(
                    analysis, canvas, kept, pairing, logo_aspect, archetype, fraction, [] if deep else found
                )
            )
    return found


def _title_base(canvas: tuple[int, int]) -> float:
    """The largest title size tried: about a seventh of the canvas's geometric mean side, capped by the short side."""
    w, h = canvas
    # Banners get a larger share: their height, not their area, bounds a headline.
    wide = 1.0 + BANNER_BOOST * math.log2(w / h) if w > h else 1.0
    return min(TITLE_SHARE * math.sqrt(w * h) * wide, 0.22 * min(w, h) if w < h else 0.42 * h)


def _sized_candidates(
    analysis: Analysis,
    canvas: tuple[int, int],
    kept: tuple[Paragraph, ...],
    pairing: Pairing,
    logo_aspect: float | None,
    archetype: Archetype,
    fraction: float,
    found: list[_Candidate],
) -> list[_Candidate]:
    """Candidates of one archetype and wrap width, over the type scale from the largest title down."""
    w, _ = canvas
    margin, shrink = margin_for(canvas), _shrink(canvas)
    roles = {p.role for p in kept}
    minimum = min_sizes(canvas, kept)
    relaxed = archetype is FREE
    out: list[_Candidate] = []
    previous: dict[str, int] | None = None
    for scale in SCALES:
        if (found or out) and scale < PREFERRED_MIN_SCALE and not relaxed:
            break  # (``found`` is empty on the deep pass: down to the minimums)
        sizes = sizes_for(_title_base(canvas) * scale, roles, minimum)
        if sizes is None:
            break
        if sizes == previous:
            continue  # clamped to the minimums: the same block as the previous scale, scored worse
        previous = sizes
        pad = _pad(min(sizes[r] for r in roles | {"title"}), sizes["title"], shrink)
        wrap_width = (w - 2 * margin - 2 * pad) * fraction
        if wrap_width < 2.2 * sizes["title"] and fraction < 1.0:
            continue
        split = archetype.name == "split"
        tall = canvas[1] - 2 * margin if split and canvas[1] > canvas[0] else None
        block = _block(kept, pairing, sizes, wrap_width, logo_aspect, shrink, split=split, tall=tall)
        if block is None:
            continue
        for score, occ, align, x, y, face in _score_block(analysis, canvas, block, scale, archetype):
            out.append(_Candidate(score, occ, block, kept, align, x, y, scale, wrap_width, face, relaxed, archetype))
    return out


def _drop_order(paragraphs: tuple[Paragraph, ...]) -> list[str | Paragraph]:
    by_role = {role: [p for p in paragraphs if p.role == role] for role in ("title", "subtitle", "text")}
    order: list[str | Paragraph] = [*reversed(by_role["text"]), *reversed(by_role["subtitle"]), "logo"]
    order.extend(reversed(by_role["title"]))
    return order


@dataclass(frozen=True)
class Taken:
    """What an earlier variant used: its title box, archetype and alignment (later variants differ)."""

    title: Box
    archetype: str
    align: str


def _rank_key(c: _Candidate) -> tuple[float, str, str, float, float, float]:
    return (c.score, c.archetype.name, c.align, c.y, -c.scale, c.wrap_width)


def _title_box(c: _Candidate) -> Box:
    boxes = _element_boxes(c.block, c.align, c.x, c.y)
    roles = [e.role for e in c.block.elements]
    return boxes[roles.index("title")] if "title" in roles else boxes[0]


def _choose(
    candidates: list[_Candidate], rng: random.Random, temperature: float, avoid: list[Taken]
) -> list[_Candidate]:
    """Candidates in the order to try: the best; for later variants, the best of another archetype or
    alignment whose title box overlaps no earlier variant's (IoU < 0.5), sampled by ``temperature``."""
    ranked = sorted(candidates, key=_rank_key)
    if not avoid:
        return ranked[:ATTEMPTS]
    apart = [c for c in ranked if all(_iou(_title_box(c), t.title) < MAX_VARIANT_IOU for t in avoid)]
    used = {(t.archetype, t.align) for t in avoid}
    fresh = [c for c in apart if (c.archetype.name, c.align) not in used] or apart or ranked
    if temperature > 0:
        tau = 0.004 + 0.06 * temperature
        pool = [c for c in fresh[:400] if c.score - fresh[0].score <= 12 * tau]
        weights = [math.exp(-(c.score - fresh[0].score) / tau) for c in pool]
        picked = rng.choices(pool, weights=weights, k=1)[0]
        return [picked, *fresh[:ATTEMPTS], *ranked[:ATTEMPTS]]
    return [*fresh[:ATTEMPTS], *ranked[:ATTEMPTS]]


def _iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class LayoutRequest:
    """What the layout search needs: canvas, paragraphs by priority, pairing and the logo's aspect."""

    canvas: tuple[int, int]
    paragraphs: tuple[Paragraph, ...]
    pairing: Pairing
    logo_aspect: float | None
    underlay: int = 0


def plan(
    analysis: Analysis, request: LayoutRequest, rng: random.Random, temperature: float, avoid: list[Taken]
) -> Layout | None:
    """Search for the best (or, for later variants, a nearby distinct) layout and set it for real.

    Parameters
    ----------
    analysis:
        Saliency/edge maps of the background.
    request:
        Canvas, paragraphs, pairing and logo aspect ratio.
    rng:
        Seeded random source for variant sampling.
    temperature:
        0 picks the best layout; higher values let variants stray further from it.
    avoid:
        What earlier variants used: a later variant takes another archetype or alignment, and a title box
        that overlaps none of theirs (IoU < 0.5) wherever the canvas allows.

    Returns
    -------
    Layout | None
        ``None`` when nothing at all fits: no paragraph and no logo, or the first title does not fit
        inside the margins even at the minimum size.
    """
    kept = list(request.paragraphs)
    logo_aspect = request.logo_aspect
    dropped: list[Paragraph] = []
    logo_dropped = False
    order = _drop_order(request.paragraphs)
    first_title = next((p for p in request.paragraphs if p.role == "title"), None)
    while True:
        # The preferred type scale first; then the whole hierarchy shrinks to its minimums before anything drops.
        for deep in (False, True):
            candidates = _candidates(
                analysis,
                request.canvas,
                tuple(kept),
                request.pairing,
                logo_aspect,
                underlay=request.underlay,
                deep=deep,
            )
            for candidate in _choose(candidates, rng, temperature, avoid) if candidates else []:
                layout = realise(analysis, request, candidate, tuple(dropped), logo_dropped)
                if layout is not None and _acceptable(analysis, layout, request.canvas):
                    return layout
        if not order:
            return None
        victim = order.pop(0)
        if victim == first_title:
            # Only the first title is left: never drop it for the preferred bounds, relax the search.
            placed = _fallback(analysis, request, first_title, tuple(dropped), logo_dropped)
            placed = placed or _busy_ground_band(analysis, request, first_title, tuple(dropped), logo_dropped)
            if placed is not None:
                return placed
        if victim == "logo":
            logo_dropped, logo_aspect = logo_aspect is not None, None
        elif isinstance(victim, Paragraph):
            kept.remove(victim)
            dropped.append(victim)


def _occ_centred(analysis: Analysis, layout: Layout, canvas: tuple[int, int]) -> float:
    """``Occ`` of the layout's element boxes moved, together, to the centre of the canvas."""
    boxes = [e.box for e in layout.elements]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    dx, dy = (canvas[0] - (x1 - x0)) / 2 - x0, (canvas[1] - (y1 - y0)) / 2 - y0
    centred = [(b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy) for b in boxes]
    return _occ(analysis, centred)


def _acceptable(analysis: Analysis, layout: Layout, canvas: tuple[int, int]) -> bool:
    """Whether a realised layout keeps off the image's subject.

    Its ``Occ`` must stay under ``OCC_LIMIT`` and below that of the same boxes centred on the canvas;
    otherwise the caller tries the next candidate, and then drops the lowest-priority text.
    """
    return layout.occ <= OCC_LIMIT and layout.occ < _occ_centred(analysis, layout, canvas) - 0.001


def _fallback(
    analysis: Analysis,
    request: LayoutRequest,
    title: Paragraph,
    dropped: tuple[Paragraph, ...],
    logo_dropped: bool,
) -> Layout | None:
    """Place the first title alone when the preferred search failed (deterministic; see the module doc).

    Returns ``None`` only if the title does not fit inside the margins even at the minimum size.
    """
    kept = (title,)
    candidates = _candidates(analysis, request.canvas, kept, request.pairing, None, relaxed=True)
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda c: (c.score, c.align, c.y, c.x, -c.scale, c.wrap_width))
    for candidate in ranked[:ATTEMPTS]:
        layout = realise(analysis, request, candidate, dropped, logo_dropped)
        if layout is not None and _acceptable(analysis, layout, request.canvas):
            return layout
    # Last resort: the least saliency under the title, off faces if possible, within the hard Occ bounds
    # (candidates well over the bound are not worth setting: their estimated Occ is close to the real one).
    within = [c for c in candidates if c.occ <= FALLBACK_OCC_LIMIT + FALLBACK_OCC_SLACK]
    by_occ = sorted(within, key=lambda c: (c.face, c.occ, c.score, c.align, c.y, c.x, -c.scale, c.wrap_width))
    best: tuple[tuple[bool, float], Layout] | None = None
    seen: set[tuple[Box, tuple[str, ...]]] = set()
    for candidate in by_occ:
        if len(seen) >= FALLBACK_ATTEMPTS:
            break
        layout = realise(analysis, request, candidate, dropped, logo_dropped)
        if layout is None:
            continue
        # Nearby free positions often round to the same placement: count distinct ones only.
        placement = (layout.footprint, tuple(line.line.text for e in layout.elements for line in e.lines))
        if placement in seen:
            continue
        seen.add(placement)
        if layout.occ > FALLBACK_OCC_LIMIT:
            continue
        if layout.occ >= _occ_centred(analysis, layout, request.canvas) - 0.001:
            continue
        key = (analysis.protected(layout.footprint) > 0.0, layout.occ)
        if best is None or key < best[0]:
            best = (key, layout)
    return best[1] if best is not None else None


def busy_ground(analysis: Analysis) -> bool:
    """Whether the image is busy all over with no subject (a texture or pattern): no protected region and
    a saliency that hardly varies, so no placement is calmer than another."""
    spread = float(np.percentile(analysis.saliency, 90) - np.percentile(analysis.saliency, 10))
    return not analysis.protected_mask.any() and spread < BUSY_SPREAD


def _busy_ground_band(
    analysis: Analysis,
    request: LayoutRequest,
    title: Paragraph,
    dropped: tuple[Paragraph, ...],
    logo_dropped: bool,
) -> Layout | None:
    """On busy ground with no subject, set the first title on a band (always backed): the best band
    placement by score, whatever its ``Occ`` (there is nothing to keep clear)."""
    if not busy_ground(analysis):
        return None
    candidates = _candidates(analysis, request.canvas, (title,), request.pairing, None, underlay=request.underlay)
    bands = sorted((c for c in candidates if c.archetype.name == "band"), key=_rank_key)
    for candidate in bands[:ATTEMPTS]:
        layout = realise(analysis, request, candidate, dropped, logo_dropped)
        if layout is not None:
            return replace(layout, backed=True)
    return None


def _real_element(stacked: _Stacked, chain: tuple[str, ...]) -> tuple[list[SetLine], float, float]:
    """Set an element's lines for real; return them with the element's ink width and height."""
    sets = [set_line(line.text, chain, stacked.size) for _, line, _, _ in stacked.lines]
    width = max(s.ink[2] - s.ink[0] for s in sets)
    first_base = stacked.lines[0][2]
    height = max(
        -sets[0].ink[1] + (ref_base - first_base) + s.ink[3]
        for s, (_, _, ref_base, _) in zip(sets, stacked.lines, strict=True)
    )
    return sets, width, height


def realise(
    analysis: Analysis,
    request: LayoutRequest,
    chosen: _Candidate,
    dropped: tuple[Paragraph, ...],
    logo_dropped: bool,
) -> Layout | None:
    """Set the chosen candidate's lines at their real sizes and place them on the canvas.

    Returns ``None`` if the real geometry no longer fits inside the margins, or if a line has no fully
    inked pixel (thin small type: see ``reaches_full_ink``).
    """
    w, h = request.canvas
    margin = margin_for(request.canvas)
    block = chosen.block
    real: list[tuple[_Stacked, list[SetLine], float, float]] = []
    for stacked in block.elements:
        if stacked.role == "logo":
            real.append((stacked, [], stacked.width, stacked.height))
            continue
        element = _real_element(stacked, request.pairing.chain(stacked.role, stacked.size))
        if not all(reaches_full_ink(line) for line in element[0]):
            return None
        real.append((stacked, *element))
    title_size = next((e.size for e in block.elements if e.role == "title"), block.elements[-1].size)
    items = [(stacked.role, stacked.size, ew, eh) for stacked, _, ew, eh in real]
    offsets, lefts, width, height = _arrange(items, title_size, block.gutter, block.tall)
    fw, fh = width + 2 * block.pad, height + 2 * block.pad
    if fw > w - 2 * margin or fh > h - 2 * margin:
        return None
    ref_fw = block.width + 2 * block.pad
    if chosen.free:
        # Keep the block's aligned edge (or centre) where the candidate put it, inside the margins.
        anchor = {"left": chosen.x, "centre": chosen.x + (ref_fw - fw) / 2, "right": chosen.x + ref_fw - fw}
        x0 = min(max(anchor[chosen.align], margin), w - margin - fw)
    elif abs(chosen.x - (w - margin - ref_fw)) < 1 and chosen.x > w / 2:
        x0 = w - margin - fw  # pinned to the right margin (a right column, set flush left)
    else:
        x0 = {"left": margin, "centre": (w - fw) / 2, "right": w - margin - fw}[chosen.align]
    centre_y = chosen.y + (block.height + 2 * block.pad) / 2
    y0 = min(max(centre_y - fh / 2, margin), h - margin - fh)
    if abs(chosen.y - (h - margin - (block.height + 2 * block.pad))) < 1:
        y0 = h - margin - fh  # pinned to the bottom margin
    elif abs(chosen.y - margin) < 1:
        y0 = margin
    x0, y0 = round(x0), round(y0)
    if block.gutter is not None:  # a split: each element flush left in its own column
        elements = [
            _place(stacked, sets, ew, eh, "left", x0 + block.pad + left, y0 + block.pad + off, ew)
            for (stacked, sets, ew, eh), off, left in zip(real, offsets, lefts, strict=True)
        ]
    else:
        elements = [
            _place(stacked, sets, ew, eh, chosen.align, x0 + block.pad, y0 + block.pad + off, width)
            for (stacked, sets, ew, eh), off in zip(real, offsets, strict=True)
        ]
    boxes = [e.box for e in elements]
    footprint: Box = (x0, y0, x0 + fw, y0 + fh)
    if chosen.archetype.full_width:
        footprint = (margin, y0, w - margin, y0 + fh)
    return Layout(
        elements=tuple(elements),
        footprint=footprint,
        pad=block.pad,
        align=chosen.align,
        dropped=dropped,
        logo_dropped=logo_dropped,
        score=chosen.score,
        occ=_occ(analysis, boxes),
        sizes={e.role: e.size for e in block.elements},
        archetype=chosen.archetype.name,
        room=_room(analysis, footprint, request.canvas),
    )


def _room(analysis: Analysis, footprint: Box, canvas: tuple[int, int]) -> Box:
    """The footprint grown on each side as far as ``ROOM_GROW`` of its height, inside the margins, while the
    growth keeps ``PROTECT_GUARD`` of air from faces and the subject."""
    w, h = canvas
    margin = margin_for(canvas)
    guard = PROTECT_GUARD * min(w, h)
    x0, y0, x1, y1 = footprint
    reach = ROOM_GROW * (y1 - y0)
    limits = [max(0.0, x0 - margin), max(0.0, y0 - margin), max(0.0, w - margin - x1), max(0.0, h - margin - y1)]
    grown = [0.0, 0.0, 0.0, 0.0]
    for side in range(4):
        for share in (1.0, 0.5, 0.25):
            step = min(reach * share, limits[side])
            strip = [x0, y0, x1, y1]
            strip[side] += -step if side < 2 else step
            strip[(side + 2) % 4] = footprint[side]  # only the new strip (and its guard) is tested
            lo_x, hi_x = sorted((strip[0], strip[2]))
            lo_y, hi_y = sorted((strip[1], strip[3]))
            if analysis.protected((lo_x - guard, lo_y - guard, hi_x + guard, hi_y + guard)) <= 0.0:
                grown[side] = step
                break
    return (x0 - grown[0], y0 - grown[1], x1 + grown[2], y1 + grown[3])


def _place(
    stacked: _Stacked,
    sets: list[SetLine],
    ew: float,
    eh: float,
    align: Align,
    left: float,
    top: float,
    block_width: float,
) -> PlacedElement:
    if align == "left":
        ex = left
    elif align == "right":
        ex = left + block_width - ew
    else:
        ex = left + (block_width - ew) / 2
    if stacked.role == "logo":
        return PlacedElement("logo", (round(ex), round(top), round(ex) + round(ew), round(top) + round(eh)), 0)
    placed: list[PlacedLine] = []
    first_base = stacked.lines[0][2]
    for s, (paragraph, line, ref_base, _) in zip(sets, stacked.lines, strict=True):
        baseline = round(top - sets[0].ink[1] + (ref_base - first_base))
        lw = s.ink[2] - s.ink[0]
        if align == "left":
            lx = ex - s.ink[0]
        elif align == "right":
            lx = ex + ew - s.ink[2]
        else:
            lx = ex + (ew - lw) / 2 - s.ink[0]
        lx = round(lx)
        box = (lx + s.ink[0], baseline + s.ink[1], lx + s.ink[2], baseline + s.ink[3])
        placed.append(PlacedLine(paragraph, line, s, (lx, baseline), box))
    x0 = min(p.box[0] for p in placed)
    y0 = min(p.box[1] for p in placed)
    x1 = max(p.box[2] for p in placed)
    y1 = max(p.box[3] for p in placed)
    return PlacedElement(stacked.role, (x0, y0, x1, y1), stacked.size, tuple(placed))
