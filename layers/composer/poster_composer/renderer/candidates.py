"""Candidates: every position an archetype offers a block, over the type scale, scored.

A candidate's score is the mean saliency under its element boxes (``Occ``), the edge energy under the block
(its backing's span for bands and scrims), a penalty for smaller type (``SIZE_WEIGHT``: a poster's title
carries the image), a large one for a Latin word broken across lines (larger between any two characters
than at a hyphenation point), one for a panel hugging the block that its text would leave mostly empty
(``MIN_PANEL_FILL``), a large one when the footprint (panel included, with a little air around) touches
a face or the subject (``Analysis.protected``), and a smaller one for the share of it on the figure (a portrait's
body, a close-up's part in focus, the main object's hull: ``FIGURE_WEIGHT``).  The relaxed search (``FREE``)
tries a finer grid of free positions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from poster_composer.renderer.archetypes import FREE, Archetype, archetypes_for, positions
from poster_composer.renderer.sizing import (
    PREFERRED_MIN_SCALE,
    SCALES,
    margin_for,
    min_sizes,
    panel_pad,
    shrink_for,
    sizes_for,
    title_base,
)
from poster_composer.renderer.stacking import Block, build_block, element_boxes

if TYPE_CHECKING:
    from poster_composer.renderer.analysis import Analysis
    from poster_composer.renderer.fonts import Pairing
    from poster_composer.renderer.layout import Align, Paragraph

SIZE_WEIGHT = 0.8  # penalty per unit of type-scale reduction: a poster's title carries the image
ALIGNS: tuple[Align, ...] = ("left", "centre")
FACE_PENALTY = 2.0
OVERLAP_WEIGHT = 3.0
SKIN_WEIGHT = 30.0  # a face weighs far more than the rest of the subject
PROTECT_GUARD = 0.04  # air kept around faces and the subject, as a share of the short side
BROKEN_WORD_PENALTY = 0.6
TITLE_BREAK_WEIGHT = 3.0  # a headline broken inside a word (Sum- / mer) is worse than smaller type
MIN_PANEL_FILL = 0.35  # a panel hugging the block is at least this full of text (issue #10)
EMPTY_PANEL_PENALTY = 1.0  # as for a position no better than dead centre: only as a last resort
FIGURE_WEIGHT = 0.5  # per share of the footprint on the figure (``Analysis.figure_sat``)
CALM_OCC = 0.08  # ground this calm (mean saliency under the text) takes text anywhere, dead centre included
FALLBACK_X_SLOTS = 17
FALLBACK_Y_SLOTS = 21


def calm_or_off_centre(occ: float, occ_centred: float, margin: float) -> bool:
    """Whether text at ``occ`` keeps off what a photo is about: on calm ground (``CALM_OCC``), or on ground calmer
    (by ``margin``) than the same boxes centred on the canvas, where a subject usually is.  (On a photo calm only
    in its centre, a retina's disc on black, a centred stack is the right place.)"""
    return occ <= CALM_OCC or occ < occ_centred - margin


@dataclass(frozen=True)
class Setting:
    """What a block is built from, apart from its type scale: the paragraphs, faces and logo, and the
    archetype's wrap width (``panel``: one panel will hug the block)."""

    kept: tuple[Paragraph, ...]
    pairing: Pairing
    logo_aspect: float | None
    archetype: Archetype
    fraction: float
    minimum: dict[str, int]  # ``sizing.min_sizes`` of the paragraphs on the canvas
    panel: bool = False


@dataclass(frozen=True)
class Candidate:
    """A block of one setting at one type ``scale``, placed at ``x``, ``y`` and scored."""

    score: float
    occ: float
    block: Block
    setting: Setting
    align: Align
    x: float
    y: float
    scale: float
    wrap_width: float
    face: bool = False  # the footprint touches a protected area (a face or the subject)
    figure: float = 0.0  # the share of the footprint on the figure (``Analysis.figure``)

    @property
    def archetype(self) -> Archetype:
        return self.setting.archetype

    @property
    def free(self) -> bool:
        """Whether x is a free position (fallback search), not pinned to a margin or the centre."""
        return self.setting.archetype is FREE

    @property
    def breaks_title(self) -> bool:
        """Whether a word of the title is broken across lines (a hyphenated headline)."""
        return any(e.broken_words for e in self.block.elements if e.role == "title")


def free_positions(canvas: tuple[int, int], margin: float, fw: float, fh: float) -> list[tuple[Align, float, float]]:
    """A finer grid of footprint positions for the fallback search (x not pinned)."""
    w, h = canvas
    x_span, y_span = w - 2 * margin - fw, h - 2 * margin - fh
    xs = [margin + x_span * i / (FALLBACK_X_SLOTS - 1) for i in range(FALLBACK_X_SLOTS)]
    ys = [margin + y_span * i / (FALLBACK_Y_SLOTS - 1) for i in range(FALLBACK_Y_SLOTS)]
    return [(align, x, y) for align in ALIGNS for x in xs for y in ys]


def block_penalty(block: Block, scale: float, canvas: tuple[int, int], panel: bool = False) -> float:
    """Penalty of a block whatever its position: smaller type, a crowded canvas, extra title lines, broken words,
    and, on a ``panel`` hugging the block, a panel mostly empty (a ragged block: a long title over short lines)."""
    w, h = canvas
    fw, fh = block.width + 2 * block.pad, block.height + 2 * block.pad
    area = fw * fh / (w * h)
    title_lines = sum(len(e.lines) for e in block.elements if e.role == "title")
    titles = len({p.index for e in block.elements if e.role == "title" for p, *_ in e.lines})
    penalty = SIZE_WEIGHT * (1 - scale) + 0.15 * max(0.0, area - 0.4) + 0.035 * (title_lines - titles)
    penalty += EMPTY_PANEL_PENALTY if panel and block.fill < MIN_PANEL_FILL else 0.0
    broken = sum(e.broken_words * (TITLE_BREAK_WEIGHT if e.role == "title" else 1.0) for e in block.elements)
    return penalty + BROKEN_WORD_PENALTY * broken


def score_block(
    analysis: Analysis,
    canvas: tuple[int, int],
    block: Block,
    scale: float,
    archetype: Archetype = FREE,
    panel: bool = False,
) -> list[tuple[float, float, Align, float, float, bool, float]]:
    w, h = canvas
    margin = margin_for(canvas)
    fw, fh = block.width + 2 * block.pad, block.height + 2 * block.pad
    if fw > w - 2 * margin or fh > h - 2 * margin:
        return []
    base_penalty = block_penalty(block, scale, canvas, panel)
    scored = []
    occ_centred = {a: analysis.occupancy(element_boxes(block, a, (w - fw) / 2, (h - fh) / 2)) for a in ALIGNS}
    if archetype is FREE:
        places = free_positions(canvas, margin, fw, fh)
    else:
        places = positions(archetype, canvas, margin, fw, fh)
    # All SAT look-ups of this block at once: element boxes, then each footprint (its backing's span).
    boxes = np.array([element_boxes(block, align, x, y) for align, x, y in places]) * analysis.scale
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
    figure = (
        analysis.figure_sat.means(footprints * analysis.scale).tolist() if analysis.figure_sat else [0.0] * len(places)
    )
    for (align, x, y), per_element, edges, face, on_skin, on_figure in zip(
        places, saliency, edges_all, faces, skin, figure, strict=True
    ):
        occ = sum(per_element) / len(per_element)
        # No better than dead centre, on ground that is not calm: only as a last resort.
        worse_than_centre = 0.0 if calm_or_off_centre(occ, occ_centred[align], 0.002) else 1.0
        centre_y = (y + fh / 2) / h
        score = occ + 0.5 * max(per_element) + 0.5 * edges + base_penalty + worse_than_centre
        # Touching a face or the subject at all costs much; among such placements, the least overlap wins.
        score += FACE_PENALTY + OVERLAP_WEIGHT * face + SKIN_WEIGHT * on_skin if face > 0.0 else 0.0
        score += 0.03 * (1 - abs(2 * centre_y - 1)) + FIGURE_WEIGHT * on_figure
        scored.append((score, occ, align, x, y, face > 0.0, on_figure))
    return scored


def find_candidates(
    analysis: Analysis,
    canvas: tuple[int, int],
    kept: tuple[Paragraph, ...],
    pairing: Pairing,
    logo_aspect: float | None,
    *,
    relaxed: bool = False,
    underlay: int = 0,
    deep: bool = False,
    down_to: float = PREFERRED_MIN_SCALE,
) -> list[Candidate]:
    """Scored candidates for the kept paragraphs; ``relaxed`` is the fallback search (see the module doc), ``deep``
    the shrunk hierarchy; every archetype and width goes down to scale ``down_to``."""
    w, h = canvas
    found: list[Candidate] = []
    subject = analysis.protected((0, 0, w, h)) > 0
    offered = (FREE,) if relaxed else archetypes_for(canvas, underlay, subject, last_resort=deep)
    minimum = min_sizes(canvas, kept)
    for archetype in offered:
        for fraction in archetype.widths:
            setting = Setting(kept, pairing, logo_aspect, archetype, fraction, minimum, panel=underlay == 1)
            found.extend(_sized_candidates(analysis, canvas, setting, [] if deep else found, down_to))
    return found


def _sized_candidates(
    analysis: Analysis, canvas: tuple[int, int], setting: Setting, found: list[Candidate], down_to: float
) -> list[Candidate]:
    """Candidates of one setting, over the type scale from the largest title down to ``down_to`` once anything
    is found, further only while nothing is."""
    out: list[Candidate] = []
    previous: dict[str, int] | None = None
    for scale in SCALES:
        if (found or out) and scale < down_to and setting.archetype is not FREE:
            break  # (``found`` is empty on the deep pass: down to the minimums where nothing fits)
        sizes = sizes_for(title_base(canvas) * scale, {p.role for p in setting.kept}, setting.minimum)
        if sizes is None:
            break
        if sizes == previous:
            continue  # clamped to the minimums: the same block as the previous scale, scored worse
        previous = sizes
        out.extend(candidates_at(analysis, canvas, setting, scale))
    return out


def candidates_at(analysis: Analysis, canvas: tuple[int, int], setting: Setting, scale: float) -> list[Candidate]:
    """Every position of the setting's block at one type ``scale`` (none when it cannot be built)."""
    w, _ = canvas
    margin, shrink = margin_for(canvas), shrink_for(canvas)
    roles = {p.role for p in setting.kept}
    sizes = sizes_for(title_base(canvas) * scale, roles, setting.minimum)
    if sizes is None:
        return []
    pad = panel_pad(min(sizes[r] for r in roles | {"title"}), sizes["title"], shrink)
    wrap_width = (w - 2 * margin - 2 * pad) * setting.fraction
    if wrap_width < 2.2 * sizes["title"] and setting.fraction < 1.0:
        return []
    archetype = setting.archetype
    split = archetype.name == "split"
    tall = canvas[1] - 2 * margin if split and canvas[1] > canvas[0] else None
    block = build_block(
        setting.kept, setting.pairing, sizes, wrap_width, setting.logo_aspect, shrink, split=split, tall=tall
    )
    if block is None:
        return []
    hugged = setting.panel and tall is None  # a tall split's two groups get a panel each
    return [
        Candidate(score, occ, block, setting, align, x, y, scale, wrap_width, face, figure)
        for score, occ, align, x, y, face, figure in score_block(analysis, canvas, block, scale, archetype, hugged)
    ]
