"""Palette extraction, WCAG contrast and harmonious text/panel colours.

- ``palette``: 6 colours of the small copy (``quantize`` MAXCOVERAGE), sorted by coverage.
- ``luminance`` / ``contrast``: WCAG 2.x relative luminance and contrast ratio.
- ``pick_text_colour``: a colour that keeps the palette's hue (a muted tint for body text, a livelier
  accent for titles) and whose HSL lightness is moved, by bisection, just far enough to reach the target
  contrast against the worst background luminance.
- ``panel_alpha``: the lightest opacity of a panel colour that lifts the worst background pixel to the
  target contrast (Pillow blends in gamma-encoded space: ``out = a*panel + (1-a)*background``).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

RGB = tuple[int, int, int]
BoolArray = npt.NDArray[np.bool_]
PALETTE_SIZE = 128


def _linear(channel: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    c = channel / 255.0
    out: npt.NDArray[np.float64] = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return out


# Per-channel linear-light contribution to luminance, one table per channel (8-bit values).
_LUT = _linear(np.arange(256, dtype=np.float64))[:, None] * np.array([0.2126, 0.7152, 0.0722])
_LUT_R, _LUT_G, _LUT_B = (np.ascontiguousarray(_LUT[:, i]) for i in range(3))


def luminance_array(rgb: npt.NDArray[np.generic]) -> npt.NDArray[np.float64]:
    """WCAG relative luminance of an ``(..., 3)`` array of 0–255 sRGB values (rounded to 8 bits)."""
    arr = np.asarray(rgb)
    if arr.dtype != np.uint8:
        arr = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
    out: npt.NDArray[np.float64] = _LUT_R.take(arr[..., 0]) + _LUT_G.take(arr[..., 1]) + _LUT_B.take(arr[..., 2])
    return out


# ``luminance_array`` split as (red + green) + blue: the same sums, from two gathers per pixel.
_LUT_RG = (_LUT[:, 0][:, None] + _LUT[:, 1][None, :]).ravel()


def luminance_at(pixels: npt.NDArray[np.uint8], where: BoolArray) -> npt.NDArray[np.float64]:
    """``luminance_array(pixels[where])`` for an ``(h, w, 3)`` uint8 crop, without copying whole pixels.

    The red and green bytes of each pixel are read as one big-endian 16-bit index into a table of their
    summed contributions, the blue byte into its own table; the result is bit-identical.
    """
    if pixels.dtype != np.uint8 or pixels.ndim != 3 or pixels.shape[-1] != 3:
        return luminance_array(pixels[where])
    buf = np.ascontiguousarray(pixels).reshape(-1)
    idx = np.flatnonzero(where)
    red_green = np.ndarray((buf.size // 3,), dtype=">u2", buffer=buf, strides=(3,))
    out: npt.NDArray[np.float64] = _LUT_RG.take(red_green.take(idx)) + _LUT_B.take(buf[2::3].take(idx))
    return out


def luminance(colour: RGB) -> float:
    """WCAG relative luminance of one colour.

    Example
    -------
    >>> luminance((255, 255, 255))
    1.0
    """
    return float(luminance_array(np.array(colour, dtype=np.float64)))


def contrast(l1: float, l2: float) -> float:
    """WCAG contrast ratio of two relative luminances.

    Example
    -------
    >>> round(contrast(1.0, 0.0), 1)
    21.0
    """
    hi, lo = max(l1, l2), min(l1, l2)
    return (hi + 0.05) / (lo + 0.05)


def palette(small: Image.Image, count: int = 6) -> list[RGB]:
    """Return up to ``count`` representative colours of an image, most common first."""
    rgb = small.convert("RGB")
    if max(rgb.size) > PALETTE_SIZE:  # the palette needs no more detail than this (and costs ~4× less)
        rgb = rgb.reduce(max(1, max(rgb.size) // PALETTE_SIZE))
    quantised = rgb.quantize(count, method=Image.Quantize.MAXCOVERAGE)
    raw = quantised.getpalette() or []
    counts = sorted(quantised.getcolors(count) or [], reverse=True)
    colours: list[RGB] = []
    for _, index in counts:
        i = int(index)  # type: ignore[call-overload]
        r, g, b = raw[3 * i : 3 * i + 3]
        colours.append((r, g, b))
    return colours or [(128, 128, 128)]


def _hls(colour: RGB) -> tuple[float, float, float]:
    """HLS with the saturation damped by chroma, so near-black/near-white colours count as neutral."""
    r, g, b = (c / 255.0 for c in colour)
    h, lightness, s = colorsys.rgb_to_hls(r, g, b)
    chroma = max(r, g, b) - min(r, g, b)
    return h, lightness, s * min(1.0, chroma / 0.2)


def _rgb(h: float, lightness: float, s: float) -> RGB:
    r, g, b = colorsys.hls_to_rgb(h, min(max(lightness, 0.0), 1.0), s)
    return round(r * 255), round(g * 255), round(b * 255)


def accent(colours: list[RGB]) -> RGB:
    """The palette's most colourful entry (saturation weighted by mid lightness), or its first."""

    def vivid(colour: RGB) -> float:
        _, lightness, s = _hls(colour)
        return s * (1 - abs(2 * lightness - 1))

    best = max(colours, key=vivid)
    return best if vivid(best) > 0.08 else colours[0]


