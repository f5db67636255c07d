from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from poster_common import images
from poster_common.errors import InvalidImageError


def encoded(fmt: str, size: tuple[int, int], mode: str = "RGB", **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "white").save(buffer, format=fmt, **save)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "mode"),
    [("PNG", "RGB"), ("PNG", "L"), ("PNG", "P"), ("PNG", "RGBA"), ("JPEG", "RGB"), ("JPEG", "L"), ("JPEG", "CMYK")],
)
def test_sniffs_format_and_size(fmt: str, mode: str) -> None:
    info = images.sniff(encoded(fmt, (640, 427), mode))
    assert (info.format, info.width, info.height) == (fmt, 640, 427)


def test_progressive_jpeg_with_big_exif_block() -> None:
    exif = Image.Exif()
    exif[0x010E] = "x" * 60_000  # a large APP1 segment before the frame header
    info = images.sniff(encoded("JPEG", (300, 200), exif=exif.tobytes(), progressive=True))
    assert (info.width, info.height) == (300, 200)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "EmptyImage"),
        (b"hello, I am text", "NotAnImage"),
        (b"GIF89a....", "UnsupportedImageFormat"),
        (b"RIFF....WEBP", "UnsupportedImageFormat"),
        (b"\x89PNG\r\n\x1a\n\0\0", "CorruptImage"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "CorruptImage"),
    ],
)
def test_bad_files_get_specific_codes(data: bytes, code: str) -> None:
    with pytest.raises(InvalidImageError) as info:
        images.sniff(data)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("size", "nbytes", "code"),
    [
        ((8001, 8000), 10, "ImageTooManyPixels"),
        ((20000, 20000), 10, "ImageTooManyPixels"),
        ((16, 16), 10, "ImageTooSmall"),
        ((5000, 63), 10, "ImageTooSmall"),
        ((800, 600), 51 * 1024 * 1024, "ImageTooLarge"),
    ],
)
def test_background_limits(size: tuple[int, int], nbytes: int, code: str) -> None:
    with pytest.raises(InvalidImageError) as info:
        images.check_background(images.ImageInfo("PNG", *size), nbytes, 50 * 1024 * 1024)
    assert info.value.code == code


@pytest.mark.parametrize("size", [(3840, 2160), (2160, 3840), (64, 64)])
def test_background_limits_allow_both_orientations(size: tuple[int, int]) -> None:
    images.check_background(images.ImageInfo("JPEG", *size), 1000, 50 * 1024 * 1024)


def test_logo_must_be_a_small_png() -> None:
    images.check_logo(images.sniff(encoded("PNG", (400, 328), "RGBA")), 20_000)
    with pytest.raises(InvalidImageError, match="PNG"):
        images.check_logo(images.sniff(encoded("JPEG", (400, 328))), 20_000)
    with pytest.raises(InvalidImageError, match="1280"):
        images.check_logo(images.ImageInfo("PNG", 1281, 10), 20_000)


def test_png_header_is_read_without_decoding() -> None:
    head = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">II", 4000, 3000)
    assert images.sniff(head).width == 4000
