"""The layout search (``plan``): choose a candidate, realise it, and drop what cannot be placed.

Candidates come from a grid of type scales (``sizing.SCALES``, steps of 12 %) down to the preferred minimum;
the chosen one is then grown between its scale and the next step up where that scores better on ground as
calm (``_grown``), so the headline takes the room the grid left.  A headline is not hyphenated while a size
up to a quarter smaller keeps it whole, off faces and the subject; and when the preferred scale's best lies on
the figure (``ON_FIGURE`` of its footprint: a long set over a portrait's body or a cup's saucer), the shrunk
hierarchy is searched first, so that smaller type beside the figure competes with it on the score, led by
placements off the figure where the headline keeps three quarters of its size (``_pools``); when it lies partly
on the figure (``PARTLY_ON_FIGURE``), smaller type placed less on the figure comes first.  Either way the title
led with stays a headline (``HEADLINE_FLOOR`` of the short side: smaller reads as a caption).

If nothing fits even at the minimum sizes, the lowest-priority paragraph is dropped (text, then
subtitle, then the logo, then title lines) and the search runs again; the dropped items are reported.
The same happens when every candidate touches a face, or none keeps ``Occ`` under ``OCC_LIMIT`` and, unless
the ground is calm (``CALM_OCC``), below the ``Occ`` of the same boxes centred on the canvas: on a small canvas
crowded by its subject, less text is better than text over a face or the subject.

The first title is never dropped.  When it alone cannot be placed that way, a relaxed search
(``_fallback``) tries, in order: every title size down to its minimum, more column widths (a third and a
fifth of the usable width too), and free positions (a finer grid of horizontal and vertical positions,
not only pinned to the margins or the centre line).  The best-scored relaxed candidate that meets the
preferred ``Occ`` bounds wins; failing that, the one with the least saliency under the title, preferring
one off faces, among those on calm ground or below the centred position, and under ``FALLBACK_OCC_LIMIT``.
Margins, overlap and contrast (``scheme``) are enforced as always.  Only if the title cannot fit inside the
margins at its minimum size, or every fitting placement breaks those ``Occ`` bounds (tiny canvases
crowded by their subject), is it dropped too; on busy ground (``busy_ground``: a texture, or ground too busy
for text anywhere, such as a checkerboard) it is set on a band instead, off faces.

Later variants take another archetype or alignment and a title box overlapping no earlier variant's
(``Taken``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from poster_composer.renderer.candidates import calm_or_off_centre, candidates_at, find_candidates
from poster_composer.renderer.geometry import centred, iou
from poster_composer.renderer.layout import Paragraph
from poster_composer.renderer.realise import realise
from poster_composer.renderer.scheme import backing_reserves
from poster_composer.renderer.sizing import SCALES
from poster_composer.renderer.stacking import element_boxes

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Iterator

    from poster_composer.renderer.analysis import Analysis
    from poster_composer.renderer.candidates import Candidate
    from poster_composer.renderer.layout import Box, Layout, LayoutRequest, Taken

OCC_LIMIT = 0.33
ATTEMPTS = 12
MAX_VARIANT_IOU = 0.5
BUSY_SPREAD = 0.2  # saliency p90 − p10 below which an image without a subject counts as busy all over
FALLBACK_ATTEMPTS = 48
FALLBACK_OCC_LIMIT = 0.345  # hard bound of the fallback (the preferred bound is ``OCC_LIMIT``)
FALLBACK_OCC_SLACK = 0.02  # how far a candidate's estimated Occ may exceed it and still be set
GROWTH = (1.1, 1.05)  # tried between a chosen scale and the next step of ``SCALES`` (× 1/0.88 = 1.136)
WHOLE_TITLE_SHRINK = 0.75  # how far a headline shrinks to stay whole rather than break a word (Sum- / mer)
GROWTH_OCC_SLACK = 0.005  # a grown block stays on ground as calm as the chosen one's
ON_FIGURE = 0.8  # a preferred best this much on the figure (share of its footprint) meets smaller type first
PARTLY_ON_FIGURE = 0.3  # from this share, smaller type that stays a headline comes first
HEADLINE_FLOOR = 0.056  # a first title line under this share of the short side reads as a caption (issue #10's p10)
HEADLINE_KEEP = 0.75  # moved off the figure, a headline keeps at least this share of its size first


def _drop_order(paragraphs: tuple[Paragraph, ...]) -> list[str | Paragraph]:
    by_role = {role: [p for p in paragraphs if p.role == role] for role in ("title", "subtitle", "text")}
    order: list[str | Paragraph] = [*reversed(by_role["text"]), *reversed(by_role["subtitle"]), "logo"]
    order.extend(reversed(by_role["title"]))
    return order


def _rank_key(c: Candidate) -> tuple[float, str, str, float, float, float]:
    return (c.score, c.archetype.name, c.align, c.y, -c.scale, c.wrap_width)


def _title_box(c: Candidate) -> Box:
    boxes = element_boxes(c.block, c.align, c.x, c.y)
    roles = [e.role for e in c.block.elements]
    return boxes[roles.index("title")] if "title" in roles else boxes[0]


def _choose(candidates: list[Candidate], rng: random.Random, temperature: float, avoid: list[Taken]) -> list[Candidate]:
    """Candidates in the order to try: the best; for later variants, the best of another archetype or
    alignment whose title box overlaps no earlier variant's (IoU < 0.5), sampled by ``temperature``."""
    ranked = sorted(candidates, key=_rank_key)
    if not avoid:
        return ranked[:ATTEMPTS]
    apart = [c for c in ranked if all(iou(_title_box(c), t.title) < MAX_VARIANT_IOU for t in avoid)]
    used = {(t.archetype, t.align) for t in avoid}
    fresh = [c for c in apart if (c.archetype.name, c.align) not in used] or apart or ranked
    if temperature > 0:
        tau = 0.004 + 0.06 * temperature
        pool = [c for c in fresh[:400] if c.score - fresh[0].score <= 12 * tau]
        weights = [math.exp(-(c.score - fresh[0].score) / tau) for c in pool]
        picked = rng.choices(pool, weights=weights, k=1)[0]
        return [picked, *fresh[:ATTEMPTS], *ranked[:ATTEMPTS]]
    return [*fresh[:ATTEMPTS], *ranked[:ATTEMPTS]]


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
        trying = replace(request, paragraphs=tuple(kept), logo_aspect=logo_aspect)
        so_far = _Dropped(tuple(dropped), logo_dropped)
        layout = _first_fit(analysis, trying, so_far, _Variant(rng, temperature, avoid))
        if layout is not None:
            return layout
        if not order:
            return None
        victim = order.pop(0)
        if victim == first_title:
            # Only the first title is left: never drop it for the preferred bounds, relax the search.
            placed = _fallback(analysis, request, first_title, so_far)
            placed = placed or _busy_ground_band(analysis, request, first_title, so_far)
            if placed is not None:
                return placed
        if victim == "logo":
            logo_dropped, logo_aspect = logo_aspect is not None, None
        elif isinstance(victim, Paragraph):
            kept.remove(victim)
            dropped.append(victim)


