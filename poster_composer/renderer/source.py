"""Decoding and normalising inputs: the background to RGB, the logo to RGBA.

The background is EXIF-transposed; modes other than RGB are converted (L, P, CMYK, I/F by their range);
transparent backgrounds (RGBA, LA, P with transparency) are flattened onto white.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps

from poster_composer.renderer.errors import InvalidImageError

_ORIENTATION = 0x0112


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
    bbox = rgba.getchannel("A").getbbox()
    if bbox is None:
        raise InvalidImageError("logo is fully transparent")
    return rgba.crop(bbox)
