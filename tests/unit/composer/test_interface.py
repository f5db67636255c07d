"""The interface the task layer builds on: ``PosterRequest.size``, the drop report and the coded title error."""

from __future__ import annotations

import pytest
from PIL import Image

from poster_composer.renderer import PosterRequest, RenderError, TitleNotSettableError, render_posters
from poster_composer.renderer.analysis import analyse
from poster_composer.renderer.reframe import crop_box
from tests.unit.composer.conftest import boxes_of, open_photo, request_for
from tests.unit.composer.test_render_matrix import check_all
from tests.unit.composer.test_subject import ASTRONAUT_FACE

TARGETS = [(1600, 400), (1920, 1080), (400, 1600), (900, 900), (2048, 512)]
# On a 4:1 crop of the 512 px square the window is 128 px tall, the face box 120 px: the features (eyes to
# mouth, hand-measured) must be kept whole there, the whole face box everywhere else.
FEATURES = (190, 90, 270, 160)


@pytest.mark.parametrize("size", TARGETS, ids=[f"{w}x{h}" for w, h in TARGETS])
def test_size_reframes_around_the_face(size: tuple[int, int]) -> None:
    # GIVEN the astronaut portrait and a target size of another aspect
    photo = open_photo("astronaut.png")
    # WHEN the crop window is chosen
    x0, y0, x1, y1 = crop_box(analyse(photo), photo.size, size)
    # THEN it has the target's aspect and keeps the whole face inside
    assert abs((x1 - x0) / (y1 - y0) - size[0] / size[1]) < 0.01
    fx0, fy0, fx1, fy1 = FEATURES if size[0] == 4 * size[1] else ASTRONAUT_FACE
    assert x0 <= fx0 and y0 <= fy0 and fx1 <= x1 and fy1 <= y1, ((x0, y0, x1, y1), ASTRONAUT_FACE)


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920)], ids=["16x9", "9x16"])
def test_size_keeps_a_close_up_face_whole(size: tuple[int, int]) -> None:
    # GIVEN a close-up: the astronaut's head, a quarter of the frame (a share the skin-tone test once took for a
    # surface such as wood, not a face)
    photo = open_photo("astronaut.png").crop((100, 0, 360, 300))
    fx0, fy0, fx1, fy1 = (v - o for v, o in zip(FEATURES, (100, 0, 100, 0), strict=True))
    # WHEN the crop window is chosen for a landscape or a portrait
    x0, y0, x1, y1 = crop_box(analyse(photo), photo.size, size)
    # THEN the eyes, nose and mouth are inside it
    assert x0 <= fx0 and y0 <= fy0 and fx1 <= x1 and fy1 <= y1, ((x0, y0, x1, y1), (fx0, fy0, fx1, fy1))


def test_size_gives_exactly_that_size() -> None:
    # GIVEN a request with a size (up-scaling a small background is allowed)
    request = request_for("latin-short", size=(1600, 400), n=2)
    # WHEN rendered
    posters = render_posters(open_photo("rocket.jpg"), request)
    # THEN each poster has exactly that size and carries its report
    assert [p.image.size for p in posters] == [(1600, 400)] * 2
    for poster in posters:
        assert poster.layout["canvas"] == [1600, 400]
        assert isinstance(poster.layout["dropped"], list)


def test_title_not_settable_is_a_coded_error() -> None:
    # GIVEN a 32×32 background and a long title that cannot fit at its legibility floor
    background = Image.new("RGB", (32, 32), "navy")
    request = PosterRequest(title=("The Incomparable Midsummer Astronomy Festival",))
    # WHEN rendered THEN a dedicated error with a stable code is raised (never a poster without its title)
    with pytest.raises(TitleNotSettableError) as caught:
        render_posters(background, request)
    assert isinstance(caught.value, RenderError)
    assert caught.value.code == "TitleNotSettable"
    assert "title" in str(caught.value)


def test_size_poster_keeps_the_face_clear() -> None:
    # GIVEN the astronaut reframed to a 4:1 banner
    request = request_for("latin-short", size=(1600, 400))
    poster = render_posters(open_photo("astronaut.png"), request)[0]
    # THEN every check holds on the reframed background
    background = render_posters(open_photo("astronaut.png"), PosterRequest(title=(), size=(1600, 400)))[0].image
    check_all(background, poster.image, poster.layout, "latin-short")
    assert boxes_of(poster.layout)


def test_a_strip_too_narrow_for_the_subject_leaves_room_for_the_text() -> None:
    # GIVEN the coffee cup (600×400, the cup and saucer span most of the width) and a 1:4 strip
    photo = open_photo("coffee.png")
    analysis = analyse(photo)
    # WHEN the crop window is chosen
    x0, y0, x1, y1 = crop_box(analysis, photo.size, (270, 1080))
    # THEN it keeps part of the subject, and one of its ends (a third of its height) is clear of it: not a
    # strip through the middle of the cup with the subject from top to bottom
    band = 0.3 * (y1 - y0)
    ends = [(x0, y0, x1, y0 + band), (x0, y1 - band, x1, y1)]
    assert analysis.protected((x0, y0, x1, y1)) > 0.1
    assert min(analysis.protected(end) for end in ends) < 0.1, [analysis.protected(end) for end in ends]
