"""What the API accepts as a background or logo, checked from the file's first bytes (no decoder).

The type comes from the magic number, not the file name. Dimensions and colour layout come from the
PNG IHDR chunk or the JPEG SOF marker; animation from an APNG ``acTL`` chunk; rotation from the JPEG
EXIF ``Orientation`` tag. Backgrounds: PNG or JPEG, at least 64×64, at most ``MAX_DECODE_PIXELS``
pixels (a decompression-bomb guard, checked before anything is decoded) and the byte cap; what the
API would not take as it is (larger than 3840×2160, not 8-bit RGB/RGBA, animated, EXIF-rotated) is
listed by `normalisation_reasons` and re-encoded by `poster_common.normalise`. Logos: PNG, at most
1280×1280 and 5 MB.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from poster_common.errors import InvalidImageError

HEAD_BYTES = 256 * 1024
TAIL_BYTES = 4096
MAX_LONG_SIDE, MAX_SHORT_SIDE = 3840, 2160
MIN_SIDE = 64
# 8000×8000: the largest background decoded for normalisation (a 64-megapixel RGB image is ~192 MB in memory).
MAX_DECODE_PIXELS = 8000 * 8000
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
    mode: str = "RGB"  # "RGB", "RGBA", "L", "LA", "P", "CMYK", "RGB16", ... as far as the header tells
    animated: bool = False
    orientation: int = 1  # EXIF Orientation (1 = upright)

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
    """Refuse what cannot become a background even by normalising (too many bytes or pixels, too small)."""
    if size > max_bytes:
        raise InvalidImageError(f"the image is {size} bytes; the limit is {max_bytes}", code="ImageTooLarge")
    if info.width * info.height > MAX_DECODE_PIXELS:
        raise InvalidImageError(
            f"the image is {info.width}×{info.height}; at most {MAX_DECODE_PIXELS} pixels are decoded",
            code="ImageTooManyPixels",
        )
    if min(info.width, info.height) < MIN_SIDE:
        raise InvalidImageError(
            f"the image is {info.width}×{info.height}; the minimum is {MIN_SIDE}×{MIN_SIDE}", code="ImageTooSmall"
        )


def check_complete(info: ImageInfo, tail: bytes) -> None:
    """Refuse a file cut short: its last bytes must hold the PNG ``IEND`` chunk or the JPEG EOI marker."""
    end = b"IEND" if info.format == "PNG" else b"\xff\xd9"
    if end not in tail:
        raise InvalidImageError(f"the {info.format} file is truncated (no end marker)", code="TruncatedImage")


def normalisation_reasons(info: ImageInfo) -> tuple[str, ...]:
    """Why a background must be re-encoded before the API sees it (empty: hand it over as it is)."""
    reasons = []
    if max(info.width, info.height) > MAX_LONG_SIDE or min(info.width, info.height) > MAX_SHORT_SIDE:
        reasons.append("oversized")
    if info.mode not in ("RGB", "RGBA"):
        reasons.append(f"mode-{info.mode}")
    if info.animated:
        reasons.append("animated")
    if info.orientation not in (0, 1):
        reasons.append(f"exif-orientation-{info.orientation}")
    return tuple(reasons)


def check_logo(info: ImageInfo, size: int) -> None:
    if info.format != "PNG":
        raise InvalidImageError("the logo must be a PNG", code="InvalidLogo")
    if size > MAX_LOGO_BYTES or max(info.width, info.height) > MAX_LOGO_SIDE:
        raise InvalidImageError(
            f"the logo must be at most {MAX_LOGO_SIDE}×{MAX_LOGO_SIDE} and 5 MB", code="InvalidLogo"
        )


_PNG_MODES = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}


def _png(head: bytes) -> ImageInfo:
    if len(head) < 24 or head[12:16] != b"IHDR":
        raise InvalidImageError("the PNG header is truncated or corrupt", code="CorruptImage")
    width, height = struct.unpack(">II", head[16:24])
    depth, colour_type = (head[24], head[25]) if len(head) >= 26 else (8, 2)
    mode = _PNG_MODES.get(colour_type, f"type{colour_type}")
    if depth != 8:
        mode += str(depth)
    return _sized("PNG", width, height, mode=mode, animated=_png_animated(head))


def _png_animated(head: bytes) -> bool:
    """True when an ``acTL`` chunk (APNG) comes before the first ``IDAT``."""
    offset = 8
    while offset + 8 <= len(head):
        (length,) = struct.unpack(">I", head[offset : offset + 4])
        kind = head[offset + 4 : offset + 8]
        if kind == b"acTL":
            return True
        if kind == b"IDAT":
            return False
        offset += 12 + length
    return False


_JPEG_MODES = {1: "L", 3: "RGB", 4: "CMYK"}


def _jpeg(head: bytes) -> ImageInfo:
    offset = 2
    orientation = 1
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
        if marker == 0xE1 and head[offset + 4 : offset + 10] == b"Exif\0\0":
            orientation = _exif_orientation(head[offset + 10 : offset + 2 + length])
        if marker in _SOF_MARKERS:
            if offset + 10 > len(head):
                break
            height, width = struct.unpack(">HH", head[offset + 5 : offset + 9])
            mode = _JPEG_MODES.get(head[offset + 9], f"components{head[offset + 9]}")
            return _sized("JPEG", width, height, mode=mode, orientation=orientation)
        if marker in (0xD9, 0xDA) or length < 2:
            break
        offset += 2 + length
    raise InvalidImageError("the JPEG header is truncated or corrupt (no frame header)", code="CorruptImage")


def _exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block; 1 when absent or unreadable."""
    if tiff[:4] not in (b"II*\0", b"MM\0*") or len(tiff) < 8:
        return 1
    order = "<" if tiff[:2] == b"II" else ">"
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for index in range(min(count, 512)):
        entry = ifd + 2 + 12 * index
        if entry + 12 > len(tiff):
            break
        tag, kind = struct.unpack(order + "HH", tiff[entry : entry + 4])
        if tag == 0x0112 and kind == 3:
            (value,) = struct.unpack(order + "H", tiff[entry + 8 : entry + 10])
            return int(value) if 1 <= value <= 8 else 1
    return 1


def _sized(fmt: str, width: int, height: int, **details: object) -> ImageInfo:
    if width == 0 or height == 0:
        raise InvalidImageError("the image has no pixels", code="CorruptImage")
    return ImageInfo(fmt, width, height, **details)  # type: ignore[arg-type]
