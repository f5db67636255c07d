"""Inputs and options beyond the matrix: modes, EXIF, logo, underlay, variants, determinism, errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from poster_composer.renderer import PosterRequest, encode_png, render_posters
from poster_composer.renderer.errors import InvalidImageError, InvalidRequestError, TitleNotSettableError
from poster_composer.renderer.source import load_background
from tests.unit.composer.conftest import canvas, fixture_path, logo_path, request_for
from tests.unit.composer.test_render_matrix import check_all, check_contrast, check_geometry

RENDERER = Path(__file__).resolve().parents[3] / "layers" / "composer" / "poster_composer" / "renderer"


def _bytes(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L", "P", "CMYK"])
def test_modes(mode: str) -> None:
    # GIVEN the same photo in another mode
    background = canvas("chelsea.png", "1x1", 720).convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    # WHEN rendered from encoded bytes
    poster = render_posters(_bytes(background, fmt), request_for("mixed-short"))[0]
    # THEN the output is RGB at the same size and passes the checks against the normalised background
    normalised = load_background(_bytes(background, fmt))
    assert poster.image.mode == "RGB" and poster.image.size == background.size
    check_all(normalised, poster.image, poster.layout, "mixed-short")


def test_exif_rotation_is_honoured() -> None:
    # GIVEN a landscape JPEG tagged "rotate 90° CW" (orientation 6)
    landscape = canvas("rocket.jpg", "16x9", 800)
    exif = Image.Exif()
    exif[0x0112] = 6
    data = _bytes(landscape, "JPEG", exif=exif.tobytes(), quality=92)
    # WHEN rendered
    poster = render_posters(data, request_for("latin-short"))[0]
    # THEN the poster is upright (portrait) and checks hold
    assert poster.image.size == (landscape.height, landscape.width)
    check_all(load_background(data), poster.image, poster.layout, "latin-short")


@pytest.mark.parametrize("underlay", [0, 1, 2])
def test_logo_and_underlay(underlay: int) -> None:
    # GIVEN a logo and an underlay setting
    background = canvas("hubble_deep_field.jpg", "9x16", 1280)
    request = request_for("latin-short", underlay=underlay)
    # WHEN rendered
    poster = render_posters(background, request, logo_path().read_bytes())[0]
    # THEN the logo is placed, panels follow the underlay setting, and the checks hold
    roles = [e["role"] for e in poster.layout["elements"]]
    assert "logo" in roles
    panels = [e for e in poster.layout["elements"] if e["role"] == "panel" and e["kind"] == "panel"]
    if underlay == 1:
        assert len(panels) == 1
    if underlay == 2:
        assert len(panels) == sum(r in ("title", "subtitle", "text", "logo") for r in roles)
    check_all(background, poster.image, poster.layout, "latin-short")


def test_logo_shares_the_text_axis() -> None:
    # GIVEN a logo
    background = canvas("rocket.jpg", "1x1", 900)
    poster = render_posters(background, request_for("latin-short"), logo_path().read_bytes())[0]
    layout = poster.layout
    boxes = {e["role"]: e["box"] for e in layout["elements"] if e["role"] != "panel"}

    # THEN logo and title align on the block's axis
    def axis(box: list[int]) -> float:
        return {"left": box[0], "right": box[2], "centre": (box[0] + box[2]) / 2}[layout["align"]]

    assert abs(axis(boxes["logo"]) - axis(boxes["title"])) <= 1


def test_variants_are_distinct_and_valid() -> None:
    # GIVEN n=4 at a high temperature
    background = canvas("chelsea.png", "9x16", 1280)
    posters = render_posters(background, request_for("zh-short", n=4, temperature=1.0))
    # THEN four distinct posters (pairing differs), each passing the checks
    assert [p.layout["variant"] for p in posters] == [0, 1, 2, 3]
    assert len({p.layout["pairing"] for p in posters}) == 4
    assert len({encode_png(p.image) for p in posters}) == 4
    for poster in posters:
        check_all(background, poster.image, poster.layout, "zh-short")


def test_deterministic_bytes() -> None:
    # GIVEN the same inputs twice (bytes in, including a logo and n=2)
    data = _bytes(canvas("coffee.png", "16x9", 1280), "JPEG", quality=90)
    request = request_for("mixed-long", n=2, temperature=0.5)
    logo = logo_path().read_bytes()
    first = render_posters(data, request, logo)
    second = render_posters(data, request, logo)
    # THEN identical bytes and reports
    assert [encode_png(p.image) for p in first] == [encode_png(p.image) for p in second]
    assert [json.dumps(p.layout) for p in first] == [json.dumps(p.layout) for p in second]


def test_report_is_json_serialisable() -> None:
    poster = render_posters(canvas("rocket.jpg", "1x1", 600), request_for("mixed-short"))[0]
    decoded = json.loads(json.dumps(poster.layout))
    assert decoded["canvas"] == [600, 600] and decoded["pairing"]


@pytest.mark.parametrize("size", [(64, 64), (64, 256), (256, 64), (8000, 2000)])
def test_extreme_sizes(size: tuple[int, int]) -> None:
    # GIVEN extreme canvases (tiny, 1:4, 4:1, very large)
    background = Image.open(fixture_path("gravel.png")).convert("RGB").resize(size)
    try:
        poster = render_posters(background, request_for("latin-long"))[0]
    except TitleNotSettableError as error:
        # (issue #10) the long title has no legible placement on 64×64: a coded failure, not an empty poster
        assert size == (64, 64) and error.code == "TitleNotSettable"
        return
    # THEN nothing overflows and contrast holds (text is dropped instead, and reported)
    check_geometry(background, poster.layout)
    check_contrast(poster.image, poster.layout)
    kept = sum(1 for e in poster.layout["elements"] if e["role"] in ("title", "subtitle", "text") for _ in e["lines"])
    assert kept or poster.layout["dropped"]


def test_very_large_square() -> None:
    # GIVEN an 8000×8000 background (64 MP)
    background = Image.open(fixture_path("astronaut.png")).convert("RGB").resize((8000, 8000))
    poster = render_posters(background, request_for("zh-short"))[0]
    check_geometry(background, poster.layout)
    check_contrast(poster.image, poster.layout)


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", _bytes(Image.new("RGB", (50, 50)), "PNG")[:40]],
    ids=["empty", "text", "truncated"],
)
def test_bad_background(data: bytes) -> None:
    with pytest.raises(InvalidImageError):
        render_posters(data, PosterRequest(title=("x",)))


def test_decompression_bomb_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a lowered pixel limit so a small PNG counts as a bomb
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(InvalidImageError):
        render_posters(_bytes(Image.new("RGB", (200, 200)), "PNG"), PosterRequest(title=("x",)))


@pytest.mark.parametrize(
    "request_",
    [
        PosterRequest(title=("x",), underlay=3),
        PosterRequest(title=("x",), n=0),
        PosterRequest(title=("x",), n=5),
        PosterRequest(title=("x",), temperature=1.5),
        PosterRequest(title=("x",), size=(0, 100)),
        PosterRequest(title=("x",), size=(100,)),  # type: ignore[arg-type]
        PosterRequest(title=("x",), size=(100.0, 100)),  # type: ignore[arg-type]
        PosterRequest(title="x"),  # type: ignore[arg-type]
    ],
)
def test_bad_request(request_: PosterRequest) -> None:
    with pytest.raises(InvalidRequestError):
        render_posters(Image.new("RGB", (100, 100)), request_)


def test_empty_text_renders_background_unchanged() -> None:
    background = canvas("rocket.jpg", "1x1", 300)
    poster = render_posters(background, PosterRequest(title=("   ",)))[0]
    assert np.array_equal(np.asarray(poster.image), np.asarray(background))
    assert poster.layout["elements"] == []


def test_encode_png_is_deterministic_and_lossless() -> None:
    image = canvas("chelsea.png", "1x1", 200)
    data = encode_png(image)
    assert data == encode_png(image.copy())
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), np.asarray(image))


def test_fonts_md_lists_every_package() -> None:
    from poster_composer.renderer.fonts import FACES

    text = (RENDERER / "FONTS.md").read_text(encoding="utf-8")
    for face in FACES.values():
        assert face.package.replace("_", "-") in text, face.package
    assert "OFL-1.1" in text


def test_a_named_pairing_sets_every_variant_which_then_differ_in_composition() -> None:
    # GIVEN three variants asked for in one pairing
    background = canvas("chelsea.png", "9x16", 960)
    posters = render_posters(background, request_for("mixed-short", n=3, pairing="oswald+lora"))
    # THEN every variant uses it, and they differ in archetype or alignment
    assert {p.layout["pairing"] for p in posters} == {"oswald+lora"}
    compositions = [(p.layout["archetype"], p.layout["align"]) for p in posters]
    assert len(set(compositions)) == 3, compositions
    for poster in posters:
        check_all(background, poster.image, poster.layout, "mixed-short")


def test_naming_the_pairing_a_variant_would_get_changes_nothing_else() -> None:
    # GIVEN the pairing the renderer picks by itself for the first variant
    background = canvas("rocket.jpg", "1x1", 720)
    default = render_posters(background, request_for("latin-short"))[0]
    named = render_posters(background, request_for("latin-short", pairing=default.layout["pairing"]))[0]
    # THEN the same poster, byte for byte
    assert encode_png(named.image) == encode_png(default.image)
    assert named.layout == default.layout


@pytest.mark.parametrize("accent", [(0x1A, 0x73, 0xE8), (250, 240, 120), (20, 20, 20)])
@pytest.mark.parametrize("photo", ["coffee.png", "hubble_deep_field.jpg"])
def test_a_requested_accent_colours_the_title_at_4_5_to_1_or_more(accent: tuple[int, int, int], photo: str) -> None:
    import colorsys

    # GIVEN an accent colour, light, dark or mid-tone, over a light and a dark photo
    background = canvas(photo, "1x1", 720)
    poster = render_posters(background, request_for("latin-short", accent=accent))[0]
    # THEN every line reaches 4.5:1 on the finished pixels (large titles included), the checks hold
    lines = [ln for e in poster.layout["elements"] if e["role"] != "panel" for ln in e.get("lines", [])]
    assert min(ln["contrast"] for ln in lines) >= 4.5
    check_all(background, poster.image, poster.layout, "latin-short")
    # AND the title keeps the accent's hue (only its lightness moves), unless it had to go to white or black
    title = next(e for e in poster.layout["elements"] if e["role"] == "title")
    r, g, b = (int(title["colour"][i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    want_hue, _, want_saturation = colorsys.rgb_to_hls(*(c / 255 for c in accent))
    if want_saturation > 0.2 and 0.05 < lightness < 0.95 and saturation > 0.2:
        assert min(abs(hue - want_hue), 1 - abs(hue - want_hue)) <= 0.02, (title["colour"], accent)


@pytest.mark.parametrize(
    "request_",
    [
        PosterRequest(title=("x",), pairing="comic+papyrus"),
        PosterRequest(title=("x",), accent=(0, 0, 256)),
        PosterRequest(title=("x",), accent=(0, 0)),  # type: ignore[arg-type]
    ],
)
def test_an_unknown_pairing_or_a_bad_accent_is_refused(request_: PosterRequest) -> None:
    with pytest.raises(InvalidRequestError, match=r"pairing must be one of playfair|accent must be"):
        render_posters(Image.new("RGB", (200, 200), "teal"), request_)


def test_per_element_panels_are_padded_from_the_type_scale() -> None:
    # GIVEN one panel per element (underlay 2) behind a large title and two short, much smaller lines
    background = canvas("coffee.png", "1x1", 1080)
    poster = render_posters(background, request_for("zh-short", underlay=2))[0]
    elements = poster.layout["elements"]
    panels = [e for e in elements if e.get("kind") == "panel"]
    # THEN each panel is padded in proportion to its own text, which fills at least 35 % of it
    assert len(panels) == 3
    for panel in panels:
        (backed,) = panel["backs"]
        x0, y0, x1, y1 = elements[backed]["box"]
        px0, py0, px1, py1 = panel["box"]
        assert (x1 - x0) * (y1 - y0) >= 0.35 * (px1 - px0) * (py1 - py0), (panel, elements[backed]["role"])
    check_all(background, poster.image, poster.layout, "zh-short")
