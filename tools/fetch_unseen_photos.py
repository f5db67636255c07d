"""Fetch photos the renderer was never tuned on, for ``make gallery-unseen``; never committed or deployed.

The gallery's six photos are the ones the renderer was tuned on.  scikit-image's wheel on PyPI ships eight more
sample images (a brick wall, a cameraman, coins, grass, a tissue micrograph, the moon, a motorcycle in a garage,
a retina): ``pip download`` fetches the pinned wheel, and each photo is checked against its pinned SHA-256 before
it is placed in ``.cache/unseen/backgrounds``.

Usage: ``python tools/fetch_unseen_photos.py`` (does nothing when the photos are already in place).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

PACKAGE = "scikit-image==0.26.0"
DOWNLOAD = ("-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:")
FOLDER = "skimage/data"
TARGET = Path(__file__).resolve().parents[1] / ".cache" / "unseen" / "backgrounds"
PHOTOS: Mapping[str, str] = MappingProxyType(
    {
        "brick.png": "7966caf324f6ba843118d98f7a07746d22f6a343430add0233eca5f6eaaa8fcf",
        "camera.png": "b0793d2adda0fa6ae899c03989482bff9a42d3d5690fc7e3648f2795d730c23a",
        "coins.png": "f8d773fc9cfa6f4d8e5942dc34d0a0788fcaed2a4fefbbed0aef5398d7ef4cba",
        "grass.png": "b6b6022426b38936c43a4ac09635cd78af074e90f42ffa8227ac8b7452d39f89",
        "ihc.png": "f8dd1aa387ddd1f49d8ad13b50921b237df8e9b262606d258770687b0ef93cef",
        "moon.png": "78739619d11f7eb9c165bb5d2efd4772cee557812ec847532dbb1d92ef71f577",
        "motorcycle_left.png": "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
        "retina.jpg": "38a07f36f27f095e818aea7b96d34202c05176d30253c66733f2e00379e9e0e6",
    }
)


def in_place(target: Path, photos: Mapping[str, str]) -> bool:
    """Whether every photo is already in ``target`` with its pinned hash."""
    return all(
        (target / name).is_file() and hashlib.sha256((target / name).read_bytes()).hexdigest() == digest
        for name, digest in photos.items()
    )


def extract(wheel: Path, target: Path, photos: Mapping[str, str]) -> None:
    """Write each photo of the wheel's data folder to ``target``, each checked against its pinned hash first."""
    target.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for name, digest in photos.items():
            data = archive.read(f"{FOLDER}/{name}")
            if hashlib.sha256(data).hexdigest() != digest:
                raise SystemExit(f"{name} in {wheel.name} does not match its pinned hash")
            (target / name).write_bytes(data)


def main() -> int:
    """Fetch, check and place the photos unless they are already there."""
    if in_place(TARGET, PHOTOS):
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, *DOWNLOAD, "-d", tmp, PACKAGE], check=True)
        extract(next(Path(tmp).glob("*.whl")), TARGET, PHOTOS)
    print(f"unseen photos: {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
