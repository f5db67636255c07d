"""Decoding and normalising inputs: the background to RGB, the logo to RGBA.

The background is EXIF-transposed; modes other than RGB are converted (L, P, CMYK, I/F by their range);
transparent backgrounds (RGBA, LA, P with transparency) are flattened onto white.

A logo whose alpha carries no real transparency (a JPEG, or a PNG that is opaque almost everywhere) but
whose border is one flat colour (the usual white box around a mark) has that background knocked out:
the pixels connected to the border within ``KNOCKOUT_TOLERANCE`` of the border colour become transparent,
with a soft ramp over the anti-aliased edge.  ``is_monochrome`` tells whether the remaining mark is one
colour, so that it can be recoloured like text.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from poster_composer.renderer.errors import InvalidImageError

_ORIENTATION = 0x0112
KNOCKOUT_TOLERANCE = 24  # max channel difference from the border colour still counted as background
KNOCKOUT_RAMP = 160  # difference at which an edge pixel next to the background is fully opaque
OPAQUE_SHARE = 0.98  # alpha "carries no transparency" when this share of pixels is (nearly) opaque
BORDER_UNIFORM = 0.9  # share of border pixels that must match the border colour
MONOCHROME_SHARE = 0.92  # share of the mark's pixels within tolerance of its median colour


def _open(data: bytes | Image.Image, what: str) -> tuple[Image.Image, bool]:
    """Return a loaded image and whether it is ours (freshly decoded) to modify."""
    if isinstance(data, Image.Image):
        return data, False
    if not data:
        raise InvalidImageError(f"{what} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning, Image.DecompressionBombError) as e:
        raise InvalidImageError(f"{what} is not a decodable image: {type(e).__name__}") from e
    return image, True


def _transpose(image: Image.Image, owned: bool) -> tuple[Image.Image, bool]:
    if image.getexif().get(_ORIENTATION, 1) in (None, 1):
        return image, owned
    transposed = ImageOps.exif_transpose(image)
    return transposed, True


def _flatten(image: Image.Image) -> Image.Image:
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _wide_to_l(image: Image.Image) -> Image.Image:
    arr = np.asarray(image.convert("F") if image.mode != "F" else image, dtype=np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    scaled = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
    return Image.fromarray(scaled.round().astype(np.uint8), "L")


def load_background(data: bytes | Image.Image) -> Image.Image:
    """Decode a background and return it as a new RGB image, upright per its EXIF orientation.

    Parameters
    ----------
    data:
        Encoded image bytes or a PIL image (never modified).

    Returns
    -------
    PIL.Image.Image
        An RGB image the caller may draw on.

    Raises
    ------
    InvalidImageError
        If the bytes are empty, truncated, not an image or a decompression bomb.

    Example
    -------
    >>> load_background(Image.new("L", (4, 2))).mode
    'RGB'
    """
    image, owned = _open(data, "background")
    image, owned = _transpose(image, owned)
    if image.mode == "RGB":
        return image if owned else image.copy()
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (image.mode == "P" and "transparency" in image.info):
        return _flatten(image)
    if image.mode in ("I", "F") or image.mode.startswith("I;"):
        return _wide_to_l(image).convert("RGB")
    return image.convert("RGB")


def load_logo(data: bytes | Image.Image) -> Image.Image:
    """Decode a logo and return it as RGBA, cropped to its visible pixels.

    Raises
    ------
    InvalidImageError
        If the logo cannot be decoded or is fully transparent.
    """
    image, _ = _open(data, "logo")
    image, _ = _transpose(image, False)
    rgba = image.convert("RGBA")
    if rgba.getchannel("A").getbbox() is None:
        raise InvalidImageError("logo is fully transparent")
    rgba = knock_out_background(rgba)
    bbox = rgba.getchannel("A").getbbox()
    if bbox is None:
        raise InvalidImageError("logo is fully transparent")
    return rgba.crop(bbox)


def _border(arr: npt.NDArray[np.int16]) -> npt.NDArray[np.int16]:
    return np.concatenate([arr[0], arr[-1], arr[1:-1, 0], arr[1:-1, -1]])


def _run_labels(candidate: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Label each horizontal run of ``candidate`` pixels (1, 2, …; 0 outside runs)."""
    h, w = candidate.shape
    padded = np.zeros((h, w + 1), dtype=bool)
    padded[:, :w] = candidate
    flat = padded.ravel()
    starts = flat & ~np.concatenate([[False], flat[:-1]])
    labels: npt.NDArray[np.int64] = (np.cumsum(starts) * flat).reshape(h, w + 1)[:, :w]
    return labels


