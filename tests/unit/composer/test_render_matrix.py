"""The renderer across every fixture photo × aspect ratio × text set, checked from pixels and the report.

Full matrix at 64 px and 1920 px canvases; a representative subset at 4000×3000 (see ``test_large``).
Each case is rendered once (cached) and checked by one test with several assertions.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from PIL import Image

from poster_composer.gallery import ASPECTS, TEXT_SETS, fit_aspect
from poster_composer.renderer import PosterRequest, render_posters
from poster_composer.renderer.analysis import analyse
from poster_composer.renderer.candidates import CALM_OCC
from poster_composer.renderer.errors import TitleNotSettableError
from poster_composer.renderer.fonts import load_font
from poster_composer.renderer.wrap import normalise
from tests.unit.composer.conftest import (
    PHOTOS,
    boxes_of,
    canvas,
    fixture_path,
    font_cmap,
    large_canvas,
    measured_contrasts,
    rendered,
    request_for,
    text_lines,
)

ROLES = ("title", "subtitle", "text")
CASES = list(itertools.product(PHOTOS, ASPECTS, ("small", "medium"), TEXT_SETS))


def _ids(case: tuple[str, ...]) -> str:
    return "-".join(part.split(".")[0] for part in case)


def check_geometry(background: Image.Image, layout: dict[str, Any]) -> None:
    w, h = background.size
    margin = max(1, int(0.04 * min(w, h)))
    assert layout["canvas"] == [w, h]
    for element in layout["elements"]:
        x0, y0, x1, y1 = element["box"]
        assert margin <= x0 < x1 <= w - margin and margin <= y0 < y1 <= h - margin, element["role"]
    boxes = boxes_of(layout)
    for i, a in enumerate(boxes):  # PosterLayout "Ove" = 0: no two non-panel boxes intersect
        for b in boxes[i + 1 :]:
            assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1]), (a, b)
    for panel in (e for e in layout["elements"] if e["role"] == "panel"):
        px0, py0, px1, py1 = panel["box"]
        for index in panel["backs"]:
            bx0, by0, bx1, by1 = layout["elements"][index]["box"]
            assert px0 <= bx0 and py0 <= by0 and bx1 <= px1 and by1 <= py1, "panel must contain its text"


def check_contrast(image: Image.Image, layout: dict[str, Any]) -> None:
    for text, value, required in measured_contrasts(image, layout):
        assert value >= required, f"{text!r}: {value:.2f} < {required}"


def check_saliency(background: Image.Image, layout: dict[str, Any]) -> None:
    boxes = boxes_of(layout)
    if not boxes:
        return
    analysis = analyse(background)
    occ = sum(analysis.mean_saliency(b) for b in boxes) / len(boxes)
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    dx = (background.width - (x1 - x0)) / 2 - x0
    dy = (background.height - (y1 - y0)) / 2 - y0
    centred = [(b[0] + dx, b[1] + dy, b[2] + dx, b[3] + dy) for b in boxes]
    occ_centred = sum(analysis.mean_saliency(b) for b in centred) / len(centred)
    assert occ <= 0.35, occ
    # Calm ground takes text anywhere; elsewhere the text sits on ground calmer than the same boxes centred.
    assert occ <= CALM_OCC or occ < occ_centred, (occ, occ_centred)


def check_text(layout: dict[str, Any], request: dict[str, tuple[str, ...]]) -> None:
    sizes = [e["size"] for role in ROLES for e in layout["elements"] if e["role"] == role]
    assert all(a > b for a, b in itertools.pairwise(sizes)), sizes
    dropped = {(d["role"], d.get("index")) for d in layout["dropped"]}
    for role in ROLES:
        element = next((e for e in layout["elements"] if e["role"] == role), None)
        for index, raw in enumerate(request[role]):
            if (role, index) in dropped:
                continue
            assert element is not None, f"{role} missing but not reported dropped"
            lines = [ln for ln in element["lines"] if ln["paragraph"] == index]
            assert "".join(ln["text"] + ln["joiner"] for ln in lines) == normalise(raw)
            assert all(ln["text"] and ln["text"] == ln["text"].strip() for ln in lines)
    for line in text_lines(layout):
        assert not line["missing"], line["missing"]
        for run in line["runs"]:
            cmap = font_cmap(run["font"])
            assert all(ord(ch) in cmap for ch in run["text"]), (run["font"], run["text"])


def check_untouched(background: Image.Image, image: Image.Image, layout: dict[str, Any]) -> None:
    changed = np.any(np.asarray(image) != np.asarray(background), axis=-1)
    allowed = np.zeros_like(changed)
    for x0, y0, x1, y1 in boxes_of(layout) + boxes_of(layout, panels=True):
        allowed[y0:y1, x0:x1] = True
    assert not (changed & ~allowed).any(), "pixels changed outside the element boxes"


def check_all(background: Image.Image, image: Image.Image, layout: dict[str, Any], text_set: str) -> None:
    assert image.size == background.size and image.mode == "RGB"
    check_geometry(background, layout)
    check_contrast(image, layout)
    check_saliency(background, layout)
    check_text(layout, TEXT_SETS[text_set])
    check_untouched(background, image, layout)


def _unsettable(case: tuple[str, str, str, str]) -> bool:
    """64 px cases whose first title has no legible placement at all (``TITLE_TOO_BIG``, ``TITLE_OVER_SUBJECT``)."""
    photo, aspect, size, text_set = case
    key = f"{photo.split('.')[0]}-{aspect}-{text_set}"
    return size == "small" and (key in TITLE_TOO_BIG or key in TITLE_OVER_SUBJECT)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_poster(case: tuple[str, str, str, str]) -> None:
    # GIVEN a photo cropped to an aspect ratio and size, and a text set
    photo, aspect, size, text_set = case
    # WHEN it is rendered
    try:
        background, poster = rendered(photo, aspect, size, text_set)
    except TitleNotSettableError as error:
        # (issue #10: a poster without its title is a failure with a stable code, never a success)
        assert _unsettable(case), f"title not settable on a case that used to take it: {error}"
        assert error.code == "TitleNotSettable"
        return
    # THEN every pixel/report check holds
    check_all(background, poster.image, poster.layout, text_set)


LARGE = [(photo, text_set) for photo, text_set in zip(PHOTOS, itertools.cycle(TEXT_SETS), strict=False)]


@pytest.mark.parametrize("case", LARGE, ids=[_ids(c) for c in LARGE])
def test_large(case: tuple[str, str]) -> None:
    # GIVEN a 4000×3000 canvas
    photo, text_set = case
    background = large_canvas(photo)
    # WHEN rendered
    poster = render_posters(background, request_for(text_set))[0]
    # THEN the same checks hold at full resolution
    check_all(background, poster.image, poster.layout, text_set)


def test_small_canvas_drops_rather_than_overflows() -> None:
    # GIVEN a 64×114 canvas and the long text set (on 64×64 the long title itself has no legible placement:
    # that case now fails with TitleNotSettableError, see test_poster)
    _, poster = rendered("rocket.jpg", "9x16", "small", "latin-long")
    # THEN lower-priority text is dropped (and reported), never overflowing
    dropped_roles = [d["role"] for d in poster.layout["dropped"]]
    assert "text" in dropped_roles
    kept = [e["role"] for e in poster.layout["elements"] if e["role"] in ROLES]
    if "subtitle" in kept:
        assert "text" in dropped_roles


def check_first_title(layout: dict[str, Any], text_set: str) -> None:
    first = normalise(TEXT_SETS[text_set]["title"][0])
    titles = [e for e in layout["elements"] if e["role"] == "title"]
    assert titles, "no title element"
    joined = "".join(ln["text"] + ln["joiner"] for ln in titles[0]["lines"] if ln["paragraph"] == 0)
    assert joined == first, (joined, first)
    assert ("title", 0) not in {(d["role"], d.get("index")) for d in layout["dropped"]}


# 64 px cases where no placement of the title keeps every check, even at its legibility floor (12 px,
# ``layout.LEGIBLE_SIZE``): the task fails with ``TitleNotSettable`` (checked exactly, so that a fix shows).
STEMS = [photo.split(".")[0] for photo in PHOTOS]
TITLE_TOO_BIG = {  # the title does not fit inside the margins at 12 px
    *(f"{stem}-1x1-{text_set}" for stem in STEMS for text_set in ("latin-long", "zh-long")),
    # chelsea: since words are hyphenated (issue #10) its 12 px title takes 8 lines (Astron- / omy / Festival);
    # it took 7 only by breaking a word anywhere, with no hyphen (Astronom / y Festival)
    *(f"{stem}-9x16-latin-long" for stem in ("astronaut", "coffee", "chelsea", "gravel")),
    *(f"{stem}-16x9-latin-long" for stem in ("coffee", "chelsea", "hubble_deep_field", "gravel")),
    *(f"{stem}-1x1-mixed-long" for stem in ("rocket", "gravel")),
}
TITLE_OVER_SUBJECT = {  # every placement that fits has Occ > 0.35, or not below the centred boxes
    "astronaut-9x16-latin-short",
    "astronaut-9x16-zh-long",
    "astronaut-9x16-mixed-long",
    "astronaut-1x1-latin-short",
    "astronaut-1x1-zh-short",
    "astronaut-1x1-mixed-short",
    "astronaut-1x1-mixed-long",
    "astronaut-16x9-latin-long",
    "astronaut-16x9-zh-long",
    "astronaut-16x9-mixed-long",
    "astronaut-4x1-latin-long",
    "astronaut-4x1-zh-long",
    "astronaut-4x1-mixed-long",
    "coffee-9x16-zh-long",
    "coffee-9x16-mixed-long",
    "coffee-1x1-latin-short",
    "coffee-1x1-zh-short",
    "coffee-1x1-mixed-short",
    "coffee-1x1-mixed-long",
}


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_first_title_always_drawn(case: tuple[str, str, str, str]) -> None:
    # GIVEN a photo cropped to an aspect ratio at 64 px or 1920 px, and a text set
    photo, aspect, size, text_set = case
    if _unsettable(case):
        # THEN on the 64 px canvases where the title has no legible placement the task fails with a clear
        # code (issue #10: never a poster without its title reported as a success)
        with pytest.raises(TitleNotSettableError) as failure:
            rendered(photo, aspect, size, text_set)
        assert failure.value.code == "TitleNotSettable"
        return
    # WHEN it is rendered
    _, poster = rendered(photo, aspect, size, text_set)
    # THEN the first title is drawn, whole
    check_first_title(poster.layout, text_set)


def test_first_title_kept_on_crowded_wide_crop() -> None:
    # GIVEN the 1080×270 (4:1) crop of the astronaut, whose calm areas are small, and the long text set
    with Image.open(fixture_path("astronaut.png")) as photo:
        background = fit_aspect(photo.convert("RGB"), ASPECTS["4x1"], long_side=1080)
    assert background.size == (1080, 270)
    # WHEN rendered
    poster = render_posters(background.copy(), request_for("latin-long"))[0]
    # THEN lower-priority text is dropped, but the title is drawn and every check holds
    check_first_title(poster.layout, "latin-long")
    assert {d["role"] for d in poster.layout["dropped"]} <= {"subtitle", "text"}
    check_all(background, poster.image, poster.layout, "latin-long")


def test_a_word_wider_than_the_line_is_hyphenated_on_the_poster() -> None:
    # GIVEN a narrow 450×800 canvas and a title of one very long Latin word
    background = canvas("gravel.png", "9x16", 800)
    texts = {"title": ("Pneumonoultramicroscopicsilicovolcanoconiosis",), "subtitle": ("A night of words",), "text": ()}
    # WHEN rendered
    poster = render_posters(background.copy(), PosterRequest(texts["title"], texts["subtitle"], texts["text"]))[0]
    title = next(e for e in poster.layout["elements"] if e["role"] == "title")
    # THEN the title breaks at hyphenation points: its lines but the last carry "hyphen": true and draw a
    # hyphen that is not in their text
    lines = title["lines"]
    assert len(lines) > 1
    assert [ln.get("hyphen", False) for ln in lines] == [True] * (len(lines) - 1) + [False]
    for line in lines[:-1]:
        drawn = "".join(run["text"] for run in line["runs"])
        assert drawn == line["text"] + "-" and not line["text"].endswith("-") and line["joiner"] == ""
        # AND the hyphen is inked: the line's ink reaches past the pen position after its text
        font = load_font(line["font"], line["size"])
        assert line["box"][2] > line["origin"][0] + font.getlength(line["text"])
    assert "hyphen" not in lines[-1]
    # AND the hyphen is measured: every box stays inside the margins, nothing overlaps, the text joins back,
    # contrast holds and no pixel changed outside the boxes
    check_geometry(background, poster.layout)
    check_contrast(poster.image, poster.layout)
    check_text(poster.layout, texts)
    check_untouched(background, poster.image, poster.layout)
