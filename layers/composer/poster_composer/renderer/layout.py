"""The layout model: what the search places (paragraphs) and what it returns (placed lines, elements, a layout).

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
carries the image), a large one for a Latin word broken across lines (larger between any two characters
than at a hyphenation point), and a large one when the footprint (panel included, with a little air around)
touches a face or the subject (``Analysis.protected``).
Geometry in the search is scaled from measurements at a reference size (fast); ``realise`` then sets the
chosen lines for real, and rejects a line with no fully inked pixel (thin small type that never shows its
colour).  Later variants take another archetype or alignment and a title box overlapping no earlier
variant's (``Taken``).

The search is split by idea: ``sizing`` (type scale, minimum sizes, margins), ``stacking`` (wrapping and
stacking the elements into a block), ``candidates`` (positions and scores per archetype), ``realise``
(setting the chosen candidate's lines for real) and ``search`` (``plan``: choosing, dropping, the
fallback).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from poster_composer.renderer.fonts import Pairing, Role
    from poster_composer.renderer.typeset import SetLine
    from poster_composer.renderer.wrap import Line

Align = Literal["left", "centre", "right"]
Box = tuple[float, float, float, float]


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
class LayoutRequest:
    """What the layout search needs: canvas, paragraphs by priority, pairing and the logo's aspect."""

    canvas: tuple[int, int]
    paragraphs: tuple[Paragraph, ...]
    pairing: Pairing
    logo_aspect: float | None
    underlay: int = 0


@dataclass(frozen=True)
class Taken:
    """What an earlier variant used: its title box, archetype and alignment (later variants differ)."""

    title: Box
    archetype: str
    align: str
