"""Colour scheme of one poster: text colours, and the panels needed (or asked for) behind the text.

Polarity (light text or dark text) is chosen once for the whole block from the background luminance under
it, so the scheme stays coherent.  Each text element then gets a palette-hued colour (the title a livelier
accent, body text a muted tint) just strong enough to reach its target contrast against the worst
background pixel around it.  Where the background alone cannot reach the target — or where ``underlay``
asks for it — a panel goes behind the text:

- ``underlay=0``: a soft *scrim* behind the whole block, only when needed: a gradient rising from the
  canvas edge the block sits on (or fading all round), full strength under the text;
- ``underlay=1``: one rounded panel behind the whole block;
- ``underlay=2``: one rounded panel per element, as wide as the block (or, for a much shorter line, as its
  own line, on the block's axis), never overlapping.

Colour follows the hierarchy: the title takes the accent, and a subtitle is never set paler (lower
contrast) than the text below it.

Panel opacity is the lightest that lifts the worst covered pixel to the target (bisection).  ``level``
escalates when the measured result still falls short: stronger targets, then higher opacity floors.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
from PIL import Image

from poster_composer.renderer.colour import (
    RGB,
    contrast,
    luminance,
    luminance_array,
    panel_alpha,
    panel_colour,
    pick_text_colour,
)
from poster_composer.renderer.fonts import is_bold
from poster_composer.renderer.geometry import expand
from poster_composer.renderer.metrics import required_contrast, ring_width

if TYPE_CHECKING:
    from poster_composer.renderer.layout import Layout, PlacedElement

PanelKind = Literal["scrim", "panel", "chip"]
Box = tuple[float, float, float, float]
IntBox = tuple[int, int, int, int]

DESIGN_MARGIN = 1.12
SATURATION = {"title": 0.6, "subtitle": 0.32, "text": 0.14}
FLOORS = {0: 0.0, 1: 0.62, 2: 0.74}
_SAMPLE = 40_000
AA_DESIGN = 4.5
SHARED_WIDTH = 0.8  # an element at least this share of the block's width gets a block-wide panel
ELEMENT_PAD_EM = 0.42  # padding of a per-element panel (``underlay=2``), in the element's own size
SCRIM_GROW = 0.35  # how far a scrim reaches past the block, as a share of the block's height


@dataclass(frozen=True)
class PanelSpec:
    """A translucent backing panel: box, colour, opacity, feather/corner radius and the elements it backs."""

    kind: PanelKind
    box: IntBox
    colour: RGB
    alpha: float
    fades: tuple[float, float, float, float]  # soft ramp lengths at the left, top, right and bottom edges
    radius: float
    backs: tuple[int, ...]


@dataclass(frozen=True)
class Scheme:
    """Text colours per element index, and the panels to draw first."""

    light: bool
    colours: dict[int, RGB]
    panels: tuple[PanelSpec, ...]


def _pixels(image: Image.Image, box: IntBox) -> npt.NDArray[np.uint8]:
    """Up to ~40k pixels of ``image`` inside ``box`` as an ``(N, 3)`` uint8 array (strided, not averaged)."""
    w, h = box[2] - box[0], box[3] - box[1]
    if w <= 0 or h <= 0:
        return np.zeros((1, 3), dtype=np.uint8)
    step = max(1, int(np.sqrt(w * h / _SAMPLE)))
    if step == 1:
        arr = np.asarray(image.crop(box))[..., :3]
    else:
        # The pixels at box[:2] + step * (i, j), picked by Pillow without copying the whole box: a nearest
        # affine transform samples the source at ``c + step * (i + 0.5)``, so ``c = box[0] - step / 2``
        # lands exactly on ``box[0] + step * i`` (the same pixels as ``crop(box)[::step, ::step]``).
        size = (-(-w // step), -(-h // step))
        data = (step, 0, box[0] - step / 2, 0, step, box[1] - step / 2)
        arr = np.asarray(image.transform(size, Image.Transform.AFFINE, data, Image.Resampling.NEAREST))[..., :3]
    out: npt.NDArray[np.uint8] = arr.reshape(-1, 3)
    return out


def sample(image: Image.Image, box: IntBox) -> npt.NDArray[np.float64]:
    """Up to ~40k pixels of ``image`` inside ``box`` as an ``(N, 3)`` float array (strided, not averaged)."""
    return _pixels(image, box).astype(np.float64)


def _target(element: PlacedElement, face: str, level: int) -> tuple[float, float]:
    """(design target, WCAG requirement) for an element; the design target grows with ``level``."""
    required = required_contrast(element.size, is_bold(face))
    design = max(AA_DESIGN, required) * DESIGN_MARGIN * (1.0 + 0.2 * level)
    return min(design, 15.0), required


def _saturation(role: str, given: SchemeInput) -> float:
    """HSL saturation cap of a role's colour: a requested accent keeps its own saturation on the title."""
    return 1.0 if given.brand_accent and role == "title" else SATURATION[role]


