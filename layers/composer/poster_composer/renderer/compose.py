"""The renderer's entry points: ``render_posters`` and ``encode_png``.

Pipeline per request: decode the background (``source``) → analyse a ≤256 px copy (``analysis``) →
palette (``colour``) → for each variant: a font pairing (``fonts``), a layout (``search.plan`` over the
model in ``layout``: type scale in ``sizing``, blocks in ``stacking``, scored positions in ``candidates``,
the chosen one set for real in ``realise``; boxes in ``geometry``), a colour scheme (``scheme``: text
colours, panels), drawing (``draw``) and a contrast check on the finished pixels (``metrics``).  A logo is
knocked out of a flat opaque background (``source``); a one-colour logo is drawn in the title's colour, so
it contrasts like the text.  If a line misses WCAG AA, the scheme escalates (stronger colours, then a
panel, then a more opaque one) and the block is redrawn over the restored background.

Everything is deterministic: the only randomness (variant sampling) is seeded from a hash of the
inputs.

Layout report (``RenderedPoster.layout``, JSON-serialisable)::

    {
      "canvas": [w, h],
      "variant": i, "pairing": "playfair+source-sans", "align": "left" | "centre",
      "archetype": "band" | "stack" | "column" | "edge" | "card" | "free",
      "seed": "<16 hex>", "escalation": 0,
      "footprint": [x0, y0, x1, y1],          # the block's reserved area, panel padding included
      "elements": [                           # in drawing order: panels, logo, title, subtitle, text
        {"role": "panel", "kind": "scrim" | "panel" | "chip", "box": [...], "colour": "#rrggbb",
         "opacity": 0.62, "backs": [element indices]},
        {"role": "logo", "box": [...]},
        {"role": "title" | "subtitle" | "text", "box": [...], "font": "<primary face>",
         "size": px, "colour": "#rrggbb",
         "lines": [{"text", "joiner", "hyphen"?, "paragraph", "span": [start, end], "box", "origin": [x, baseline],
                    "font", "size", "colour", "contrast", "required",
                    "runs": [{"text", "font", "x"}], "missing": "<chars no face has>"}]}
      ],
      "dropped": [{"role": "text", "index": 1, "text": "..."}, {"role": "logo"}],
      "metrics": {"occ": 0.08, "min_contrast": 7.1}
    }

Boxes are ``[x0, y0, x1, y1]`` in canvas pixels (x1/y1 exclusive); text boxes are the exact ink boxes.
Line ``text`` is the slice ``span`` of the normalised input string (``wrap.normalise``; a separator absorbed by
a line break is in ``joiner``, e.g. ``" · "``); ``text + joiner``
over a paragraph's lines gives the normalised string back.  ``"hyphen": true`` (present only when true): the
line ends inside a Latin word wider than the line, and a hyphen is drawn after ``text`` (it is in ``runs``,
not in ``text``: an added hyphen, or the word's own, which is then the ``joiner``).  ``runs[].x`` is
relative to ``origin``; drawing each run with ``anchor="ls"`` at ``origin + (x, 0)`` reproduces the glyphs.
``contrast`` is measured on the finished pixels (``metrics.line_contrast``) and ``required`` is its WCAG AA
threshold.
"""

from __future__ import annotations

import hashlib
import io
import random
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image  # noqa: TC002 - runtime import keeps the dataclasses' hints resolvable

from poster_composer.renderer.analysis import analyse
from poster_composer.renderer.colour import RGB, accent, luminance_array, palette
from poster_composer.renderer.draw import LineMask, line_mask, paint_line, paint_logo, paint_panel
from poster_composer.renderer.errors import InvalidRequestError, TitleNotSettableError
from poster_composer.renderer.fonts import PAIRING_NAMES, PAIRINGS, ROLES, is_bold, pairing_named
from poster_composer.renderer.layout import Layout, LayoutRequest, Paragraph, Taken
from poster_composer.renderer.metrics import AA_NORMAL, line_contrast, required_contrast
from poster_composer.renderer.reframe import reframe
from poster_composer.renderer.scheme import Scheme, SchemeInput, plan_scheme, scrim_box
from poster_composer.renderer.search import plan
from poster_composer.renderer.source import is_monochrome, load_background, load_logo
from poster_composer.renderer.wrap import normalise

if TYPE_CHECKING:
    from poster_composer.renderer.analysis import Analysis
    from poster_composer.renderer.layout import PlacedElement, PlacedLine

MAX_ESCALATION = 4
MIN_SIDE = 16
MAX_SIDE = 12000
PNG_COMPRESS_LEVEL = 1
Box = tuple[float, float, float, float]
IntBox = tuple[int, int, int, int]


