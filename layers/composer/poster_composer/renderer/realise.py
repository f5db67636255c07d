"""Realisation: the chosen candidate's lines set for real at their sizes and placed on the canvas.

Geometry in the search is scaled from measurements at a reference size; ``realise`` sets the chosen lines
for real, re-arranges the block with the real ink boxes, keeps it inside the margins where the candidate
put it, and rejects a line with no fully inked pixel (thin small type that never shows its colour).  It
also measures the ``room`` a backing may grow into, clear of faces and the subject.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from poster_composer.renderer.candidates import PROTECT_GUARD
from poster_composer.renderer.layout import Layout, PlacedElement, PlacedLine
from poster_composer.renderer.sizing import margin_for
from poster_composer.renderer.stacking import arrange
from poster_composer.renderer.typeset import SetLine, reaches_full_ink, set_line

if TYPE_CHECKING:
    from poster_composer.renderer.analysis import Analysis
    from poster_composer.renderer.candidates import Candidate
    from poster_composer.renderer.layout import Align, Box, LayoutRequest, Paragraph
    from poster_composer.renderer.stacking import Stacked

ROOM_GROW = 0.7  # how far a backing may reach past the block, as a share of the block's height


def _real_element(stacked: Stacked, chain: tuple[str, ...]) -> tuple[list[SetLine], float, float]:
    """Set an element's lines for real; return them with the element's ink width and height."""
    sets = [set_line(line.drawn, chain, stacked.size) for _, line, _, _ in stacked.lines]
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
    chosen: Candidate,
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
    real: list[tuple[Stacked, list[SetLine], float, float]] = []
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
    offsets, lefts, width, height = arrange(items, title_size, block.gutter, block.tall)
    fw, fh = width + 2 * block.pad, height + 2 * block.pad
    if fw > w - 2 * margin or fh > h - 2 * margin:
        return None
    x0, y0 = _origin(chosen, fw, fh, request.canvas)
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
        occ=analysis.occupancy(boxes),
        sizes={e.role: e.size for e in block.elements},
        archetype=chosen.archetype.name,
        room=_room(analysis, footprint, request.canvas),
    )


def _origin(chosen: Candidate, fw: float, fh: float, canvas: tuple[int, int]) -> tuple[int, int]:
    """Top-left of the real footprint (``fw`` × ``fh``): where the candidate put its scaled one, inside the
    margins, pinned to the margin it was pinned to."""
    w, h = canvas
    margin = margin_for(canvas)
    block = chosen.block
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
    return round(x0), round(y0)


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
    stacked: Stacked,
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
