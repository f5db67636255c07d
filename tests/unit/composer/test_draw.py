"""Drawing panels: a scrim blends its colour at full strength inside and fades out smoothly over its ramps, which
reach as far past the text at a canvas edge as in mid-canvas."""

from __future__ import annotations

import numpy as np
from PIL import Image

from poster_composer.renderer.draw import paint_panel
from poster_composer.renderer.layout import Layout
from poster_composer.renderer.scheme import SCRIM_GROW, PanelSpec, scrim_box


def test_a_scrim_is_full_strength_inside_and_fades_to_nothing_over_its_ramps() -> None:
    # GIVEN a white canvas and a black scrim at 80 % that fades over 100 px to the left and 50 px to the bottom
    image = Image.new("RGB", (600, 400), "white")
    spec = PanelSpec("scrim", (100, 50, 500, 350), (0, 0, 0), 0.8, (100.0, 0.0, 0.0, 50.0), 0.0, (0,))
    # WHEN painted
    paint_panel(image, spec)
    # THEN outside the box nothing changes, inside its ramps it is at full strength (255 * 0.2 = 51 left)
    pixels = np.asarray(image)[..., 0].astype(int)
    assert (pixels[:50] == 255).all() and (pixels[:, :100] == 255).all() and (pixels[:, 500:] == 255).all()
    assert (np.abs(pixels[50:300, 200:500] - 51) <= 1).all()
    # and across each ramp it darkens steadily from almost white at the outer edge
    row = pixels[150, 100:200]
    column = pixels[300:350, 300]
    for ramp in (row, column[::-1]):
        assert ramp[0] >= 250 and abs(int(ramp[-1]) - 51) <= 1
        assert (np.diff(ramp) <= 0).all()


def _layout(footprint: tuple[float, float, float, float]) -> Layout:
    return Layout((), footprint, 10.0, "left", (), logo_dropped=False, score=0.0, occ=0.0, room=(0, 0, 1000, 1000))


def test_a_scrim_fades_as_far_past_the_text_at_an_edge_as_in_mid_canvas() -> None:
    # GIVEN a block 200 px high on a 1000 px canvas, free to grow anywhere: at its foot, at its top, in mid-canvas
    canvas = (1000, 1000)
    grow = round(SCRIM_GROW * 200)
    # WHEN each gets a scrim
    foot, top, middle = (scrim_box(_layout((200, y, 500, y + 200)), canvas) for y in (755, 45, 400))
    # THEN at an edge it rises from the canvas edge as far past the block as it reaches each way in mid-canvas:
    # it darkens no more of the photo than the text needs
    assert (foot[1], foot[3]) == (755 - grow, 955)
    assert (top[1], top[3]) == (45, 245 + grow)
    assert (middle[1], middle[3]) == (400 - grow, 600 + grow)
    # and sideways each reaches as far
    assert {(b[0], b[2]) for b in (foot, top, middle)} == {(200 - grow, 500 + grow)}