@dataclass(frozen=True)
class PosterRequest:
    """What to draw, with the DashScope ``wanx-ast`` field names.

    Parameters
    ----------
    title, subtitle, text:
        Strings by priority (title highest); each string is one paragraph.
    underlay:
        0: panels only where contrast needs them; 1: one panel behind the block; 2: one per element.
    n:
        Number of distinct variants, 1–4.
    temperature:
        0–1: how far variants after the first may stray from the best layout.
    size:
        ``(width, height)`` of the posters, or ``None`` for the background's own size.  The background is
        cropped to that aspect around its subject (faces and the main object kept whole) and scaled to
        exactly that size (``reframe``).
    pairing:
        The name of a font pairing (``fonts.PAIRING_NAMES``) for every variant, or ``None``: the variants
        cycle through the pairings.  With a pairing, variants differ in archetype and alignment only.
    accent:
        The accent colour (RGB) for the titles instead of the palette's, or ``None``.  Its hue and
        saturation are kept; its lightness moves as far as needed for every line to reach at least 4.5:1.
    """

    title: tuple[str, ...]
    subtitle: tuple[str, ...] = ()
    text: tuple[str, ...] = ()
    underlay: int = 0
    n: int = 1
    temperature: float = 0.7
    size: tuple[int, int] | None = None
    pairing: str | None = None
    accent: RGB | None = None


@dataclass(frozen=True)
class RenderedPoster:
    """One variant: the RGB poster (``request.size``, else the upright background's size) and its layout report.

    ``layout["dropped"]`` lists what could not be placed (``{"role", "index", "text"}`` or ``{"role": "logo"}``);
    nothing is ever left out silently.
    """

    image: Image.Image
    layout: dict[str, Any] = field(default_factory=dict)


def _validate(request: PosterRequest) -> None:
    if request.underlay not in (0, 1, 2):
        raise InvalidRequestError("underlay must be 0, 1 or 2")
    if not 1 <= request.n <= 4:
        raise InvalidRequestError("n must be between 1 and 4")
    if not 0.0 <= request.temperature <= 1.0:
        raise InvalidRequestError("temperature must be between 0 and 1")
    if request.size is not None and (
        len(request.size) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in request.size)
        or not all(MIN_SIDE <= v <= MAX_SIDE for v in request.size)
    ):
        raise InvalidRequestError(f"size must be (width, height) with each side between {MIN_SIDE} and {MAX_SIDE}")
    if request.pairing is not None and request.pairing not in PAIRING_NAMES:
        raise InvalidRequestError(f"pairing must be one of {', '.join(PAIRING_NAMES)}")
    if request.accent is not None and (
        len(request.accent) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in request.accent)
    ):
        raise InvalidRequestError("accent must be an (r, g, b) triple of integers between 0 and 255")
    for role in ROLES:
        values = getattr(request, role)
        if isinstance(values, str) or not all(isinstance(v, str) for v in values):
            raise InvalidRequestError(f"{role} must be a sequence of strings")


def _paragraphs(request: PosterRequest) -> tuple[Paragraph, ...]:
    paragraphs: list[Paragraph] = []
    for role in ROLES:
        for index, raw in enumerate(getattr(request, role)):
            text = normalise(raw)
            if text:
                paragraphs.append(Paragraph(role, index, text))
    return tuple(paragraphs)


def _seed(small: Image.Image, request: PosterRequest, logo: Image.Image | None) -> int:
    digest = hashlib.sha256(small.tobytes())
    digest.update(repr((request.title, request.subtitle, request.text, request.underlay)).encode())
    if logo is not None:
        digest.update(logo.resize((32, 32)).tobytes())
    return int.from_bytes(digest.digest()[:8], "big")


def _hex(colour: RGB) -> str:
    return "#{:02x}{:02x}{:02x}".format(*colour)


def _int_box(box: Box) -> IntBox:
    return round(box[0]), round(box[1]), round(box[2]), round(box[3])


def _primary_face(line: PlacedLine) -> str:
    counts: Counter[str] = Counter()
    for run in line.set.runs:
        if run.face is not None:
            counts[run.face] += len(run.text.strip())
    return counts.most_common(1)[0][0] if counts else ""


def _line_required(line: PlacedLine) -> float:
    """WCAG AA threshold of a line: bold only if every face drawing it is bold."""
    faces = [run.face for run in line.set.runs if run.face is not None and run.text.strip()]
    return required_contrast(line.set.size, bool(faces) and all(is_bold(face) for face in faces))