@dataclass(frozen=True)
class _Dropped:
    """What the search has dropped so far (reported with the layout)."""

    paragraphs: tuple[Paragraph, ...]
    logo: bool


@dataclass(frozen=True)
class _Variant:
    """How a variant chooses: the seeded random source, its temperature and what earlier variants took."""

    rng: random.Random
    temperature: float
    avoid: list[Taken]


def _first_fit(analysis: Analysis, request: LayoutRequest, dropped: _Dropped, variant: _Variant) -> Layout | None:
    """The first acceptable layout of the request's paragraphs (and logo): at the preferred type scale, then
    with the whole hierarchy shrunk to its minimums; ``None`` if none is acceptable.

    When the preferred scale's best breaks a word of the title (a column too narrow for it beside a face), a
    somewhat smaller headline that stays whole and off faces and the subject is tried first (``_pools``)."""
    find = functools.partial(
        find_candidates,
        analysis,
        request.canvas,
        request.paragraphs,
        request.pairing,
        request.logo_aspect,
        underlay=request.underlay,
    )
    for pool in _pools(find, HEADLINE_FLOOR * min(request.canvas)):
        # Candidates whose estimated Occ is well over the bound would fail ``_acceptable``: no attempt on them.
        candidates = [c for c in pool if c.occ <= OCC_LIMIT + FALLBACK_OCC_SLACK]
        for chosen in _choose(candidates, variant.rng, variant.temperature, variant.avoid) if candidates else []:
            grown = _grown(analysis, request.canvas, chosen, variant.avoid)
            for candidate in (grown, chosen) if grown is not chosen else (chosen,):
                layout = realise(analysis, request, candidate, dropped.paragraphs, dropped.logo)
                if layout is not None and _acceptable(analysis, layout, request.canvas):
                    return layout
    return None


