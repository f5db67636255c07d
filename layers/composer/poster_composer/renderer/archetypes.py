"""Composition archetypes: where a text block may sit, how wide it is set and what backs it.

Each archetype is a family of placements a designer would recognise, chosen per image by the layout
search (``candidates``, ``search``) from the canvas's shape and the underlay setting:

- ``band``: a full-width headline band at the top or bottom (over calm sky or floor), centred text; its
  backing, when one is needed or asked for, spans the usable width;
- ``stack``: a large stacked title, centred, at the top, middle or bottom third;
- ``column``: on wide banners, a side column spanning 40–50 % of the width, flush left;
- ``edge``: text flush left at the bottom or top edge, over a soft gradient scrim rising from that edge
  (spanning the usable width; never a box);
- ``card``: a framed card (a rounded panel, so only with ``underlay`` ≥ 1), flush left or centred;
- ``split``: on 4:1 banners, the title in one column and the subtitle and text in a second beside it, the
  two groups centred on each other (a stack would be bounded by the banner's small height); on 1:4
  posters, the title at the top and the rest at the bottom, the image between them.

``free`` is the relaxed search of the last resort (any grid position; small canvases crowded by their
subject).

Text is never right-aligned: a column on the right is set flush left inside the column, and Chinese
paragraphs are set flush left or centred, never ragged-left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Align = Literal["left", "centre", "right"]
Name = Literal["band", "stack", "column", "edge", "card", "split", "free"]
Position = tuple[Align, float, float]
Y_SLOTS = 9
WIDE = 1.5  # a canvas this many times wider than tall is a banner (columns, splits)
TALL = 1.5  # on a canvas this many times taller than wide a column beside the subject is too narrow to read


@dataclass(frozen=True)
class Archetype:
    """A composition family: wrap widths (shares of the usable width) and whether its backing spans it."""

    name: Name
    widths: tuple[float, ...]
    full_width: bool = False


BAND = Archetype("band", (1.0, 0.86), full_width=True)
STACK = Archetype("stack", (0.84, 0.68, 0.54))
COLUMN = Archetype("column", (0.5, 0.42))
EDGE = Archetype("edge", (0.72, 0.58), full_width=True)
BESIDE = Archetype("column", (0.5, 0.42, 0.3, 0.2))
CARD = Archetype("card", (0.62, 0.48))
SPLIT = Archetype("split", (1.0, 0.8))
SPLIT_ASPECT = 3.0  # banners at least this wide get a split
FREE = Archetype("free", (1.0, 0.68, 0.46, 0.33, 0.2))


def archetypes_for(
    canvas: tuple[int, int], underlay: int, subject: bool = False, last_resort: bool = False
) -> tuple[Archetype, ...]:
    """The archetypes offered on a canvas: bands and stacks everywhere, columns on banners, an edge scrim
    without underlay and a card with one, a split on 4:1 and 1:4 canvases.  Beside a protected subject (a face) the
    free space may be a narrow strip: then a column is offered, down to a fifth of the width (``BESIDE``),
    except on tall canvases (9:16, 1:4), where such a column is a few words wide: bands, stacks and splits
    above and below the subject serve them; there it is a ``last_resort`` (before any text is dropped).

    Example
    -------
    >>> [a.name for a in archetypes_for((1600, 400), 0)]
    ['band', 'stack', 'edge', 'column', 'split']
    """
    w, h = canvas
    found = [BAND, STACK, EDGE if underlay == 0 else CARD]
    if subject and (h <= TALL * w or last_resort):
        found.append(BESIDE)
    elif w >= WIDE * h:
        found.append(COLUMN)
    if w >= SPLIT_ASPECT * h or h >= SPLIT_ASPECT * w:
        found.append(SPLIT)
    return tuple(found)


def _slots(margin: float, span: float, count: int = Y_SLOTS) -> list[float]:
    return [margin + span * i / (count - 1) for i in range(count)] if span > 0 else [margin]


def positions(archetype: Archetype, canvas: tuple[int, int], margin: float, fw: float, fh: float) -> list[Position]:
    """Top-left corners of a block's footprint (``fw`` × ``fh``) allowed by ``archetype``, with its alignment.

    Example
    -------
    >>> positions(BAND, (1000, 1000), 50, 400, 200)
    [('centre', 300.0, 50), ('centre', 300.0, 750)]
    """
    w, h = canvas
    left, centre, right = margin, (w - fw) / 2, w - margin - fw
    top, bottom = margin, h - margin - fh
    ys = _slots(margin, bottom - margin)
    if archetype.name == "band":
        return [("centre", centre, top), ("centre", centre, bottom)]
    if archetype.name == "stack":
        return [("centre", centre, y) for y in _slots(margin, bottom - margin, 5)]
    if archetype.name == "column":
        return [("left", x, y) for x in (left, right) for y in _slots(margin, bottom - margin, 5)]
    if archetype.name == "split" and h > w:  # the block spans the height: title at the top, the rest below
        return [("left", left, top), ("centre", centre, top)]
    if archetype.name == "split":
        return [("left", x, y) for x in (left, centre) for y in _slots(margin, bottom - margin, 3)]
    if archetype.name == "edge":
        return [("left", left, top), ("left", left, bottom)]
    if archetype.name == "card":
        return [("left", x, y) for x in (left, right) for y in ys] + [("centre", centre, y) for y in ys]
    return [(a, x, y) for a in ("left", "centre") for x in (left, centre, right) for y in ys]