def _line_floor(line: PlacedLine, brand_accent: bool) -> float:
    """The contrast a line must reach before the scheme stops escalating: its WCAG AA threshold, and with a
    requested accent colour at least 4.5:1 on every line, large or not."""
    required = _line_required(line)
    return max(required, AA_NORMAL) if brand_accent else required


@dataclass
class _Drawn:
    masks: dict[tuple[int, int], LineMask]
    contrasts: dict[tuple[int, int], float]


def _logo_colour(layout: Layout, scheme: Scheme, recolour: bool) -> RGB | None:
    """The title's colour for a one-colour logo (it then contrasts like the text), else ``None``."""
    if not recolour:
        return None
    texts = [i for i, e in enumerate(layout.elements) if e.role != "logo" and i in scheme.colours]
    return scheme.colours[texts[0]] if texts else None


def _draw(image: Image.Image, layout: Layout, scheme: Scheme, logo: Image.Image | None, recolour: bool) -> _Drawn:
    for panel in scheme.panels:
        paint_panel(image, panel)
    masks: dict[tuple[int, int], LineMask] = {}
    for ei, element in enumerate(layout.elements):
        if element.role == "logo" and logo is not None:
            paint_logo(image, logo, _int_box(element.box), _logo_colour(layout, scheme, recolour))
        for li, line in enumerate(element.lines):
            masks[(ei, li)] = line_mask(line, image.size)
    for (ei, _), mask in masks.items():
        paint_line(image, mask, scheme.colours[ei])
    return _Drawn(masks, _measure(image, layout, masks))


def _others(key: tuple[int, int], mask: LineMask, masks: dict[tuple[int, int], LineMask]) -> np.ndarray[Any, Any]:
    """Glyph pixels of every other line inside ``mask``'s crop."""
    x0, y0, x1, y1 = mask.box
    others = np.zeros((y1 - y0, x1 - x0), dtype=bool)
    for other_key, other in masks.items():
        if other_key == key or other.ink is None:
            continue
        ox0, oy0 = max(x0, other.box[0]), max(y0, other.box[1])
        ox1, oy1 = min(x1, other.box[2]), min(y1, other.box[3])
        if ox1 <= ox0 or oy1 <= oy0:
            continue
        part = other.coverage[oy0 - other.box[1] : oy1 - other.box[1], ox0 - other.box[0] : ox1 - other.box[0]]
        others[oy0 - y0 : oy1 - y0, ox0 - x0 : ox1 - x0] |= part >= 128
    return others


def _measure(
    image: Image.Image, layout: Layout, masks: dict[tuple[int, int], LineMask]
) -> dict[tuple[int, int], float]:
    contrasts: dict[tuple[int, int], float] = {}
    for key, mask in masks.items():
        pixels = np.asarray(image.crop(mask.box))
        size = layout.elements[key[0]].size
        contrasts[key] = line_contrast(pixels, mask.coverage, _others(key, mask, masks), size)
    return contrasts


def _failures(layout: Layout, drawn: _Drawn, brand_accent: bool) -> int:
    failing = 0
    for (ei, li), value in drawn.contrasts.items():
        if value < _line_floor(layout.elements[ei].lines[li], brand_accent):
            failing += 1
    return failing


@dataclass(frozen=True)
class _Context:
    analysis: Analysis
    accent: RGB
    dominant: RGB
    logo: Image.Image | None
    logo_luminance: float | None
    logo_monochrome: bool
    request: PosterRequest
    paragraphs: tuple[Paragraph, ...]
    seed: int


