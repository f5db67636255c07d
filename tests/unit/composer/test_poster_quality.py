"""Issue #10 on the gallery's own matrix (``poster_composer.gallery``: every fixture × aspect × text set,
reframed by the renderer, underlay 0/1/2 and the logo cycling): presence, PosterLayout metrics, an
independent saliency judge, word-respecting breaks, reported drops, variants and busy ground.

The matrix is rendered once per session at the gallery's default size (1080 px on the long side).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pytest
from PIL import Image

from poster_composer.gallery import TEXT_SETS, Rendered, cases, fixtures_dir, logo_file, poster_metrics, render_case
from poster_composer.renderer import PosterRequest, render_posters
from poster_composer.renderer.posterlayout import aggregate
from poster_composer.renderer.wrap import normalise
from tests.unit.composer.conftest import canvas, covering, open_photo, request_for
from tests.unit.composer.test_render_matrix import check_contrast, check_geometry
from tests.unit.composer.test_subject import ASTRONAUT_FACE

LONG_SIDE = 1080
SEPARATORS = "·|/-—–｜・"
# The first test to ask for the matrix renders and judges its 180 posters (ISNet at 1024 px each): about 4 minutes
# on a slow 2-core machine, more when it is shared, so the hang guard here is longer than the suite's 300 s.
pytestmark = pytest.mark.timeout(900)


@functools.cache
def _matrix() -> tuple[tuple[Rendered, dict[str, Any]], ...]:
    path = logo_file()
    logo = path.read_bytes() if path else None
    out = []
    for case in cases(fixtures_dir()):
        item = render_case(case, LONG_SIDE, logo)
        out.append((item, poster_metrics(item)))
    return tuple(out)


def _ok() -> list[tuple[Rendered, dict[str, Any]]]:
    return [(item, meta) for item, meta in _matrix() if item.poster is not None]


def _layouts() -> list[tuple[str, dict[str, Any]]]:
    return [(item.case.text_set, item.poster.layout) for item, _ in _ok() if item.poster is not None]


def test_every_gallery_case_renders_with_its_title() -> None:
    # THEN no case of the gallery fails, and every poster carries its first title
    assert [item.case.name for item, _ in _matrix() if item.poster is None] == []
    for text_set, layout in _layouts():
        titles = [e for e in layout["elements"] if e["role"] == "title"]
        assert titles, text_set


def test_presence() -> None:
    # THEN the title carries the image: first-line height ÷ short side, and the block's share of the canvas
    presence = np.array([meta["presence"] for _, meta in _ok()])
    coverage = np.array([meta["coverage"] for _, meta in _ok()])
    assert float(np.median(presence)) >= 0.08, np.median(presence)
    assert float(np.percentile(presence, 10)) >= 0.055, np.percentile(presence, 10)
    assert float(np.median(coverage)) >= 0.15, np.median(coverage)


def test_posterlayout_metrics_reach_the_goals() -> None:
    # THEN (against DS-GAN's PKU figures Uti 0.254, Occ 0.209, Rea 0.187, Ove 0.022, Ali 0.0046)
    scores = aggregate(meta for _, meta in _ok())
    assert scores["uti"] >= 0.25, scores
    assert scores["occ"] <= 0.21, scores
    assert scores["rea"] <= 0.19, scores
    assert scores["ove"] == 0.0, scores
    assert scores["ali"] <= 0.005, scores


def _judged(key: str) -> list[float]:
    judged = [meta[key] for _, meta in _ok()]
    assert all(value is not None for value in judged), "a judge is missing: the dev extra, tools/fetch_judge_model.py"
    return judged


@pytest.mark.xfail(
    strict=True,
    reason=(
        "8 of 180 posters put over a third of their block on the figure as ISNet sees it: the cat filling the"
        " frame at 16:9 (4; a strip of blurred room beside her), the saucer in the coffee's 1:4 (3: the analysis"
        " sees its plain red as calm ground) and its 1:1 crop (1: the long set with the logo touches the cup"
        " wherever it goes)"
    ),
)
def test_independent_judge_every_poster() -> None:
    # THEN a salient-object detector the renderer never sees (ISNet: the whole figure, as PosterLayout's Occ is
    # defined) finds every poster's Occ ≤ 0.35
    assert max(_judged("judge_occ")) <= 0.35, max(_judged("judge_occ"))


def test_independent_judge_median() -> None:
    assert float(np.median(_judged("judge_occ"))) <= 0.15, np.median(_judged("judge_occ"))


def test_fine_grained_judge_every_poster() -> None:
    # THEN OpenCV's fine-grained saliency, a second independent judge, also finds every poster's Occ ≤ 0.35
    assert max(_judged("fine_grained_occ")) <= 0.35, max(_judged("fine_grained_occ"))


@pytest.mark.xfail(
    strict=True,
    reason=(
        "median Occ under the fine-grained judge is ~0.22: on texture (gravel, star field) any place is salient to"
        " it, and the calmest single box of each gallery canvas (tools/judge_oracle.py --estimator fine-grained, on"
        " its own map) has a median of 0.149 at 12 % of the canvas and 0.188 at 20 % (the block covers a median"
        " of 15 % at least)"
    ),
)
def test_fine_grained_judge_median() -> None:
    assert float(np.median(_judged("fine_grained_occ"))) <= 0.15, np.median(_judged("fine_grained_occ"))


def _phrase_bounds(text: str) -> set[int]:
    import budoux

    parser = budoux.load_default_simplified_chinese_parser()
    bounds = {0, len(text)}
    for start, end in _cjk_runs(text):
        pos = start
        for phrase in parser.parse(text[start:end]):
            pos += len(phrase)
            bounds.add(pos)
        bounds.add(start)
    return bounds


def _cjk_runs(text: str) -> list[tuple[int, int]]:
    from poster_composer.renderer.wrap import is_cjk

    runs, start = [], None
    for i, ch in enumerate(text + " "):
        if is_cjk(ch) and start is None:
            start = i
        elif not is_cjk(ch) and start is not None:
            runs.append((start, i))
            start = None
    return runs


def test_breaks_respect_phrases_and_separators() -> None:
    from poster_composer.renderer.wrap import is_cjk

    for text_set, layout in _layouts():
        for element in (e for e in layout["elements"] if e["role"] in ("title", "subtitle", "text")):
            raw = TEXT_SETS[text_set][element["role"]]
            for line in element["lines"]:
                # THEN no separator ends or starts a line
                assert line["text"][0] not in SEPARATORS and line["text"][-1] not in SEPARATORS, line["text"]
                paragraph = normalise(raw[line["paragraph"]])
                end = line["span"][1]
                if end >= len(paragraph) or not (is_cjk(paragraph[end - 1]) and is_cjk(paragraph[end])):
                    continue
                # AND a break inside a run of CJK falls between BudouX phrases, unless the line is one phrase
                # fragment (a phrase wider than the line)
                fragment = not any(line["span"][0] < b < end for b in _phrase_bounds(paragraph))
                assert end in _phrase_bounds(paragraph) or fragment, (text_set, line["text"])


def test_no_headline_is_hyphenated() -> None:
    # THEN no title of the gallery (whose words all fit at a legible size) is broken inside a word
    for text_set, layout in _layouts():
        for title in (e for e in layout["elements"] if e["role"] == "title"):
            assert not any(line.get("hyphen") for line in title["lines"]), (text_set, title["lines"])


def test_no_silent_drops() -> None:
    for text_set, layout in _layouts():
        dropped = {(d["role"], d.get("index")) for d in layout["dropped"]}
        for role in ("title", "subtitle", "text"):
            drawn = {ln["paragraph"] for e in layout["elements"] if e["role"] == role for ln in e["lines"]}
            for index in range(len(TEXT_SETS[text_set][role])):
                # THEN every input is drawn or reported dropped
                assert index in drawn or (role, index) in dropped, (text_set, role, index)


def test_no_right_aligned_text() -> None:
    assert {layout["align"] for _, layout in _layouts()} <= {"left", "centre"}


def _iou(a: list[int], b: list[int]) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union if union else 0.0


@pytest.mark.parametrize("photo", ["rocket.jpg", "gravel.png", "coffee.png"])
@pytest.mark.parametrize("temperature", [0.0, 0.7])
def test_variants_differ_in_archetype_or_alignment(photo: str, temperature: float) -> None:
    # GIVEN three variants of one request
    background = canvas(photo, "1x1", 1080)
    posters = render_posters(background, request_for("latin-short", n=3, temperature=temperature))
    kinds = [(p.layout["archetype"], p.layout["align"]) for p in posters]
    titles = [next(e["box"] for e in p.layout["elements"] if e["role"] == "title") for p in posters]
    # THEN each differs from the others in archetype or alignment, and their title boxes barely overlap
    assert len(set(kinds)) == 3, kinds
    for i, a in enumerate(titles):
        for b in titles[i + 1 :]:
            assert _iou(a, b) < 0.5, (titles, kinds)


def _busy_ground(pattern: str) -> Image.Image:
    """200 × 200 px of busy ground: coloured diagonal stripes 10 px wide, or a black and white checkerboard of
    25 px squares (whose corners the analysis takes for a subject: no placement is calm enough for text)."""
    yy, xx = np.indices((200, 200))
    if pattern == "stripes":
        stripes = ((yy + xx) // 10 % 2 * 255).astype(np.uint8)
        return Image.fromarray(np.stack([stripes, 255 - stripes, stripes // 2], -1))
    squares = ((yy // 25 + xx // 25) % 2 * 255).astype(np.uint8)
    return Image.fromarray(squares).convert("RGB")


@pytest.mark.parametrize("pattern", ["stripes", "checkerboard"])
def test_busy_ground_gets_a_band_not_an_empty_poster(pattern: str) -> None:
    # GIVEN a small busy background (issue #10, finding 10: "a 200×200 checker pattern, for one")
    background = _busy_ground(pattern)
    # WHEN rendered
    poster = render_posters(background.copy(), PosterRequest(title=("Summer Nights",), subtitle=("Open-air",)))[0]
    layout = poster.layout
    # THEN the title is set, on a backing, legibly; anything left out is reported
    title = next(e for e in layout["elements"] if e["role"] == "title")
    assert "".join(ln["text"] + ln["joiner"] for ln in title["lines"]) == "Summer Nights"
    panels = [e for e in layout["elements"] if e["role"] == "panel"]
    assert panels and all(title["box"][0] >= p["box"][0] and title["box"][2] <= p["box"][2] for p in panels)
    check_geometry(background, layout)
    check_contrast(poster.image, layout)
    assert all(d["role"] != "title" for d in layout["dropped"])


def test_a_face_on_busy_ground_stays_clear_of_the_band() -> None:
    # GIVEN the astronaut's head, at three quarters of its size, in the middle of a checkerboard
    background = _busy_ground("checkerboard").resize((300, 300), Image.Resampling.NEAREST)
    background.paste(open_photo("astronaut.png").crop((150, 30, 310, 210)).resize((120, 135)), (90, 82))
    # her hand-measured face, through the crop (from 150, 30), the scale (0.75) and the paste (at 90, 82)
    crop, paste = (150, 30, 150, 30), (90, 82, 90, 82)
    face = tuple(round(at + 0.75 * (v - origin)) for v, origin, at in zip(ASTRONAUT_FACE, crop, paste, strict=True))
    # WHEN rendered
    poster = render_posters(background, PosterRequest(title=("Summer Nights",), subtitle=("Open-air",)))[0]
    # THEN the title is set on a band that keeps off the face
    layout = poster.layout
    assert any(e["role"] == "title" for e in layout["elements"])
    assert covering(layout, face) == []


def _panel_fills() -> list[float]:
    """Per panel (not scrims): the backed elements' box area ÷ the panel's area."""
    fills = []
    for _, layout in _layouts():
        for panel in (e for e in layout["elements"] if e.get("kind") == "panel"):
            x0, y0, x1, y1 = panel["box"]
            inner = sum(
                (layout["elements"][i]["box"][2] - layout["elements"][i]["box"][0])
                * (layout["elements"][i]["box"][3] - layout["elements"][i]["box"][1])
                for i in panel["backs"]
            )
            fills.append(inner / ((x1 - x0) * (y1 - y0)))
    return fills


def test_text_fills_its_panels_mostly() -> None:
    # THEN panels are not mostly empty: the text's boxes cover at least 35 % of most panels
    fills = np.array(_panel_fills())
    assert float(np.median(fills)) >= 0.35, np.median(fills)
    assert float((fills >= 0.35).mean()) >= 0.75, (fills >= 0.35).mean()


def test_text_fills_every_panel() -> None:
    # THEN no panel is mostly empty: a ragged block (a long title over short lines) gets another shape
    assert min(_panel_fills()) >= 0.35, min(_panel_fills())


def test_the_gallery_uses_six_archetypes() -> None:
    # THEN the compositions vary with the image and canvas: at least six archetypes appear, none dominates
    archetypes = [layout["archetype"] for _, layout in _layouts()]
    counts = {name: archetypes.count(name) for name in set(archetypes)}
    assert {"band", "stack", "column", "edge", "card", "split"} <= set(counts), counts
    assert max(counts.values()) <= 0.5 * len(archetypes), counts
