"""The layout search's choices on real photos: headlines grown into the room the type scale's steps leave,
and not broken inside a word while a smaller size keeps them whole; a block partly on the figure set smaller
beside it while its title stays a headline; and on a photo calm only in its centre, the text set there."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import numpy as np
import pytest
from PIL import Image, ImageDraw

from poster_composer.renderer import render_posters
from poster_composer.renderer.analysis import analyse
from poster_composer.renderer.candidates import find_candidates
from poster_composer.renderer.compose import _paragraphs
from poster_composer.renderer.fonts import PAIRINGS, pairing_named
from poster_composer.renderer.layout import LayoutRequest
from poster_composer.renderer.realise import realise
from poster_composer.renderer.reframe import reframe
from poster_composer.renderer.search import (
    GROWTH,
    HEADLINE_FLOOR,
    ON_FIGURE,
    PARTLY_ON_FIGURE,
    _acceptable,
    _grown,
    _rank_key,
    plan,
)
from poster_composer.renderer.source import load_logo
from tests.unit.composer.conftest import canvas, logo_path, open_photo, rendered, request_for

if TYPE_CHECKING:
    from poster_composer.renderer.analysis import Analysis
    from poster_composer.renderer.candidates import Candidate

CASES = [
    ("astronaut.png", "1x1", "zh-short"),
    ("coffee.png", "1x1", "latin-short"),
    ("chelsea.png", "16x9", "mixed-long"),
    ("rocket.jpg", "9x16", "latin-long"),
    ("gravel.png", "4x1", "zh-long"),
    ("chelsea.png", "1x1", "zh-short"),
]


@pytest.mark.parametrize(("photo", "aspect", "text_set"), CASES)
def test_a_grown_block_keeps_every_choice_but_its_size(photo: str, aspect: str, text_set: str) -> None:
    # GIVEN the best candidate of the type scale's grid on a 1080 px canvas
    background = canvas(photo, aspect, 1080)
    analysis = analyse(background)
    request = LayoutRequest(background.size, _paragraphs(request_for(text_set)), PAIRINGS[0], None)
    candidates = find_candidates(analysis, background.size, request.paragraphs, request.pairing, None)
    chosen = min((c for c in candidates if not c.breaks_title), key=lambda c: c.score)
    # WHEN it is grown
    grown = _grown(analysis, background.size, chosen, [])
    # THEN it is the same choice, or the same archetype, width and alignment one growth step larger, scoring
    # better, no closer to a face or the subject, with its title whole
    if grown is not chosen:
        assert any(grown.scale == pytest.approx(chosen.scale * f) for f in GROWTH)
        assert (grown.setting, grown.align) == (chosen.setting, chosen.align)
        assert grown.score < chosen.score and grown.face <= chosen.face and not grown.breaks_title


def _grid_choice(analysis: Analysis, request: LayoutRequest, candidates: list[Candidate]) -> Candidate:
    """What the grid alone would set: the best-scored candidate whose layout is acceptable (under the Occ bounds,
    off faces); the best-scored one may not be."""
    for candidate in sorted(candidates, key=lambda c: c.score):
        layout = realise(analysis, request, candidate, (), False)
        if layout is not None and _acceptable(analysis, layout, request.canvas):
            return candidate
    raise AssertionError("no acceptable candidate on the grid")


def test_growing_sets_titles_larger_than_the_grid_alone() -> None:
    # GIVEN the cases above, planned with and without growth
    larger = 0
    for photo, aspect, text_set in CASES:
        background = canvas(photo, aspect, 1080)
        analysis = analyse(background)
        request = LayoutRequest(background.size, _paragraphs(request_for(text_set)), PAIRINGS[0], None)
        layout = plan(analysis, request, random.Random(0), 0.0, [])
        candidates = find_candidates(analysis, background.size, request.paragraphs, request.pairing, None)
        best = _grid_choice(analysis, request, [c for c in candidates if not c.breaks_title])
        assert layout is not None
        title = next(e for e in layout.elements if e.role == "title")
        grid_title = next(e for e in best.block.elements if e.role == "title")
        # THEN no title is smaller than the grid's choice, and some are larger (the search is not a no-op)
        assert title.size >= grid_title.size
        larger += title.size > grid_title.size
    assert larger >= 1


def test_a_headline_is_shrunk_before_it_is_hyphenated() -> None:
    # GIVEN the astronaut at 1920×1920, whose calm column beside the face is narrower than "Summer" at the
    # preferred sizes
    _, poster = rendered("astronaut.png", "1x1", "medium", "latin-short")
    title = next(e for e in poster.layout["elements"] if e["role"] == "title")
    # THEN the title is set smaller, whole, rather than as Sum- / mer
    assert [line["text"] for line in title["lines"]] == ["Summer", "Nights"]
    assert not any(line.get("hyphen") for line in title["lines"])


@pytest.mark.parametrize(
    ("text_set", "underlay", "logo", "pairing"),
    [("latin-long", 1, True, "oswald+lora"), ("zh-long", 0, False, "playfair+source-sans")],
)
def test_a_block_partly_on_the_figure_is_set_beside_it_while_its_title_stays_a_headline(
    text_set: str, underlay: int, logo: bool, pairing: str
) -> None:
    # GIVEN the coffee reframed to the gallery's 16:9, where the best placement at the preferred sizes lies partly
    # on the figure (the hull of the cup and its saucer): the long sets once sat over the saucer's right side
    background = reframe(open_photo("coffee.png"), (1080, 608))
    analysis = analyse(background)
    mark = load_logo(logo_path().read_bytes()) if logo else None  # cropped to its ink, as the renderer has it
    logo_aspect = mark.width / mark.height if mark is not None else None
    paragraphs, fonts = _paragraphs(request_for(text_set)), pairing_named(pairing)
    request = LayoutRequest(background.size, paragraphs, fonts, logo_aspect, underlay)
    preferred = find_candidates(analysis, background.size, paragraphs, fonts, logo_aspect, underlay=underlay)
    best = min(preferred, key=_rank_key)
    assert PARTLY_ON_FIGURE <= best.figure < ON_FIGURE
    # WHEN planned
    layout = plan(analysis, request, random.Random(0), 0.0, [])
    # THEN the block lies less on the figure, and its first title line is still a headline, not a caption
    assert layout is not None and layout.dropped == () and not layout.logo_dropped
    assert analysis.figure(layout.footprint) < best.figure
    _, top, _, bottom = next(e for e in layout.elements if e.role == "title").lines[0].box
    assert bottom - top >= HEADLINE_FLOOR * min(background.size)


def _disc_on_black(size: tuple[int, int]) -> Image.Image:
    """A grainy orange disc filling a black frame (as a retina is photographed, or a plate from above)."""
    w, h = size
    image = Image.new("RGB", size, "black")
    r = round(0.48 * w)
    ImageDraw.Draw(image).ellipse((w // 2 - r, h // 2 - r, w // 2 + r, h // 2 + r), fill=(205, 85, 50))
    grain = 1 + 0.05 * np.random.default_rng(1).standard_normal((h, w, 1))
    return Image.fromarray(np.clip(np.asarray(image) * grain, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("text_set", ["latin-long", "mixed-long", "zh-long"])
def test_a_photo_calm_only_in_its_centre_takes_all_its_text_there(text_set: str) -> None:
    # GIVEN a disc filling a black 16:9 frame: its rim and the black corners are salient, only its middle is calm
    # (a centred block was never calmer than itself centred, so the whole poster once failed: title not settable)
    background = _disc_on_black((1080, 608))
    # WHEN rendered with a long text set and the logo
    poster = render_posters(background, request_for(text_set), logo_path().read_bytes())[0]
    # THEN nothing is dropped, and the block sits in the calm middle
    assert poster.layout["dropped"] == []
    x0, _, x1, _ = poster.layout["footprint"]
    assert abs((x0 + x1) / 2 - 540) <= 0.05 * 1080