def _render_variant(
    image: Image.Image, ctx: _Context, variant: int, rng: random.Random, avoid: list[Taken]
) -> dict[str, Any]:
    if ctx.request.pairing is not None:
        pairing = pairing_named(ctx.request.pairing)
    else:
        pairing = PAIRINGS[(ctx.seed + variant) % len(PAIRINGS)]
    aspect = ctx.logo.width / ctx.logo.height if ctx.logo is not None else None
    layout_request = LayoutRequest(image.size, ctx.paragraphs, pairing, aspect, ctx.request.underlay)
    temperature = ctx.request.temperature if variant else 0.0
    layout = plan(ctx.analysis, layout_request, rng, temperature, avoid)
    if layout is None:
        if any(p.role == "title" for p in ctx.paragraphs):
            raise TitleNotSettableError(
                f"the first title cannot be set legibly on a {image.width}x{image.height} canvas: it does not fit "
                "inside the margins at its legibility floor, or only over the image's subject"
            )
        return _empty_report(image, ctx, variant, pairing.name)
    layout = _align_logo(layout, image.size)
    titles = [e.box for e in layout.elements if e.role == "title"]
    avoid.append(Taken(titles[0] if titles else layout.footprint, layout.archetype, layout.align))
    faces = {i: pairing.chain(e.role, e.size)[0] for i, e in enumerate(layout.elements) if e.role != "logo"}
    # Everything a level may paint (the footprint, a scrim grown past it), restored before the next level.
    sx0, sy0, sx1, sy1 = scrim_box(layout, image.size)
    px0, py0, px1, py1 = _int_box(layout.footprint)
    fx0, fy0, fx1, fy1 = min(sx0, px0), min(sy0, py0), max(sx1, px1), max(sy1, py1)
    original = image.crop((fx0, fy0, fx1, fy1))
    level = 0
    while True:
        given = SchemeInput(
            layout,
            faces,
            ctx.accent,
            ctx.dominant,
            ctx.request.underlay,
            level,
            ctx.logo_luminance,
            ctx.logo_monochrome,
            ctx.request.accent is not None,
        )
        scheme = plan_scheme(image, given)
        drawn = _draw(image, layout, scheme, ctx.logo, ctx.logo_monochrome)
        if _failures(layout, drawn, ctx.request.accent is not None) == 0 or level >= MAX_ESCALATION:
            break
        image.paste(original, (fx0, fy0))
        level += 1
    return _report(image, ctx, variant, pairing.name, layout, scheme, drawn, level, faces)


def _align_logo(layout: Layout, canvas: tuple[int, int]) -> Layout:
    """Shift the logo sideways so that it shares the block's axis with the title's *rendered* ink.

    Rasterised ink can start a pixel or two off the outline's box (overshoot, anti-aliasing).
    """
    roles = [e.role for e in layout.elements]
    if "logo" not in roles or "title" not in roles:
        return layout
    logo = layout.elements[roles.index("logo")]
    inks = [line_mask(line, canvas).ink for line in layout.elements[roles.index("title")].lines]
    boxes = [ink for ink in inks if ink is not None]
    if not boxes:
        return layout
    x0, x1 = min(b[0] for b in boxes), max(b[2] for b in boxes)
    lx0, ly0, lx1, ly1 = logo.box
    target = {"left": x0, "right": x1 - (lx1 - lx0), "centre": round((x0 + x1 - (lx1 - lx0)) / 2)}[layout.align]
    fx0, _, fx1, _ = layout.footprint
    target = min(max(target, fx0), fx1 - (lx1 - lx0))
    moved = replace(logo, box=(target, ly0, target + (lx1 - lx0), ly1))
    elements = tuple(moved if e is logo else e for e in layout.elements)
    return replace(layout, elements=elements)


def _line_report(line: PlacedLine, mask: LineMask, colour: RGB, measured: float) -> dict[str, Any]:
    ink = mask.ink or _int_box(line.box)
    report: dict[str, Any] = {
        "text": line.line.text,
        "joiner": line.line.joiner,
        "paragraph": line.paragraph.index,
        "span": [line.line.start, line.line.end],
        "box": list(ink),
        "origin": [line.origin[0], line.origin[1]],
        "font": _primary_face(line),
        "size": line.set.size,
        "colour": _hex(colour),
        "contrast": round(measured, 3),
        "required": _line_required(line),
        "runs": [{"text": r.text, "font": r.face, "x": r.x} for r in line.set.runs],
        "missing": "".join(r.text for r in line.set.runs if r.face is None),
    }
    if line.line.hyphen:
        report["hyphen"] = True
    return report


def _element_report(
    index: int, element: PlacedElement, scheme: Scheme, drawn: _Drawn, face: str | None
) -> dict[str, Any]:
    if element.role == "logo":
        return {"role": "logo", "box": list(_int_box(element.box))}
    colour = scheme.colours[index]
    lines = [
        _line_report(line, drawn.masks[(index, li)], colour, drawn.contrasts[(index, li)])
        for li, line in enumerate(element.lines)
    ]
    boxes = [ln["box"] for ln in lines]
    box = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
    return {
        "role": element.role,
        "box": box,
        "font": face,
        "size": element.size,
        "colour": _hex(colour),
        "lines": lines,
    }