def _pools(find: Callable[..., list[Candidate]], headline: float) -> Iterator[list[Candidate]]:
    """The candidates to try, in order (the shrunk hierarchy only found when needed): the preferred scale's;
    first, if its best breaks a word of the title, the headline shrunk by at most ``WHOLE_TITLE_SHRINK`` to
    stay whole, off faces and the subject; then the shrunk hierarchy.  When the preferred best lies on the figure
    (``ON_FIGURE``), the shrunk hierarchy comes first, led by its placements off the figure (under
    ``PARTLY_ON_FIGURE``) whose title stays whole and keeps ``HEADLINE_KEEP`` of the best's size; when it lies
    partly on it, the shrunk hierarchy's placements less on it lead.  Either way their first title line stays a
    ``headline`` (an ink height in pixels: ``HEADLINE_FLOOR`` of the short side)."""
    preferred = find()
    best = min(preferred, key=_rank_key) if preferred else None
    if best is not None and best.breaks_title:
        floor = WHOLE_TITLE_SHRINK * best.scale
        shrunk = find(deep=True, down_to=floor)
        yield [c for c in shrunk if not c.breaks_title and not c.face and c.scale >= floor]
    if best is None or best.figure < PARTLY_ON_FIGURE:
        yield preferred
        yield find(deep=True)
        return
    shrunk = find(deep=True)
    if best.figure >= ON_FIGURE:
        least = max(headline, HEADLINE_KEEP * best.block.title_height)
        yield [
            c for c in shrunk if c.figure < PARTLY_ON_FIGURE and c.block.title_height >= least and not c.breaks_title
        ]
        yield shrunk  # then smaller type still, to keep off the figure
        yield preferred
    else:
        yield [c for c in shrunk if c.figure < best.figure and c.block.title_height >= headline]
        yield preferred
        yield shrunk


def _grown(analysis: Analysis, canvas: tuple[int, int], chosen: Candidate, avoid: list[Taken]) -> Candidate:
    """The chosen block set larger, between its scale and the grid's next step up, where that scores better:
    the headline takes the room a step of ``SCALES`` (12 %) left.  Same setting (archetype, wrap width) and
    alignment, no closer to a face or the subject, on ground as calm (``GROWTH_OCC_SLACK``), no title word
    broken, and still apart from earlier variants."""
    if chosen.free:
        return chosen
    for factor in (f for f in GROWTH if chosen.scale * f <= SCALES[0]):  # never over the largest title tried
        grown = [
            c
            for c in candidates_at(analysis, canvas, chosen.setting, chosen.scale * factor)
            if c.align == chosen.align
            and c.face <= chosen.face
            and c.breaks_title <= chosen.breaks_title
            and c.score < chosen.score
            and c.occ <= chosen.occ + GROWTH_OCC_SLACK
        ]
        apart = [c for c in grown if all(iou(_title_box(c), t.title) < MAX_VARIANT_IOU for t in avoid)]
        if apart:
            return min(apart, key=_rank_key)
    return chosen


