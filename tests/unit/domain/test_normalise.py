"""Normalisation: what the header says needs re-encoding, and the re-encoded copy (Pillow, no sockets)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from poster_common import images, normalise
from poster_common.errors import InvalidImageError
from tests.hostile import png_bomb


def encoded(fmt: str, size: tuple[int, int], mode: str = "RGB", **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "white" if mode != "P" else 3).save(buffer, format=fmt, **save)
    return buffer.getvalue()


def rotated_jpeg(orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encoded("JPEG", (640, 400), exif=exif.tobytes())


def animated_png() -> bytes:
    frames = [Image.new("RGB", (200, 100), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="PNG", save_all=True, append_images=frames[1:])
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "reasons"),
    [
        (encoded("PNG", (640, 400)), ()),
        (encoded("PNG", (640, 400), "RGBA"), ()),
        (encoded("JPEG", (640, 400)), ()),
        (encoded("JPEG", (640, 400), "CMYK"), ("mode-CMYK",)),
        (encoded("JPEG", (640, 400), "L"), ("mode-L",)),
        (encoded("PNG", (640, 400), "P"), ("mode-P1",)),  # one colour: Pillow writes a 1-bit palette
        (encoded("PNG", (640, 400), "L"), ("mode-L",)),
        (encoded("PNG", (640, 400), "I;16"), ("mode-L16",)),
        (encoded("JPEG", (4000, 3000)), ("oversized",)),
        (rotated_jpeg(6), ("exif-orientation-6",)),
        (rotated_jpeg(1), ()),
        (animated_png(), ("animated",)),
    ],
)
def test_the_header_says_what_needs_normalising(data: bytes, reasons: tuple[str, ...]) -> None:
    # GIVEN an encoded image WHEN its header is sniffed THEN the reasons to normalise it are listed
    assert images.normalisation_reasons(images.sniff(data)) == reasons


@pytest.mark.parametrize(
    ("data", "fmt", "size"),
    [
        (encoded("JPEG", (640, 400), "CMYK"), "JPEG", (640, 400)),
        (encoded("PNG", (640, 400), "P"), "PNG", (640, 400)),
        (encoded("JPEG", (4000, 3000)), "JPEG", (2880, 2160)),
        (rotated_jpeg(6), "JPEG", (400, 640)),
        (animated_png(), "PNG", (200, 100)),
    ],
)
def test_normalised_copies_are_plain_rgb_within_limits(data: bytes, fmt: str, size: tuple[int, int]) -> None:
    # GIVEN an image that needs normalising WHEN it is normalised
    copy = normalise.normalise(data, keep_format=fmt)
    # THEN the copy is an 8-bit RGB(A) image of the same format, upright and within 3840×2160
    info = images.sniff(copy.body)
    assert (info.format, (info.width, info.height)) == (fmt, size)
    assert images.normalisation_reasons(info) == ()
    assert copy.extension == ("png" if fmt == "PNG" else "jpg")


def test_transparency_survives_in_png() -> None:
    copy = normalise.normalise(encoded("PNG", (100, 100), "LA"), keep_format="PNG")
    assert Image.open(io.BytesIO(copy.body)).mode == "RGBA"


def test_a_decompression_bomb_is_refused_from_its_header_before_decoding() -> None:
    # GIVEN a 30000×30000 PNG of a few kilobytes
    bomb = png_bomb(30_000)
    assert len(bomb) < 200_000
    info = images.sniff(bomb)
    # WHEN it is checked THEN the header alone refuses it
    with pytest.raises(InvalidImageError) as refused:
        images.check_background(info, len(bomb), 50 * 1024 * 1024)
    assert refused.value.code == "ImageTooManyPixels"
    # AND the decoder refuses it too, should the header check ever be skipped
    with pytest.raises(InvalidImageError) as decoded:
        normalise.normalise(bomb, keep_format="PNG")
    assert decoded.value.code == "ImageTooManyPixels"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (encoded("JPEG", (640, 400))[:3000], "CorruptImage"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, "CorruptImage"),
        (encoded("JPEG", (8000, 40)), "ImageTooSmall"),
    ],
)
def test_what_cannot_be_decoded_or_fitted_gets_a_specific_code(data: bytes, code: str) -> None:
    with pytest.raises(InvalidImageError) as refused:
        normalise.normalise(data, keep_format="JPEG" if data[:2] == b"\xff\xd8" else "PNG")
    assert refused.value.code == code


@pytest.mark.parametrize(
    ("data", "complete"),
    [
        (encoded("JPEG", (640, 400)), True),
        (encoded("PNG", (640, 400)), True),
        (encoded("JPEG", (640, 400))[:-200], False),
        (encoded("PNG", (640, 400))[:-20], False),
    ],
)
def test_truncated_files_are_told_apart_by_their_tail(data: bytes, complete: bool) -> None:
    info = images.sniff(data)
    if complete:
        images.check_complete(info, data[-images.TAIL_BYTES :])
    else:
        with pytest.raises(InvalidImageError) as refused:
            images.check_complete(info, data[-images.TAIL_BYTES :])
        assert refused.value.code == "TruncatedImage"


def test_pillow_is_not_imported_by_the_header_checks() -> None:
    # The layer's cold start stays lean: only normalise() imports Pillow, inside the function.
    header_checks = Path(images.__file__).read_text(encoding="utf-8")
    module_level = Path(normalise.__file__).read_text(encoding="utf-8").split("def normalise")[0]
    assert "PIL" not in header_checks.replace("Pillow", "")
    assert "from PIL" not in module_level