def _body_target(layout: Layout, given: SchemeInput) -> float:
    """The highest design contrast of the body text: a subtitle is never set paler than the text below it."""
    targets = [_target(e, given.faces[i], given.level)[0] for i, e in enumerate(layout.elements) if e.role == "text"]
    return max(targets, default=0.0)


def _ring_area(element: PlacedElement, canvas: tuple[int, int]) -> IntBox:
    return expand(element.box, 2 + ring_width(element.size), canvas)


@dataclass(frozen=True)
class SchemeInput:
    """Everything the scheme needs besides the image."""

    layout: Layout
    faces: dict[int, str]
    accent: RGB
    dominant: RGB
    underlay: int
    level: int
    logo_luminance: float | None = None
    logo_recoloured: bool = False  # a one-colour logo drawn in the title's colour needs no chip
    brand_accent: bool = False  # the accent was requested: keep its saturation, aim for 4.5:1 on every line


def plan_scheme(image: Image.Image, given: SchemeInput) -> Scheme:
    """Choose polarity, text colours and panels for a layout on ``image``.

    Parameters
    ----------
    image:
        The background (unchanged yet).
    given:
        Layout, primary face per element index, palette accent/dominant colours, underlay and
        escalation level.

    Returns
    -------
    Scheme
        Colours for every text element and the panels to draw.
    """
    layout = given.layout
    canvas = image.size
    texts = [i for i, e in enumerate(layout.elements) if e.role != "logo"]
    # Each element's luminance once (from the 8-bit pixels, as ``luminance_array`` rounds to them anyway).
    lums = {i: luminance_array(_pixels(image, _ring_area(layout.elements[i], canvas))) for i in texts}
    if not texts:
        return Scheme(True, {}, _logo_chips(image, layout, given))
    lum = np.concatenate([lums[i] for i in texts])
    light = contrast(1.0, float(np.percentile(lum, 95))) >= 0.85 * contrast(0.0, float(np.percentile(lum, 5)))
    need_panel = given.underlay > 0 or given.level >= 2 or layout.backed
    colours: dict[int, RGB] = {}
    body = _body_target(layout, given)
    for i in texts:
        element = layout.elements[i]
        design, required = _target(element, given.faces[i], given.level)
        required = max(required, AA_DESIGN) if given.brand_accent else required
        design = max(design, body) if element.role == "subtitle" else design
        el_lum = lums[i]
        worst = float(el_lum.max() if light else el_lum.min())
        worst = float(np.percentile(el_lum, 99.5 if light else 0.5)) if given.level == 0 else worst
        hue = given.accent if element.role == "title" else given.dominant
        picked = pick_text_colour(hue, _saturation(element.role, given), worst, light, design)
        colours[i] = picked.colour
        if picked.contrast < max(required * DESIGN_MARGIN, 0.8 * design) or given.level >= 1:
            need_panel = True
    if not need_panel:
        return Scheme(light, colours, _logo_chips(image, layout, given))
    return _with_panels(image, given, light, texts)


