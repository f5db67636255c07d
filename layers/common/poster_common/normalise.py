"""Re-encode a background the API would not take as it is into a plain 8-bit RGB(A) image within limits.

What can be normalised (``images.normalisation_reasons``): larger than 3840×2160 (fitted inside it,
aspect kept), CMYK, greyscale, palette or 16-bit colour, animation (the first frame is kept) and EXIF
rotation (applied to the pixels). A PNG stays a PNG (RGB, or RGBA when it has transparency) and a
JPEG stays a JPEG (RGB, quality 90), so the copy's key can be named from the header alone.

Pillow is imported on first use, so a cold start that needs no normalisation stays lean. Decompression
bombs are refused twice over: ``images.check_background`` caps the pixel count from the header before
this module runs, and the decoder's own size is checked again before any pixel is decoded (Pillow's
``DecompressionBombWarning`` is an error here).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from poster_common.errors import InvalidImageError
from poster_common.images import MAX_DECODE_PIXELS, MAX_LONG_SIDE, MAX_SHORT_SIDE, MIN_SIDE

JPEG_QUALITY = 90


@dataclass(frozen=True)
class Normalised:
    """The re-encoded image."""

    body: bytes
    content_type: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return "png" if self.content_type == "image/png" else "jpg"


def fitted_size(width: int, height: int) -> tuple[int, int]:
    """The size inside 3840×2160 (either orientation), aspect kept; never enlarged.

    Examples
    --------
    >>> fitted_size(8000, 8000)
    (2160, 2160)
    >>> fitted_size(640, 427)
    (640, 427)
    """
    long_side, short_side = max(width, height), min(width, height)
    scale = min(1.0, MAX_LONG_SIDE / long_side, MAX_SHORT_SIDE / short_side)
    return max(1, int(width * scale)), max(1, int(height * scale))


def normalise(data: bytes, *, keep_format: str) -> Normalised:
    """Decode ``data`` (PNG or JPEG) safely and re-encode it; ``InvalidImageError`` with a specific code."""
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=("PNG", "JPEG"))
            if image.width * image.height > MAX_DECODE_PIXELS:
                raise InvalidImageError(
                    f"the image is {image.width}×{image.height}; at most {MAX_DECODE_PIXELS} pixels are decoded",
                    code="ImageTooManyPixels",
                )
            if image.format == "JPEG":
                # Let the JPEG decoder scale down by 1/2, 1/4 or 1/8 while decoding (less memory, faster).
                image.draft("RGB", fitted_size(image.width, image.height))
            image.seek(0)  # the first frame of an animation
            image.load()
            upright = ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InvalidImageError("the image decompresses to too many pixels", code="ImageTooManyPixels") from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise InvalidImageError(f"the image cannot be decoded: {type(exc).__name__}", code="CorruptImage") from exc
    png = keep_format == "PNG"
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
    alpha = png and has_alpha
    converted = upright.convert("RGBA" if alpha else "RGB")
    size = fitted_size(converted.width, converted.height)
    if min(size) < MIN_SIDE:
        raise InvalidImageError(
            f"fitted inside {MAX_LONG_SIDE}×{MAX_SHORT_SIDE} the image would be {size[0]}×{size[1]}; "
            f"the minimum is {MIN_SIDE}×{MIN_SIDE}",
            code="ImageTooSmall",
        )
    if size != converted.size:
        converted = converted.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    if png:
        converted.save(buffer, format="PNG")
        content_type = "image/png"
    else:
        converted.save(buffer, format="JPEG", quality=JPEG_QUALITY)
        content_type = "image/jpeg"
    return Normalised(buffer.getvalue(), content_type, converted.width, converted.height)
