"""A self-signed certificate for ``localhost`` / ``127.0.0.1`` / ``::1`` and the server's TLS context.

``ensure_certificate(tls_dir)`` writes ``cert.pem`` and ``key.pem`` (reusing a still-valid pair, so
clients that trust ``cert.pem`` through ``REQUESTS_CA_BUNDLE`` keep working across restarts).
The certificate is its own CA (``basicConstraints CA:TRUE``) so that it can be a trust anchor.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

if TYPE_CHECKING:
    from pathlib import Path

DNS_NAMES = ("localhost",)
IP_ADDRESSES = ("127.0.0.1", "::1")
VALID_DAYS = 90
CERT_FILE = "cert.pem"
KEY_FILE = "key.pem"


def ensure_certificate(tls_dir: Path) -> tuple[Path, Path]:
    """Make sure ``tls_dir`` holds a usable ``cert.pem`` / ``key.pem`` pair.

    Returns
    -------
    tuple[Path, Path]
        The certificate and key paths.

    Example
    -------
    >>> # cert, key = ensure_certificate(Path("/tmp/composer-tls"))
    """
    tls_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = tls_dir / CERT_FILE, tls_dir / KEY_FILE
    if not _usable(cert_path, key_path):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = build_certificate(key)
        _write(
            key_path,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
            mode=0o600,
        )
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert_path, key_path


def build_certificate(key: ec.EllipticCurvePrivateKey, days: int = VALID_DAYS) -> x509.Certificate:
    """A self-signed server certificate for the loopback names, signed by ``key``."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, "localhost"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "poster-composer (local)"),
        ]
    )
    now = dt.datetime.now(dt.UTC)
    public_key = key.public_key()
    alt_names: list[x509.GeneralName] = [x509.DNSName(host) for host in DNS_NAMES]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in IP_ADDRESSES]
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public_key), critical=False)
        .sign(key, hashes.SHA256())
    )


def server_context(cert_path: Path, key_path: Path) -> ssl.SSLContext:
    """A TLS server context (TLS 1.2+) presenting the certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_path, key_path)
    return context


def _usable(cert_path: Path, key_path: Path) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return False
    same_key = cert.public_key().public_bytes(
        serialization.Encoding.DER,
        serialization.PublicFormat.SubjectPublicKeyInfo,
    ) == key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    fresh = cert.not_valid_after_utc > dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    has_names = set(DNS_NAMES) <= set(names.get_values_for_type(x509.DNSName)) and {
        ipaddress.ip_address(ip) for ip in IP_ADDRESSES
    } <= set(names.get_values_for_type(x509.IPAddress))
    return same_key and fresh and has_names


def _write(path: Path, data: bytes, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    temporary.replace(path)