def _keeps_off_centre(analysis: Analysis, layout: Layout, canvas: tuple[int, int]) -> bool:
    """``calm_or_off_centre`` for a realised layout, against its element boxes moved, together, to the centre."""
    occ_centred = analysis.occupancy(centred([e.box for e in layout.elements], canvas))
    return calm_or_off_centre(layout.occ, occ_centred, 0.001)


def _touches_a_face(analysis: Analysis, layout: Layout) -> bool:
    """Whether any element or backing of the layout touches a face."""
    return any(analysis.face(box) > 0.0 for box in [*(e.box for e in layout.elements), *backing_reserves(layout)])


def _acceptable(analysis: Analysis, layout: Layout, canvas: tuple[int, int]) -> bool:
    """Whether a realised layout keeps off the image's subject.

    No element or panel may touch a face, and its ``Occ`` must stay under ``OCC_LIMIT`` and, on ground that is
    not calm, below that of the same boxes centred on the canvas (``_keeps_off_centre``); otherwise the caller
    tries the next candidate, and then drops the lowest-priority text.
    """
    if _touches_a_face(analysis, layout):
        return False
    return layout.occ <= OCC_LIMIT and _keeps_off_centre(analysis, layout, canvas)


def _fallback(
    analysis: Analysis,
    request: LayoutRequest,
    title: Paragraph,
    dropped: _Dropped,
) -> Layout | None:
    """Place the first title alone when the preferred search failed (deterministic; see the module doc).

    Returns ``None`` only if the title does not fit inside the margins even at the minimum size.
    """
    kept = (title,)
    candidates = find_candidates(analysis, request.canvas, kept, request.pairing, None, relaxed=True)
    if not candidates:
        return None
    ranked = sorted(candidates, key=lambda c: (c.score, c.align, c.y, c.x, -c.scale, c.wrap_width))
    for candidate in ranked[:ATTEMPTS]:
        layout = realise(analysis, request, candidate, dropped.paragraphs, dropped.logo)
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
        layout = realise(analysis, request, candidate, dropped.paragraphs, dropped.logo)
        if layout is None:
            continue
        # Nearby free positions often round to the same placement: count distinct ones only.
        placement = (layout.footprint, tuple(line.line.drawn for e in layout.elements for line in e.lines))
        if placement in seen:
            continue
        seen.add(placement)
        if layout.occ > FALLBACK_OCC_LIMIT:
            continue
        if not _keeps_off_centre(analysis, layout, request.canvas):
            continue
        key = (analysis.protected(layout.footprint) > 0.0, layout.occ)
        if best is None or key < best[0]:
            best = (key, layout)
    return best[1] if best is not None else None


def busy_ground(analysis: Analysis) -> bool:
    """Whether the image is busy all over: with no subject and a saliency that hardly varies, so that no
    placement is calmer than another (a texture), or with even its calmest tenth over ``OCC_LIMIT``, so that
    none is calm enough for text (a checkerboard, whose corners the analysis may even take for a subject)."""
    low, high = (float(v) for v in np.percentile(analysis.saliency, (10, 90)))
    return (not analysis.protected_mask.any() and high - low < BUSY_SPREAD) or low > OCC_LIMIT


def _busy_ground_band(
    analysis: Analysis,
    request: LayoutRequest,
    title: Paragraph,
    dropped: _Dropped,
) -> Layout | None:
    """On busy ground, set the first title on a band (always backed): the best band placement by score that
    keeps off faces, whatever its ``Occ`` (the band hides the busy ground under the title)."""
    if not busy_ground(analysis):
        return None
    candidates = find_candidates(analysis, request.canvas, (title,), request.pairing, None, underlay=request.underlay)
    bands = sorted((c for c in candidates if c.archetype.name == "band"), key=_rank_key)
    for candidate in bands[:ATTEMPTS]:
        layout = realise(analysis, request, candidate, dropped.paragraphs, dropped.logo)
        if layout is not None and not _touches_a_face(analysis, layout):
            return replace(layout, backed=True)
    return None
