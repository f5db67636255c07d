"""Font discovery, pairings and per-character glyph fallback.

Every font ships inside a pinned PyPI package (see ``FONTS.md``) and is located at run time through
``importlib.resources``; no system path is ever consulted.  Fonts are loaded with
``ImageFont.Layout.BASIC`` so rendering does not depend on the machine's RAQM/fribidi.

A *pairing* gives each text role (title, subtitle, text) a *chain* of faces: the first face that has a
glyph for a character draws it, so Chinese, Latin and digits mix without missing-glyph boxes.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

from fontTools.ttLib import TTFont
from PIL import ImageFont

if TYPE_CHECKING:
    from collections.abc import Mapping

Role = Literal["title", "subtitle", "text"]
ROLES: tuple[Role, ...] = ("title", "subtitle", "text")


@dataclass(frozen=True)
class FontFace:
    """One face: a font file inside a package, optionally a named instance of a variable font.

    Parameters
    ----------
    key:
        Stable name used in layout reports (``"PlayfairDisplay-Bold"``).
    package, resource:
        The importable package holding the file and the file's path inside it.
    variation:
        Named instance of a variable font (``"Bold"``) or ``None`` for a static font.
    weight:
        CSS-like weight, used for the WCAG "large bold text" threshold.
    """

    key: str
    package: str
    resource: str
    variation: str | None
    weight: int


def _face(key: str, package: str, resource: str, variation: str | None, weight: int) -> FontFace:
    return FontFace(key, package, resource, variation, weight)


_PF = ("fontpkg_playfair_display", "files/PlayfairDisplay[wght].ttf")
_SS = ("fontpkg_source_sans_3", "files/SourceSans3[wght].ttf")
_MO = ("fontpkg_montserrat", "files/Montserrat[wght].ttf")
_IN = ("fontpkg_inter", "files/Inter[opsz,wght].ttf")
_OS = ("fontpkg_oswald", "files/Oswald[wght].ttf")
_LO = ("fontpkg_lora", "files/Lora[wght].ttf")
_BB = ("fontpkg_bebas_neue", "files/BebasNeue-Regular.ttf")
_SC = ("textflowkit_fonts", "fonts/NotoSansSC.ttf")
_NS = ("textflowkit_fonts", "fonts/NotoSans.ttf")
_SR = ("pylopdf_fonts_zh_cn", "NotoSerifSC-Regular.otf")

FACES: Mapping[str, FontFace] = MappingProxyType(
    {
        face.key: face
        for face in (
            _face("PlayfairDisplay-Bold", *_PF, "Bold", 700),
            _face("SourceSans3-Regular", *_SS, "Regular", 400),
            _face("SourceSans3-SemiBold", *_SS, "SemiBold", 600),
            _face("Montserrat-ExtraBold", *_MO, "ExtraBold", 800),
            _face("Montserrat-Medium", *_MO, "Medium", 500),
            _face("Inter-Regular", *_IN, "Regular", 400),
            _face("Inter-SemiBold", *_IN, "SemiBold", 600),
            _face("Oswald-SemiBold", *_OS, "SemiBold", 600),
            _face("Lora-Regular", *_LO, "Regular", 400),
            _face("Lora-SemiBold", *_LO, "SemiBold", 600),
            _face("BebasNeue-Regular", *_BB, None, 400),
            _face("NotoSansSC-Black", *_SC, "Black", 900),
            _face("NotoSansSC-Bold", *_SC, "Bold", 700),
            _face("NotoSansSC-SemiBold", *_SC, "SemiBold", 600),
            _face("NotoSansSC-Medium", *_SC, "Medium", 500),
            _face("NotoSansSC-Regular", *_SC, "Regular", 400),
            _face("NotoSerifSC-Regular", *_SR, None, 400),
            _face("NotoSans-Regular", *_NS, None, 400),
        )
    }
)


@dataclass(frozen=True)
class Pairing:
    """A display + body font pairing: one fallback chain of face keys per role."""

    name: str
    title: tuple[str, ...]
    subtitle: tuple[str, ...]
    text: tuple[str, ...]

    def chain(self, role: str, size: float | None = None) -> tuple[str, ...]:
        """Return the fallback chain of face keys for ``role`` (at ``size`` px, if given).

        Hairline faces are swapped for sturdier ones below ``SMALL_SIZE`` px, where their thin strokes
        would not reach full coverage and so not their colour's contrast; the heaviest faces for lighter
        ones below ``HEAVY_SIZE`` px, where their strokes merge (see FONTS.md).
        """
        chain: tuple[str, ...] = getattr(self, role)
        if size is not None and size < SMALL_SIZE:
            chain = tuple(SMALL_SUBSTITUTES.get(key, key) for key in chain)
        if size is not None and size < HEAVY_SIZE:
            chain = tuple(HEAVY_SUBSTITUTES.get(key, key) for key in chain)
        return chain


_LATIN_FALLBACK = "NotoSans-Regular"
SMALL_SIZE = 24
SMALL_SUBSTITUTES: Mapping[str, str] = MappingProxyType(
    {
        "NotoSerifSC-Regular": "NotoSansSC-Medium",
        "NotoSansSC-Regular": "NotoSansSC-Medium",
        "NotoSansSC-SemiBold": "NotoSansSC-Medium",
    }
)
HEAVY_SIZE = 15
HEAVY_SUBSTITUTES: Mapping[str, str] = MappingProxyType({"NotoSansSC-Black": "NotoSansSC-Bold"})

# The CJK face of each chain matches the Latin face's stroke weight (mean stroke width over the em, measured
# at 100 px: see FONTS.md), so a mixed line reads as one weight: Playfair Bold 0.077 ~ Noto Sans SC Medium
# 0.078, Montserrat ExtraBold 0.146 ~ Black 0.119 (the heaviest), Oswald SemiBold 0.121 ~ Black, Bebas Neue
# 0.095 ~ Bold 0.098, Lora SemiBold 0.080 ~ Medium; Source Sans SemiBold 0.087 ~ SemiBold 0.088, Inter
# SemiBold 0.096 ~ SemiBold; the body faces (0.057-0.070) ~ Regular 0.062.
PAIRINGS: tuple[Pairing, ...] = (
    Pairing(
        "playfair+source-sans",
        ("PlayfairDisplay-Bold", "NotoSansSC-Medium", _LATIN_FALLBACK),
        ("SourceSans3-SemiBold", "NotoSansSC-SemiBold", _LATIN_FALLBACK),
        ("SourceSans3-Regular", "NotoSansSC-Regular", _LATIN_FALLBACK),
    ),
    Pairing(
        "montserrat+inter",
        ("Montserrat-ExtraBold", "NotoSansSC-Black", _LATIN_FALLBACK),
        ("Montserrat-Medium", "NotoSansSC-Medium", _LATIN_FALLBACK),
        ("Inter-Regular", "NotoSansSC-Regular", _LATIN_FALLBACK),
    ),
    Pairing(
        "oswald+lora",
        ("Oswald-SemiBold", "NotoSansSC-Black", _LATIN_FALLBACK),
        ("Lora-SemiBold", "NotoSansSC-Medium", _LATIN_FALLBACK),
        ("Lora-Regular", "NotoSansSC-Regular", _LATIN_FALLBACK),
    ),
    Pairing(
        "bebas+inter",
        ("BebasNeue-Regular", "NotoSansSC-Bold", _LATIN_FALLBACK),
        ("Inter-SemiBold", "NotoSansSC-SemiBold", _LATIN_FALLBACK),
        ("Inter-Regular", "NotoSansSC-Regular", _LATIN_FALLBACK),
    ),
    Pairing(
        "lora+inter",
        ("Lora-SemiBold", "NotoSansSC-Medium", _LATIN_FALLBACK),
        ("Inter-SemiBold", "NotoSansSC-SemiBold", _LATIN_FALLBACK),
        ("Inter-Regular", "NotoSansSC-Regular", _LATIN_FALLBACK),
    ),
)
#: The pairings' names, as the layout report and the request's ``font_pairing`` name them (one place for both).
PAIRING_NAMES: tuple[str, ...] = tuple(pairing.name for pairing in PAIRINGS)


def pairing_named(name: str) -> Pairing:
    """The pairing called ``name`` (one of ``PAIRING_NAMES``).

    Raises
    ------
    KeyError
        No pairing has that name.
    """
    for pairing in PAIRINGS:
        if pairing.name == name:
            return pairing
    raise KeyError(name)


@functools.cache
def font_path(key: str) -> Path:
    """Return the file of face ``key`` inside its package.

    Raises
    ------
    KeyError
        If ``key`` is not a known face.
    FileNotFoundError
        If the font package is not installed (install the ``composer`` extra).
    """
    face = FACES[key]
    traversable = importlib.resources.files(face.package).joinpath(face.resource)
    path = Path(str(traversable))
    if not path.is_file():
        raise FileNotFoundError(f"font {key} missing: install {face.package}")
    return path


@functools.lru_cache(maxsize=512)
def load_font(key: str, size: int) -> ImageFont.FreeTypeFont:
    """Return face ``key`` at ``size`` px (cached), with its variation applied.

    Example
    -------
    >>> load_font("Inter-Regular", 24).size
    24
    """
    face = FACES[key]
    font = ImageFont.truetype(str(font_path(key)), size, layout_engine=ImageFont.Layout.BASIC)
    if face.variation is not None:
        font.set_variation_by_name(face.variation)
    return font


@functools.cache
def coverage(key: str) -> frozenset[int]:
    """Return the code points that face ``key`` maps to a glyph (cached; fontTools ``getBestCmap``)."""
    with TTFont(str(font_path(key)), lazy=True) as font:
        cmap: dict[int, str] = font.getBestCmap() or {}
    return frozenset(cmap)


def has_glyph(key: str, char: str) -> bool:
    """Return whether face ``key`` has a glyph for ``char``."""
    return ord(char) in coverage(key)


def is_bold(key: str) -> bool:
    """Return whether the face counts as bold for WCAG's large-text rule (weight ≥ 700)."""
    return FACES[key].weight >= 700


def face_for(char: str, chain: tuple[str, ...], current: str | None = None) -> str | None:
    """Return the first face of ``chain`` that has ``char`` (``current`` first for whitespace).

    Returns ``None`` when no face of the chain has the glyph: the caller then leaves it undrawn.
    """
    if current is not None and char.isspace() and has_glyph(current, char):
        return current
    for key in chain:
        if has_glyph(key, char):
            return key
    return None


def split_runs(text: str, chain: tuple[str, ...]) -> list[tuple[str, str | None]]:
    """Split ``text`` into maximal runs drawn by one face each, ``(run, face key or None)``.

    Example
    -------
    >>> split_runs("2025 春季", ("Inter-Regular", "NotoSansSC-Regular"))
    [('2025 ', 'Inter-Regular'), ('春季', 'NotoSansSC-Regular')]
    """
    runs: list[tuple[str, str | None]] = []
    current: str | None = None
    buffer: list[str] = []
    for char in text:
        key = face_for(char, chain, current)
        if buffer and key != current:
            runs.append(("".join(buffer), current))
            buffer = []
        current = key
        buffer.append(char)
    if buffer:
        runs.append(("".join(buffer), current))
    return runs