def _with_panels(image: Image.Image, given: SchemeInput, light: bool, texts: list[int]) -> Scheme:
    layout = given.layout
    panel = panel_colour(given.dominant, light)
    panel_l = luminance(panel)
    colours: dict[int, RGB] = {}
    body = _body_target(layout, given)
    for i in texts:
        element = layout.elements[i]
        design, _ = _target(element, given.faces[i], given.level)
        design = max(design, body) if element.role == "subtitle" else design
        hue = given.accent if element.role == "title" else given.dominant
        goal = 21.0 if given.level >= 3 else min(design * 1.5, 16.0)
        colours[i] = pick_text_colour(hue, _saturation(element.role, given), panel_l, light, goal).colour
    floor = FLOORS[given.underlay] + 0.12 * max(0, given.level - 1)
    pad = layout.pad
    everything = list(range(len(layout.elements)))
    parts = _tall_split_parts(layout)
    if given.underlay == 2:
        groups = [([i], _element_panel_box(layout, i, pad)) for i in everything]
    elif parts:  # a tall split: one backing per group, the image between them left clear
        boxes = [_padded_union(layout, part) for part in parts]
        if given.underlay == 1:
            groups = [(part, box) for part, box in zip(parts, boxes, strict=True)]
        else:
            groups = [(part, scrim_box(layout, image.size, box)) for part, box in zip(parts, boxes, strict=True)]
    elif given.underlay == 1:  # one panel hugging the block (a band's full-width reserve would be mostly empty)
        groups = [(everything, _padded_union(layout, everything))]
    else:
        groups = [(everything, scrim_box(layout, image.size))]
    panels: list[PanelSpec] = []
    for members, box in groups:
        alpha = _alpha_for(image, layout, given, members, panel, colours, box, floor)
        if given.underlay == 0:
            fades = _fades(layout, members, box, image.size)
            panels.append(PanelSpec("scrim", box, panel, round(alpha, 4), fades, 0.0, tuple(members)))
        else:
            radius = min(pad * 0.45, (box[3] - box[1]) / 4)
            panels.append(PanelSpec("panel", box, panel, round(alpha, 4), (0.0,) * 4, radius, tuple(members)))
    return Scheme(light, colours, tuple(panels))


def _int(box: Box) -> IntBox:
    return (int(np.floor(box[0])), int(np.floor(box[1])), int(np.ceil(box[2])), int(np.ceil(box[3])))


def _element_pad(element: PlacedElement, pad: float) -> float:
    """Padding of an element's own panel, from the type scale: in proportion to its size (a caption's panel is
    not padded like the title's), never under the contrast ring nor over the block's ``pad``."""
    if element.role == "logo":
        return pad
    return min(pad, max(ELEMENT_PAD_EM * element.size, 3.0 + ring_width(element.size)))


def _element_panel_box(layout: Layout, index: int, pad: float) -> IntBox:
    """Panel box of one element: as wide as the block (the stack's panels aligned on both sides) plus
    ``pad``, or its own width when it is much narrower (``SHARED_WIDTH``: the text fills its panel), vertically
    padded by at most half the gaps (panels never overlap)."""
    element = layout.elements[index]
    ex0, y0, ex1, y1 = element.box
    x0 = min(e.box[0] for e in layout.elements)
    x1 = max(e.box[2] for e in layout.elements)
    block_width = x1 - x0
    # Block-wide panels share one side padding (their edges align): that of the smallest type among them.
    shared = [e for e in layout.elements if e.box[2] - e.box[0] >= SHARED_WIDTH * block_width]
    side = min(_element_pad(e, pad) for e in shared) if shared else pad
    pad = _element_pad(element, pad)
    if ex1 - ex0 < SHARED_WIDTH * block_width:
        # A short line on a block-wide panel would leave it mostly empty: its own width, on the block's axis.
        x0, x1, side = ex0, ex1, pad
    up = down = pad
    # Neighbours in the same column (a split has two): half the gap to each, so panels never overlap.
    column = [e for e in layout.elements if e is not element and e.box[0] < ex1 and e.box[2] > ex0]
    above = [y0 - e.box[3] for e in column if e.box[3] <= y0]
    below = [e.box[1] - y1 for e in column if e.box[1] >= y1]
    if above:
        up = min(pad, min(above) / 2)
    if below:
        down = min(pad, min(below) / 2)
    fx0, fy0, fx1, fy1 = layout.footprint
    return _int((max(fx0, x0 - side), max(fy0, y0 - up), min(fx1, x1 + side), min(fy1, y1 + down)))


def _inner(layout: Layout, members: list[int], canvas: tuple[int, int]) -> IntBox:
    """The area a scrim must hold at full strength: the members' boxes with their contrast rings."""
    boxes = [
        expand(layout.elements[i].box, 2 + ring_width(layout.elements[i].size), canvas)
        if layout.elements[i].role != "logo"
        else _int(layout.elements[i].box)
        for i in members
    ]
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _tall_split_parts(layout: Layout) -> list[list[int]]:
    """The two groups (logo and title; the rest) of a split spanning the canvas's height, else nothing."""
    if (
        layout.archetype != "split"
        or layout.footprint[3] - layout.footprint[1] <= layout.footprint[2] - layout.footprint[0]
    ):
        return []
    head = [i for i, e in enumerate(layout.elements) if e.role in ("logo", "title")]
    rest = [i for i in range(len(layout.elements)) if i not in head]
    return [head, rest] if head and rest else []