def _report(
    image: Image.Image,
    ctx: _Context,
    variant: int,
    pairing: str,
    layout: Layout,
    scheme: Scheme,
    drawn: _Drawn,
    level: int,
    faces: dict[int, str],
) -> dict[str, Any]:
    offset = len(scheme.panels)
    panels = [
        {
            "role": "panel",
            "kind": p.kind,
            "box": list(p.box),
            "colour": _hex(p.colour),
            "opacity": p.alpha,
            "backs": [offset + i for i in p.backs],
        }
        for p in scheme.panels
    ]
    elements = [_element_report(i, e, scheme, drawn, faces.get(i)) for i, e in enumerate(layout.elements)]
    dropped: list[dict[str, Any]] = [{"role": p.role, "index": p.index, "text": p.text} for p in layout.dropped]
    if layout.logo_dropped:
        dropped.append({"role": "logo"})
    return {
        "canvas": list(image.size),
        "variant": variant,
        "pairing": pairing,
        "align": layout.align,
        "archetype": layout.archetype,
        "seed": f"{ctx.seed:016x}",
        "escalation": level,
        "footprint": list(_int_box(layout.footprint)),
        "elements": panels + elements,
        "dropped": dropped,
        "metrics": {
            "occ": round(layout.occ, 4),
            "min_contrast": round(min(drawn.contrasts.values()), 3) if drawn.contrasts else None,
        },
    }


def _empty_report(image: Image.Image, ctx: _Context, variant: int, pairing: str) -> dict[str, Any]:
    dropped: list[dict[str, Any]] = [{"role": p.role, "index": p.index, "text": p.text} for p in ctx.paragraphs]
    if ctx.logo is not None:
        dropped.append({"role": "logo"})
    return {
        "canvas": list(image.size),
        "variant": variant,
        "pairing": pairing,
        "align": None,
        "seed": f"{ctx.seed:016x}",
        "escalation": 0,
        "footprint": None,
        "elements": [],
        "dropped": dropped,
        "metrics": {"occ": 0.0, "min_contrast": None},
    }


def _logo_luminance(logo: Image.Image | None) -> float | None:
    if logo is None:
        return None
    arr = np.asarray(logo, dtype=np.float64)
    weights = arr[..., 3].reshape(-1) / 255.0
    lum = luminance_array(arr[..., :3]).reshape(-1)
    return float((lum * weights).sum() / max(float(weights.sum()), 1e-9))


def _context(analysis: Analysis, request: PosterRequest, logo: Image.Image | None) -> _Context:
    """What every variant shares: the analysis, the palette's (or the requested) accent, the logo, the seed."""
    colours = palette(analysis.small)
    return _Context(
        analysis,
        accent(colours) if request.accent is None else request.accent,
        colours[0],
        logo,
        _logo_luminance(logo),
        logo is not None and is_monochrome(logo),
        request,
        _paragraphs(request),
        _seed(analysis.small, request, logo),
    )


def render_posters(
    background: bytes | Image.Image,
    request: PosterRequest,
    logo: bytes | Image.Image | None = None,
) -> list[RenderedPoster]:
    """Render ``request.n`` distinct posters of the request's text over a background.

    Parameters
    ----------
    background:
        Encoded image bytes or a PIL image, any mode; EXIF orientation is honoured.
    request:
        Text by priority, underlay, variant count and temperature.
    logo:
        Optional logo (PNG with alpha, bytes or PIL image).

    Returns
    -------
    list[RenderedPoster]
        ``request.n`` posters (variant 0 is the best layout), each with its layout report; the posters
        have ``request.size`` when given, else the upright background's size.

    Raises
    ------
    InvalidImageError
        If the background or logo cannot be decoded.
    InvalidRequestError
        If a request field is out of range.
    TitleNotSettableError
        If the first title cannot be set legibly (``code == "TitleNotSettable"``): a poster is never
        returned without its title.

    Example
    -------
    >>> posters = render_posters(Image.new("RGB", (640, 480), "teal"), PosterRequest(title=("Hello",)))
    >>> posters[0].image.size
    (640, 480)
    """
    _validate(request)
    base = load_background(background)
    logo_image = load_logo(logo) if logo is not None else None
    analysis = analyse(base)
    if request.size is not None and request.size != base.size:
        base = reframe(base, request.size, analysis)
        analysis = analyse(base)
    ctx = _context(analysis, request, logo_image)
    rng = random.Random(ctx.seed)
    avoid: list[Taken] = []
    posters: list[RenderedPoster] = []
    for variant in range(request.n):
        image = base if variant == request.n - 1 else base.copy()
        report = _render_variant(image, ctx, variant, rng, avoid)
        posters.append(RenderedPoster(image=image, layout=report))
    return posters


def encode_png(image: Image.Image) -> bytes:
    """Encode ``image`` as PNG deterministically (no metadata; zlib level 1 for speed).

    Example
    -------
    >>> encode_png(Image.new("RGB", (2, 2)))[:8]
    b'\\x89PNG\\r\\n\\x1a\\n'
    """
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()