@dataclass(frozen=True)
class TextColour:
    """A chosen text colour and the contrast it reaches against the worst background luminance."""

    colour: RGB
    contrast: float


def pick_text_colour(hue_source: RGB, saturation: float, worst: float, light: bool, target: float) -> TextColour:
    """Choose a colour of ``hue_source``'s hue reaching ``target`` against luminance ``worst``.

    Parameters
    ----------
    hue_source:
        Colour whose hue is kept (from the image palette, so the text harmonises with it).
    saturation:
        HSL saturation cap for the text (low for body text, higher for a title accent).
    worst:
        Worst-case background luminance (the brightest for light text, the darkest for dark text).
    light:
        Light text on a dark background, or dark text on a light one.
    target:
        Contrast ratio to reach.

    Returns
    -------
    TextColour
        The colour closest to mid lightness that reaches ``target``; if none does, the extreme
        (near white / near black) and the contrast it reaches.
    """
    h, _, s = _hls(hue_source)
    s = min(s, saturation)
    # Bisection on lightness: contrast grows monotonically toward the extreme.
    lo, hi = (0.5, 1.0) if light else (0.0, 0.5)
    extreme = _rgb(h, hi if light else lo, s)
    if contrast(luminance(extreme), worst) < target:
        return TextColour(extreme, contrast(luminance(extreme), worst))
    for _ in range(18):
        mid = (lo + hi) / 2
        ok = contrast(luminance(_rgb(h, mid, s)), worst) >= target
        if light:
            lo, hi = (lo, mid) if ok else (mid, hi)
        else:
            lo, hi = (mid, hi) if ok else (lo, mid)
    chosen = _rgb(h, hi if light else lo, s)
    return TextColour(chosen, contrast(luminance(chosen), worst))


def panel_colour(hue_source: RGB, light_text: bool) -> RGB:
    """A panel colour harmonious with the palette: a deep shade for light text, a pale tint otherwise."""
    h, _, s = _hls(hue_source)
    return _rgb(h, 0.11, min(s, 0.45)) if light_text else _rgb(h, 0.95, min(s, 0.35))


def _extremes(pixels: npt.NDArray[np.float64], brightest: bool, keep: int = 64) -> npt.NDArray[np.float64]:
    """The pixels that can be worst after blending: the most extreme by luminance and by each channel."""
    if len(pixels) <= 4 * keep:
        return pixels
    sign = -1.0 if brightest else 1.0
    keys = [luminance_array(pixels), pixels[:, 0], pixels[:, 1], pixels[:, 2]]
    chosen = np.unique(np.concatenate([np.argpartition(sign * key, keep)[:keep] for key in keys]))
    out: npt.NDArray[np.float64] = pixels[chosen]
    return out


def panel_alpha(panel: RGB, text: RGB, background: npt.NDArray[np.float64], target: float, floor: float) -> float:
    """Lightest panel opacity (≥ ``floor``) so every pixel of ``background`` reaches ``target``.

    Parameters
    ----------
    panel, text:
        Panel and text colours.
    background:
        ``(N, 3)`` array of the background pixels the panel covers (a sample is fine).
    target:
        Contrast ratio to reach against ``text``.
    floor:
        Minimum opacity (for a visible underlay).

    Returns
    -------
    float
        Opacity in ``[floor, 1]``.
    """
    text_l = luminance(text)
    panel_arr = np.array(panel, dtype=np.float64)
    background = _extremes(background, brightest=text_l > luminance(panel))

    def worst(alpha: float) -> float:
        blended = np.round(alpha * panel_arr + (1 - alpha) * background)
        lum = luminance_array(blended)
        extreme = float(lum.max()) if text_l > luminance(panel) else float(lum.min())
        return contrast(text_l, extreme)

    if worst(floor) >= target:
        return floor
    lo, hi = floor, 1.0
    for _ in range(14):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if worst(mid) >= target else (mid, hi)
    return hi
