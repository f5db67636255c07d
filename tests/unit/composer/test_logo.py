"""Logos with an opaque flat background: the background is knocked out and a one-colour mark recoloured."""

from __future__ import annotations

import numpy as np
from PIL import Image

from poster_composer.renderer import render_posters
from poster_composer.renderer.source import is_monochrome, knock_out_background, load_logo
from tests.unit.composer.conftest import canvas, logo_path, luminance, request_for
from tests.unit.composer.test_render_matrix import check_all


def test_horse_background_is_knocked_out() -> None:
    # GIVEN the horse logo: RGBA, but opaque white almost everywhere around a black mark
    with Image.open(logo_path()) as raw:
        assert float((np.asarray(raw.convert("RGBA"))[..., 3] == 255).mean()) > 0.99
    # WHEN loaded
    logo = np.asarray(load_logo(logo_path().read_bytes()))
    alpha, rgb = logo[..., 3], logo[..., :3]
    # THEN the white around the horse is transparent, the horse stays opaque, and the edge is soft
    white = rgb.min(axis=-1) >= 235
    assert (alpha[white] <= 8).mean() > 0.99
    assert (alpha[rgb.max(axis=-1) <= 20] == 255).mean() > 0.99
    assert ((alpha > 0) & (alpha < 255)).sum() > 50
    assert is_monochrome(load_logo(logo_path().read_bytes()))


def test_real_transparency_and_busy_borders_are_kept() -> None:
    # GIVEN a logo with real transparency, and an opaque photo-like logo without a flat border
    transparent = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    transparent.paste((255, 255, 255, 255), (0, 0, 40, 4))
    rng = np.random.default_rng(1)
    busy = Image.fromarray(rng.integers(0, 256, (40, 40, 4), dtype=np.uint8) | np.uint8(0), "RGBA")
    busy.putalpha(255)
    # THEN neither is altered
    assert np.array_equal(np.asarray(knock_out_background(transparent)), np.asarray(transparent))
    assert np.array_equal(np.asarray(knock_out_background(busy)), np.asarray(busy))


def test_enclosed_background_colour_is_kept() -> None:
    # GIVEN a black ring on white: the white inside the ring is not connected to the border
    logo = Image.new("RGBA", (30, 30), "white")
    logo.paste((0, 0, 0, 255), (5, 5, 25, 25))
    logo.paste((255, 255, 255, 255), (10, 10, 20, 20))
    alpha = np.asarray(knock_out_background(logo))[..., 3]
    # THEN the outside is transparent and the hole stays opaque white
    assert alpha[0, 0] == 0 and alpha[15, 15] == 255


def test_horse_on_dark_background_is_recoloured_without_a_white_box() -> None:
    # GIVEN the horse logo on the (dark) deep field
    background = canvas("hubble_deep_field.jpg", "9x16", 1280)
    poster = render_posters(background, request_for("latin-short"), logo_path().read_bytes())[0]
    layout = poster.layout
    box = next(e["box"] for e in layout["elements"] if e["role"] == "logo")
    x0, y0, x1, y1 = box
    out = np.asarray(poster.image)[y0:y1, x0:x1]
    lum = luminance(out)
    # THEN there is no white box: the logo area is mostly dark (the knocked-out background shows)
    assert float(np.median(lum)) < 0.2
    # AND the mark is drawn light (recoloured like the text), contrasting with the dark surround
    assert float(np.percentile(lum, 99)) > 0.3
    title = next(e for e in layout["elements"] if e["role"] == "title")
    colour = tuple(int(title["colour"][i : i + 2], 16) for i in (1, 3, 5))
    mark = np.abs(out.astype(int) - np.array(colour)).max(axis=-1) <= 2
    assert mark.mean() > 0.15
    # AND no chip was needed, and every check holds
    assert not any(e.get("kind") == "chip" for e in layout["elements"])
    check_all(background, poster.image, layout, "latin-short")
