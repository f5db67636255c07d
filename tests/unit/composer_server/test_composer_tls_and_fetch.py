"""Certificate generation and input-image inspection."""

from __future__ import annotations

import io
import ipaddress
from typing import TYPE_CHECKING

import pytest
from cryptography import x509
from PIL import Image

from poster_composer.errors import TaskFailedError
from poster_composer.input_media import BACKGROUND_RULES, LOGO_RULES, inspect_image
from poster_composer.tls import ensure_certificate, server_context

if TYPE_CHECKING:
    from pathlib import Path


def test_the_certificate_names_loopback_and_is_reused(tmp_path: Path) -> None:
    cert_path, key_path = ensure_certificate(tmp_path / "tls")
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["localhost"]
    assert ipaddress.ip_address("127.0.0.1") in names.get_values_for_type(x509.IPAddress)
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert key_path.stat().st_mode & 0o077 == 0
    server_context(cert_path, key_path)

    pem = cert_path.read_bytes()
    assert ensure_certificate(tmp_path / "tls") == (cert_path, key_path)
    assert cert_path.read_bytes() == pem

    key_path.write_text("garbage")  # a broken pair is replaced
    ensure_certificate(tmp_path / "tls")
    assert cert_path.read_bytes() != pem
    server_context(cert_path, key_path)


def _image(fmt: str, size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format=fmt)
    return buffer.getvalue()


def test_inspect_image_formats_and_sizes() -> None:
    assert inspect_image(_image("PNG", (40, 30)), "image_url", BACKGROUND_RULES) == (40, 30)
    assert inspect_image(_image("JPEG", (2160, 3840)), "image_url", BACKGROUND_RULES) == (2160, 3840)
    assert inspect_image(_image("PNG", (10, 10), "RGBA"), "logo", LOGO_RULES) == (10, 10)
    cases = [
        (_image("JPEG", (10, 10)), "logo", LOGO_RULES, "only PNG are supported"),
        (_image("PNG", (1281, 10)), "logo", LOGO_RULES, "1280x1280"),
        (_image("PNG", (3841, 10)), "image_url", BACKGROUND_RULES, "3840x2160"),
        (_image("PNG", (2161, 2161)), "image_url", BACKGROUND_RULES, "3840x2160"),
        (b"<html>", "image_url", BACKGROUND_RULES, "only PNG and JPG are supported"),
    ]
    for data, field, rules, message in cases:
        with pytest.raises(TaskFailedError) as caught:
            inspect_image(data, field, rules)
        assert caught.value.code == "InvalidParameter" and message in caught.value.message
