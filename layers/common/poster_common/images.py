"""What the API accepts as a background or logo, checked from the file's first bytes (no decoder).

The type comes from the magic number, not the file name. Dimensions come from the PNG IHDR chunk or
the JPEG SOF marker. Backgrounds: PNG or JPEG, at most 3840×2160 (either orientation) and the byte
cap; logos: PNG, at most 1280×1280 and 5 MB.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from poster_common.exceptions import InvalidImageError

HEAD_BYTES = 256 * 1024
MAX_LONG_SIDE, MAX_SHORT_SIDE = 3840, 2160
MIN_SIDE = 64
MAX_LOGO_SIDE, MAX_LOGO_BYTES = 1280, 5 * 1024 * 1024
_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_OTHER_FORMATS = {
    b"GIF8": "GIF",
    b"RIFF": "WebP",
    b"BM": "BMP",
    b"II*\0": "TIFF",
    b"MM\0*": "TIFF",
}


@dataclass(frozen=True)
class ImageInfo:
    format: str  # "PNG" or "JPEG"
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return "image/png" if self.format == "PNG" else "image/jpeg"


def sniff(head: bytes) -> ImageInfo:
    """Format and size from the first bytes of a file; ``InvalidImageError`` with a specific code."""
    if not head:
        raise InvalidImageError("the file is empty", code="EmptyImage")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _png(head)
    if head.startswith(b"\xff\xd8\xff"):
        return _jpeg(head)
    for magic, name in _OTHER_FORMATS.items():
        if head.startswith(magic):
            raise InvalidImageError(f"{name} is not supported: upload a PNG or JPEG", code="UnsupportedImageFormat")
    raise InvalidImageError("the file is not a PNG or JPEG image", code="NotAnImage")


def check_background(info: ImageInfo, size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise InvalidImageError(f"the image is {size} bytes; the limit is {max_bytes}", code="ImageTooLarge")
    long_side, short_side = max(info.width, info.height), min(info.width, info.height)
    if long_side > MAX_LONG_SIDE or short_side > MAX_SHORT_SIDE:
        raise InvalidImageError(
            f"the image is {info.width}×{info.height}; the limit is {MAX_LONG_SIDE}×{MAX_SHORT_SIDE}",
            code="ImageDimensionsTooLarge",
        )
    if short_side < MIN_SIDE:
        raise InvalidImageError(
            f"the image is {info.width}×{info.height}; the minimum is {MIN_SIDE}×{MIN_SIDE}", code="ImageTooSmall"
        )


def check_logo(info: ImageInfo, size: int) -> None:
    if info.format != "PNG":
        raise InvalidImageError("the logo must be a PNG", code="InvalidLogo")
    if size > MAX_LOGO_BYTES or max(info.width, info.height) > MAX_LOGO_SIDE:
        raise InvalidImageError(
            f"the logo must be at most {MAX_LOGO_SIDE}×{MAX_LOGO_SIDE} and 5 MB", code="InvalidLogo"
        )


def _png(head: bytes) -> ImageInfo:
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise InvalidImageError("the PNG header is truncated or corrupt", code="CorruptImage")
    width, height = struct.unpack(">II", head[16:24])
    return _sized("PNG", width, height)


def _jpeg(head: bytes) -> ImageInfo:
    offset = 2
    while offset + 4 <= len(head):
        if head[offset] != 0xFF:
            break
        marker = head[offset + 1]
        if marker == 0xFF:  # fill byte
            offset += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            offset += 2
            continue
        (length,) = struct.unpack(">H", head[offset + 2 : offset + 4])
        if marker in _SOF_MARKERS:
            if offset + 9 > len(head):
                break
            height, width = struct.unpack(">HH", head[offset + 5 : offset + 9])
            return _sized("JPEG", width, height)
        if marker in (0xD9, 0xDA) or length < 2:
            break
        offset += 2 + length
    raise InvalidImageError("the JPEG header is truncated or corrupt (no frame header)", code="CorruptImage")


def _sized(fmt: str, width: int, height: int) -> ImageInfo:
    if width == 0 or height == 0:
        raise InvalidImageError("the image has no pixels", code="CorruptImage")
    return ImageInfo(fmt, width, height)