def _fill_runs(labels: npt.NDArray[np.int64], filled: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Every labelled run touching ``filled`` is filled whole."""
    seeded = np.zeros(int(labels.max(initial=0)) + 1, dtype=bool)
    seeded[labels[filled]] = True
    seeded[0] = False
    out: npt.NDArray[np.bool_] = seeded[labels]
    return out


def _flood(candidate: npt.NDArray[np.bool_], seeds: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """The ``candidate`` pixels 4-connected to ``seeds`` (alternating row and column run fills)."""
    rows, cols = _run_labels(candidate), _run_labels(np.ascontiguousarray(candidate.T))
    filled = seeds & candidate
    while True:
        across = np.ascontiguousarray(_fill_runs(rows, filled).T)
        grown = np.ascontiguousarray(_fill_runs(cols, across).T)
        if np.array_equal(grown, filled):
            return filled
        filled = grown


def knock_out_background(rgba: Image.Image) -> Image.Image:
    """Make a flat background connected to the border transparent, when the alpha has no transparency.

    Returns the image unchanged if the alpha already carries transparency, the image is tiny, or its
    border is not one near-uniform colour.  The knocked-out region is found by flood fill from every
    border pixel within ``KNOCKOUT_TOLERANCE``; pixels next to it fade in over ``KNOCKOUT_RAMP``.

    Example
    -------
    >>> logo = Image.new("RGBA", (20, 20), "white")
    >>> logo.paste((0, 0, 0, 255), (5, 5, 15, 15))
    >>> knock_out_background(logo).getchannel("A").getbbox()
    (5, 5, 15, 15)
    """
    arr = np.asarray(rgba)
    h, w = arr.shape[:2]
    if h < 3 or w < 3 or float((arr[..., 3] >= 250).mean()) < OPAQUE_SHARE:
        return rgba
    rgb = arr[..., :3].astype(np.int16)
    border = _border(rgb)
    colour = np.median(border, axis=0).round().astype(np.int16)
    if float((np.abs(border - colour).max(axis=1) <= KNOCKOUT_TOLERANCE).mean()) < BORDER_UNIFORM:
        return rgba
    diff = np.abs(rgb - colour).max(axis=-1)
    candidate = diff <= KNOCKOUT_TOLERANCE
    seeds = np.zeros((h, w), dtype=bool)
    seeds[0, :] = seeds[-1, :] = seeds[:, 0] = seeds[:, -1] = True
    background = _flood(candidate, seeds & candidate)
    if not background.any():
        return rgba
    near = np.zeros_like(background)  # pixels within 2 px of the background: the anti-aliased edge
    padded = np.pad(background, 2)
    for dy in range(5):
        for dx in range(5):
            near |= padded[dy : dy + h, dx : dx + w]
    ramp = np.clip((diff - KNOCKOUT_TOLERANCE) / (KNOCKOUT_RAMP - KNOCKOUT_TOLERANCE), 0.0, 1.0)
    alpha = arr[..., 3].astype(np.float64)
    alpha = np.where(near, np.minimum(alpha, ramp * 255.0), alpha)
    alpha[background] = 0.0
    out = arr.copy()
    out[..., 3] = np.round(alpha).astype(np.uint8)
    return Image.fromarray(out, "RGBA")


def is_monochrome(logo: Image.Image) -> bool:
    """Whether the visible pixels of an RGBA logo are (nearly) one colour: a mark that can be recoloured."""
    arr = np.asarray(logo)
    visible = arr[..., 3] >= 200
    if not visible.any():
        return False
    pixels = arr[..., :3][visible].astype(np.int16)
    median = np.median(pixels, axis=0)
    return float((np.abs(pixels - median).max(axis=1) <= 3 * KNOCKOUT_TOLERANCE).mean()) >= MONOCHROME_SHARE