def backing_reserves(layout: Layout) -> list[IntBox]:
    """Where a backing of the layout may lie besides its ``room`` (which is kept clear of faces and the subject):
    the footprint, or for a split spanning the canvas's height each group's padded union (the image between the
    groups is left clear)."""
    parts = _tall_split_parts(layout)
    if not parts:
        return [_int(layout.footprint)]
    return [_padded_union(layout, part) for part in parts]


def _padded_union(layout: Layout, members: list[int]) -> IntBox:
    """The members' boxes' union, padded by the block's pad (inside the footprint)."""
    boxes = [layout.elements[i].box for i in members]
    fx0, fy0, fx1, fy1 = layout.footprint
    pad = layout.pad
    union = (
        min(b[0] for b in boxes) - pad,
        min(b[1] for b in boxes) - pad,
        max(b[2] for b in boxes) + pad,
        max(b[3] for b in boxes) + pad,
    )
    return _int((max(union[0], fx0), max(union[1], fy0), min(union[2], fx1), min(union[3], fy1)))


def scrim_box(layout: Layout, canvas: tuple[int, int], around: IntBox | None = None) -> IntBox:
    """A scrim's box: the footprint grown by ``SCRIM_GROW`` of its height away from the canvas edge it sits on (a
    gradient rising from the edge) or all round, inside the margins and the layout's ``room`` (clear of faces and
    the subject).  A scrim at an edge fades as far past the text as one in mid-canvas, darkening no more of the
    photo than the text needs.  Its ramps (``_fades``) keep the text at full strength."""
    w, h = canvas
    margin = round(0.045 * min(w, h))
    fx0, fy0, fx1, fy1 = around or layout.footprint
    grow = SCRIM_GROW * (fy1 - fy0)
    at_bottom, at_top = fy1 >= h - margin - layout.pad, fy0 <= margin + layout.pad
    up = 0.0 if at_top else grow
    down = 0.0 if at_bottom else grow
    side = min(grow, fx1 - fx0)
    rx0, ry0, rx1, ry1 = layout.room or layout.footprint
    box = (max(fx0 - side, rx0), max(fy0 - up, ry0), min(fx1 + side, rx1), min(fy1 + down, ry1))
    return _int((max(box[0], margin), max(box[1], margin), min(box[2], w - margin), min(box[3], h - margin)))


def _fades(
    layout: Layout, members: list[int], box: IntBox, canvas: tuple[int, int]
) -> tuple[float, float, float, float]:
    """Ramp lengths of a scrim: from each edge of its box to the text's full-strength area."""
    ix0, iy0, ix1, iy1 = _inner(layout, members, canvas)
    return (
        float(max(0, ix0 - box[0] - 1)),
        float(max(0, iy0 - box[1] - 1)),
        float(max(0, box[2] - ix1 - 1)),
        float(max(0, box[3] - iy1 - 1)),
    )


def _alpha_for(
    image: Image.Image,
    layout: Layout,
    given: SchemeInput,
    members: list[int],
    panel: RGB,
    colours: dict[int, RGB],
    box: IntBox,
    floor: float,
) -> float:
    alpha = floor
    for i in members:
        if i not in colours:
            continue
        element = layout.elements[i]
        design, _ = _target(element, given.faces[i], given.level)
        covered = sample(image, _ring_area(element, image.size))
        alpha = max(alpha, panel_alpha(panel, colours[i], covered, design, floor))
    return min(1.0, alpha)


def _logo_chips(image: Image.Image, layout: Layout, given: SchemeInput) -> tuple[PanelSpec, ...]:
    """A small backing chip behind the logo when the logo would vanish into the background."""
    chips: list[PanelSpec] = []
    for i, element in enumerate(layout.elements):
        if (
            element.role != "logo"
            or given.logo_luminance is None
            or (given.logo_recoloured and len(layout.elements) > 1)
        ):
            continue
        box = _int(element.box)
        bg = float(np.median(luminance_array(_pixels(image, box))))
        if contrast(bg, given.logo_luminance) >= 2.0:
            continue
        pad = max(2.0, min(layout.pad * 0.6, (box[3] - box[1]) * 0.2))
        chip_box = _int((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad))
        colour: RGB = (250, 250, 248) if given.logo_luminance < 0.3 else (18, 18, 20)
        chips.append(PanelSpec("chip", chip_box, colour, 0.9, (0.0,) * 4, pad, (i,)))
    return tuple(chips)
