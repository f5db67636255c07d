"""The legibility floors of small canvases (``layout.LEGIBLE_SIZE``, ``fonts.HEAVY_SIZE``), measured.

Criterion, per face and pixel size, on each character drawn alone at an integer origin (as the renderer
draws it) and thresholded at 50 % coverage (the glyph mask of the contrast measurement):

- *distinct shapes*: two characters whose rasters at 96 px differ (IoU < 0.9) do not give the same
  raster; the homoglyphs I/l/1 and O/0, alike in many faces at any size, aside;
- *strokes kept apart*: on average over the characters, the number of ink runs a row or a column crosses
  keeps at least 80 % of its value at 96 px (strokes that merge into a blob make fewer, longer runs).

A face's floor is the smallest size from which every size up to 24 px passes.  Characters: A–Z, a–z,
0–9 (Latin) and the 3755 characters of GB 2312 level 1 (CJK).  The floor of a script in a role is the
largest floor of the faces that draw that script in that role below 24 px, across the pairings.
"""

from __future__ import annotations

import functools
import string
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

from poster_composer.renderer.fonts import HEAVY_SIZE, PAIRINGS, ROLES, SMALL_SIZE, face_for, load_font
from poster_composer.renderer.layout import Paragraph
from poster_composer.renderer.sizing import LEGIBLE_SIZE, MIN_SIZE, min_sizes

if TYPE_CHECKING:
    import numpy.typing as npt

REFERENCE = 96
SAME_SHAPE = 0.9
KEPT_CROSSINGS = 0.8
HOMOGLYPHS = (frozenset("Il1"), frozenset("O0"))
SAMPLE = {"latin": "a", "cjk": "字"}


def _gb2312_level1() -> str:
    chars = []
    for high in range(0xB0, 0xD8):
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return "".join(chars)


CHARACTERS = {"latin": string.ascii_letters + string.digits, "cjk": _gb2312_level1()}


@functools.cache
def _rasters(face: str, size: int, script: str) -> npt.NDArray[np.bool_]:
    """Each character of the script alone, in a blank square with room around it, as 50 % masks."""
    font = load_font(face, size)
    side = 2 * size + 4
    out = np.zeros((len(CHARACTERS[script]), side, side), dtype=bool)
    for i, char in enumerate(CHARACTERS[script]):
        image = Image.new("L", (side, side), 0)
        ImageDraw.Draw(image).text((2, round(1.5 * size)), char, fill=255, font=font, anchor="ls")
        out[i] = np.asarray(image) >= 128
    return out


def _crossings(masks: npt.NDArray[np.bool_]) -> npt.NDArray[np.float64]:
    """Mean number of ink runs per row and per column that meets ink, averaged over both, per glyph."""
    rows = (masks[:, :, 1:] & ~masks[:, :, :-1]).sum(axis=2)
    cols = (masks[:, 1:, :] & ~masks[:, :-1, :]).sum(axis=1)
    per_row = rows.sum(axis=1) / np.maximum(1, (rows > 0).sum(axis=1))
    per_col = cols.sum(axis=1) / np.maximum(1, (cols > 0).sum(axis=1))
    result: npt.NDArray[np.float64] = (per_row + per_col) / 2
    return result


def _clashes(face: str, size: int, script: str) -> list[str]:
    """Pairs of characters drawn alike at ``size`` though their shapes differ at the reference size."""
    chars = CHARACTERS[script]
    masks, reference = _rasters(face, size, script), _rasters(face, REFERENCE, script)
    seen: dict[bytes, list[int]] = {}
    clashes = []
    for i, mask in enumerate(masks):
        for j in seen.setdefault(mask.tobytes(), []):
            a, b = reference[i], reference[j]
            same_shape = (a & b).sum() >= SAME_SHAPE * (a | b).sum()
            if not same_shape and not any({chars[i], chars[j]} <= group for group in HOMOGLYPHS):
                clashes.append(chars[j] + chars[i])
        seen[mask.tobytes()].append(i)
    return clashes


@functools.cache
def legible(face: str, size: int, script: str) -> bool:
    """Whether ``face`` at ``size`` px draws the script's characters as distinct shapes, strokes apart."""
    kept = _crossings(_rasters(face, size, script)) / _crossings(_rasters(face, REFERENCE, script))
    return float(kept.mean()) >= KEPT_CROSSINGS and not _clashes(face, size, script)


def _floor(face_at: dict[int, str], script: str) -> int:
    """Smallest size from which every size up to ``SMALL_SIZE`` passes, with the face drawn at each."""
    size = SMALL_SIZE + 1
    while size > 1 and legible(face_at[size - 1], size - 1, script):
        size -= 1
    return size


def _role_faces(script: str, role: str) -> list[dict[int, str]]:
    """Per pairing, the face drawing the script in the role at each size below ``SMALL_SIZE`` (and at it)."""
    faces = []
    for pairing in PAIRINGS:
        at = {size: face_for(SAMPLE[script], pairing.chain(role, size)) for size in range(1, SMALL_SIZE + 1)}
        faces.append({size: face for size, face in at.items() if face is not None})
    return faces


def test_legible_sizes_are_the_measured_floors() -> None:
    # GIVEN the faces of every pairing that draw Latin and CJK in each role on small canvases
    # WHEN each script's floor is measured per role (largest floor of its faces)
    measured = {
        script: {role: max(_floor(at, script) for at in _role_faces(script, role)) for role in ROLES}
        for script in ("latin", "cjk")
    }
    # THEN the layout uses exactly those floors
    assert measured == LEGIBLE_SIZE


def test_heaviest_face_is_swapped_below_its_floor() -> None:
    # GIVEN Noto Sans SC Black, whose strokes merge first
    # WHEN its floor is measured on its own
    floor = _floor(dict.fromkeys(range(1, SMALL_SIZE + 1), "NotoSansSC-Black"), "cjk")
    # THEN the chains swap it for a lighter weight exactly below that floor
    assert floor == HEAVY_SIZE
    assert all("NotoSansSC-Black" not in p.chain("title", HEAVY_SIZE - 1) for p in PAIRINGS)
    assert any("NotoSansSC-Black" in p.chain("title", HEAVY_SIZE) for p in PAIRINGS)


def _paragraphs(*texts: str) -> list[Paragraph]:
    """Title, subtitle and text, as many as given."""
    return [Paragraph(role, 0, value) for role, value in zip(ROLES, texts, strict=False)]


def test_minimum_sizes_scale_down_to_the_floors_on_small_canvases_only() -> None:
    # GIVEN a Latin and a Chinese request
    latin = _paragraphs("Summer Nights", "Open-air cinema", "Fridays 9 pm")
    chinese = _paragraphs("夏夜电影节", "露天放映", "每周五晚九点")
    # WHEN the minimum sizes are asked for a normal canvas and a 64 px one
    # THEN normal canvases keep the usual minimums
    assert min_sizes((1920, 1080), latin) == MIN_SIZE
    assert min_sizes((256, 1024), chinese) == MIN_SIZE
    # AND 64 px canvases get the script's floors (never above the usual minimums), strictly decreasing
    assert min_sizes((64, 64), latin) == LEGIBLE_SIZE["latin"]
    assert min_sizes((64, 64), chinese) == {"title": 13, "subtitle": 12, "text": 11}
    assert min_sizes((64, 256), chinese[:1])["title"] == LEGIBLE_SIZE["cjk"]["title"]
    # AND one CJK character is enough for the CJK floor
    assert min_sizes((256, 64), _paragraphs("Hubble 35周年"))["title"] == LEGIBLE_SIZE["cjk"]["title"]
