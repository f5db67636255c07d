"""Drawing panels: a scrim blends its colour at full strength inside and fades out smoothly over its ramps."""

from __future__ import annotations

import numpy as np
from PIL import Image

from poster_composer.renderer.draw import paint_panel
from poster_composer.renderer.scheme import PanelSpec


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
